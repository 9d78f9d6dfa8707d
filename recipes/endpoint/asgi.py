"""What every route of the endpoint does first: check the bearer token, read the body.

Both the FastAPI routes (:mod:`.app`) and the plain-ASGI data plane (:mod:`.fastpath`) call
these, on the raw ASGI ``scope`` and ``receive``, so the two planes cannot disagree on who
may call or on how much may be sent.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from recipes.auth import bearer_ok
from recipes.errors import ApiError, bad_request
from recipes.formats import MAX_BYTES, too_large


def unauthenticated() -> ApiError:
    """The 401 for a missing or wrong token."""
    return ApiError(401, "UNAUTHENTICATED", "Missing or wrong bearer token: see `mdk token`.")


class Bearer:
    """The server's bearer token check.

    The exact header ``Bearer <token>`` matches by one bytes comparison (the data plane's
    common case); anything else goes through :func:`recipes.auth.bearer_ok` (any case of
    the scheme, spaces, constant-time comparison).
    """

    def __init__(self, token: str):
        self.token = token
        self.exact = f"Bearer {token}".encode("latin-1")

    def allows(self, scope: dict) -> bool:
        """Whether the request in ``scope`` carries the token."""
        header = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                header = value
                break
        if header == self.exact:
            return True
        return bearer_ok(header.decode("latin-1") if header else None, self.token)

    def check(self, scope: dict) -> None:
        """Raises the 401 :class:`~recipes.errors.ApiError` unless :meth:`allows`."""
        if not self.allows(scope):
            raise unauthenticated()


class Disconnected(Exception):
    """The client went away before its body was read."""


async def read_body(receive) -> bytes:
    """The request body from ASGI ``receive``, all of it read: past :data:`MAX_BYTES` the
    rest is drained, not kept (so the client gets the answer, not a reset), then a 400.

    Raises:
        ApiError: 400 ``BAD_REQUEST`` for a body over 16 MB.
        Disconnected: the client closed the connection first.
    """
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BYTES:
            chunks.append(chunk)
        more = message.get("more_body", False)
    if size > MAX_BYTES:
        raise too_large(size)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def json_body(request, error: Callable[[str], ApiError] = bad_request):
    """A Starlette request's JSON body (``{}`` when empty), read by :func:`read_body`.

    Raises:
        ApiError: ``error(message)`` (a 400) for malformed JSON, or from :func:`read_body`.
        ClientDisconnect: the client closed the connection first.
    """
    from starlette.requests import ClientDisconnect

    try:
        body = await read_body(request.receive)
    except Disconnected:
        raise ClientDisconnect() from None
    if not body:
        return {}
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise error(f"Malformed JSON: {str(exc) or 'nested too deeply'}.") from None
