"""A plain-ASGI front for the two invocation routes; everything else goes to FastAPI.

FastAPI's routing, dependency and parameter machinery costs ~190 µs per request, more
than the model; the data plane needs none of it. This wrapper matches
``POST /serving-endpoints/{name}/invocations`` and
``POST /serving-endpoints/{name}/served-models/{served}/invocations`` by splitting the path,
checks the bearer token, reads the body (draining, not keeping, anything past 16 MB) and
answers from :meth:`Manager.invoke` — the same call the FastAPI routes make.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from urllib.parse import unquote

from recipes.auth import bearer_ok
from recipes.formats import MAX_BYTES, too_large

log = logging.getLogger("mdk.serving")


def _match(path: str) -> tuple[str, str | None] | None:
    parts = path.split("/")
    if len(parts) == 4 and parts[1] == "serving-endpoints" and parts[3] == "invocations":
        return unquote(parts[2]), None
    if (len(parts) == 6 and parts[1] == "serving-endpoints" and parts[3] == "served-models"
            and parts[5] == "invocations"):  # fmt: skip
        return unquote(parts[2]), unquote(parts[4])
    return None


def _error(status: int, code: str, message: str) -> tuple[int, bytes]:
    return status, json.dumps({"error_code": code, "message": message}).encode()


class DataPlane:
    """Wrap ``app``; ``manager()`` returns the running Manager (None before startup)."""

    def __init__(self, app, *, token: str, manager: Callable):
        self.app = app
        self.token = token
        self.expected = f"Bearer {token}".encode()
        self.manager = manager

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        route = _match(scope["path"])
        if route is None:
            return await self.app(scope, receive, send)
        auth = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                auth = value
                break
        label = None
        body, size, more = [], 0, True
        while more:  # always drain the body, so the client sees our answer
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= MAX_BYTES:
                body.append(chunk)
            more = message.get("more_body", False)
        manager = self.manager()
        if auth != self.expected and not bearer_ok(auth and auth.decode("latin-1"), self.token):
            status, out = _error(401, "UNAUTHENTICATED",
                                 "Missing or wrong bearer token: see `mdk token`.")  # fmt: skip
        elif size > MAX_BYTES:
            err = too_large(size)
            status, out = err.status, json.dumps(err.body()).encode()
        elif manager is None:
            status, out = _error(503, "TEMPORARILY_UNAVAILABLE", "The server is starting.")
        else:
            try:
                status, out, label = await manager.invoke(route[0], b"".join(body), route[1])
            except Exception as exc:  # noqa: BLE001 - never a traceback to the client
                log.exception("invocation failed")
                status, out = _error(500, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")
        headers = [(b"content-type", b"application/json"),
                   (b"content-length", str(len(out)).encode())]  # fmt: skip
        if label:
            headers.append((b"served-model-name", label.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": out})
