"""A plain-ASGI front for the two invocation routes; everything else goes to FastAPI.

FastAPI's routing, dependency and parameter machinery costs ~190 µs per request, more
than the model; the data plane needs none of it. This wrapper matches
``POST /serving-endpoints/{name}/invocations`` and
``POST /serving-endpoints/{name}/served-models/{served}/invocations`` by splitting the path,
checks the bearer token and reads the body (draining, not keeping, anything past 16 MB)
with the same :mod:`.asgi` helpers as the FastAPI routes, and answers from
:meth:`Manager.invoke`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from urllib.parse import unquote

from recipes.endpoint.asgi import Bearer, Disconnected, read_body, unauthenticated
from recipes.errors import ApiError, unavailable

log = logging.getLogger("mdk.serving")


def _match(path: str) -> tuple[str, str | None] | None:
    parts = path.split("/")
    if len(parts) == 4 and parts[1] == "serving-endpoints" and parts[3] == "invocations":
        return unquote(parts[2]), None
    if (
        len(parts) == 6
        and parts[1] == "serving-endpoints"
        and parts[3] == "served-models"
        and parts[5] == "invocations"
    ):
        return unquote(parts[2]), unquote(parts[4])
    return None


def _error(exc: ApiError) -> tuple[int, bytes]:
    return exc.status, json.dumps(exc.body()).encode()


class DataPlane:
    """Wrap ``app``; ``manager()`` returns the running Manager (None before startup)."""

    def __init__(self, app, *, bearer: Bearer, manager: Callable):
        self.app = app
        self.bearer = bearer
        self.manager = manager

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        route = _match(scope["path"])
        if route is None:
            return await self.app(scope, receive, send)
        label, manager, err = None, self.manager(), None
        try:  # the body is always read (drained past 16 MB), so the client sees our answer
            body = await read_body(receive)
        except Disconnected:
            return
        except ApiError as exc:
            body, err = b"", exc
        if not self.bearer.allows(scope):
            err = unauthenticated()
        elif err is None and manager is None:
            err = unavailable("The server is starting.")
        if err is not None:
            status, out = _error(err)
        else:
            try:
                status, out, label = await manager.invoke(route[0], body, route[1])
            except Exception as exc:  # noqa: BLE001 - never a traceback to the client
                log.exception("invocation failed")
                err = ApiError(500, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")
                status, out = _error(err)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(out)).encode()),
        ]
        if label:
            headers.append((b"served-model-name", label.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": out})
