"""MLflow's tracking REST, passed through to a real ``mlflow server``.

With the tracking URI ``databricks``, MLflow's client speaks the same REST as an open-source
server (``/api/2.0/mlflow/experiments/...``, ``runs/...``, ``logged-models/...``), so the
double forwards every ``/api/2.0/mlflow/``, ``/api/2.0/mlflow-artifacts/`` and
``/api/3.0/mlflow/`` request to ``tracking_url`` unchanged, except the Unity Catalog
registry's (:mod:`.uc_registry`, mounted first). The answers gain the header Databricks puts
on them, ``x-databricks-org-id``: MLflow's UC client reads the source run's workspace id
from it when it registers a version.
"""

from __future__ import annotations

import requests
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from recipes.errors import unavailable
from recipes.workspace.uc_registry import ORG_ID_HEADER

PREFIXES = ("/api/2.0/mlflow/", "/api/2.0/mlflow-artifacts/", "/api/3.0/mlflow/")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
TIMEOUT_S = (5, 300)
_HOP = {
    "host", "connection", "keep-alive", "transfer-encoding", "te", "upgrade",
    "proxy-authorization", "proxy-authenticate", "trailer", "content-length",
    "content-encoding", "authorization",
}  # fmt: skip


def routes(tracking_url: str, workspace_id: str) -> APIRouter:
    """Catch-all routes forwarding the tracking prefixes to ``tracking_url``."""
    router = APIRouter()
    session = requests.Session()
    session.trust_env = False  # loopback only: never through an HTTP proxy
    base = tracking_url.rstrip("/")

    async def forward(request: Request):
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        url = base + request.url.path
        if request.url.query:
            url += "?" + request.url.query

        def send():
            return session.request(
                request.method, url, data=body or None, headers=headers,
                stream=True, timeout=TIMEOUT_S, allow_redirects=False,
            )  # fmt: skip

        try:
            upstream = await run_in_threadpool(send)
        except requests.RequestException as exc:
            raise unavailable(
                f"The MLflow tracking server at {base} is unreachable: {type(exc).__name__}."
            ) from None
        out = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP}
        out[ORG_ID_HEADER] = workspace_id

        def chunks():
            try:
                yield from upstream.iter_content(64 * 1024)
            finally:
                upstream.close()

        return StreamingResponse(
            iterate_in_threadpool(chunks()), status_code=upstream.status_code, headers=out
        )

    for prefix in PREFIXES:
        router.add_api_route(prefix + "{rest:path}", forward, methods=METHODS)
    return router
