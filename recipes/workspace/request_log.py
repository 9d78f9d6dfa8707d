"""The double's front door: the bearer-token check and the request log.

A plain ASGI middleware. Every HTTP request is recorded as ``{"method", "path", "status",
"ms"}``, in memory (:attr:`RequestLog.entries`) and appended to
``<home>/logs/workspace-requests.jsonl``, so a test, or a person, can list every REST call a
client made and what the double answered. With a token set, every path except
:data:`OPEN_PATHS`, the presigned URLs (which carry their own signature) and the run
artifacts' storage addresses (:data:`~.proxy.RUN_ARTIFACTS`, see :mod:`.proxy`) needs
``Authorization: Bearer <token>``, else 401 ``UNAUTHENTICATED``.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from recipes.auth import bearer_ok
from recipes.workspace.files import PRESIGNED
from recipes.workspace.proxy import RUN_ARTIFACTS

OPEN_PATHS = ("/health", "/.well-known/databricks-config")
_STORAGE = (PRESIGNED + "/", RUN_ARTIFACTS + "/")


class RequestLog:
    """ASGI middleware around ``app``: checks the token, records each request."""

    def __init__(self, app, *, home: Path, token: str | None):
        self.app = app
        self.token = token
        self.entries: list[dict] = []
        self._file = Path(home) / "logs" / "workspace-requests.jsonl"
        self._lock = threading.Lock()

    def _record(self, entry: dict) -> None:
        with self._lock:
            self.entries.append(entry)
            self._file.parent.mkdir(parents=True, exist_ok=True)
            with self._file.open("a") as f:
                f.write(json.dumps(entry) + "\n")

    def _allowed(self, scope) -> bool:
        path = scope["path"]
        if self.token is None or path in OPEN_PATHS or path.startswith(_STORAGE):
            return True
        headers = dict(scope.get("headers") or [])
        header = headers.get(b"authorization", b"").decode("latin-1") or None
        return bearer_ok(header, self.token)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = {"code": 500}

        async def send_status(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            if self._allowed(scope):
                await self.app(scope, receive, send_status)
            else:
                await _unauthenticated(send_status)
        finally:
            self._record(
                {
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status["code"],
                    "ms": round((time.perf_counter() - start) * 1000, 1),
                }
            )


async def _unauthenticated(send) -> None:
    body = json.dumps(
        {
            "error_code": "UNAUTHENTICATED",
            "message": "Missing or wrong bearer token: use the double's DATABRICKS_TOKEN.",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
