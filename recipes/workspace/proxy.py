"""What the double passes through unchanged: MLflow's tracking REST, the run artifacts, and
the serving endpoint's APIs.

- **Tracking.** With the tracking URI ``databricks``, MLflow's client speaks the same REST as
  an open-source server (``/api/2.0/mlflow/experiments/...``, ``runs/...``,
  ``logged-models/...``), so every ``/api/2.0/mlflow/``, ``/api/2.0/mlflow-artifacts/`` and
  ``/api/3.0/mlflow/`` request goes to the ``mlflow server`` unchanged, except the Unity
  Catalog registry's (:mod:`.uc_registry`, mounted first). The answers gain the header
  Databricks puts on them, ``x-databricks-org-id``: MLflow's UC client reads the source run's
  workspace id from it when it registers a version.
- **Run artifacts.** The double's tracking server gives new experiments the artifact root
  :func:`run_artifacts_root` (``http://<double>/mdk/run-artifacts/api/2.0/mlflow-artifacts/
  artifacts``), not a ``file://`` folder: MLflow's UC client deletes the folder that
  ``download_artifacts`` hands it after registering from ``runs:/``, and for a ``file://``
  root that is the logged model itself. MLflow's plain HTTP artifact repository sends no
  token, so like ``/mdk/presigned/`` these paths are the double's storage addresses (a
  workspace's would be a cloud bucket's), open on loopback, and go to the tracking server's
  ``/api/2.0/mlflow-artifacts/...`` (stored under its ``--artifacts-destination``).
- **Serving.** ``/api/2.0/serving-endpoints...``, ``/serving-endpoints/...`` (the data
  plane) and ``/api/2.1/unity-catalog/...`` (the quality-monitors API) go to the kit's serving
  endpoint with the caller's ``Authorization`` header, which the endpoint checks itself.
"""

from __future__ import annotations

import requests
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from recipes.errors import unavailable
from recipes.workspace.uc_registry import ORG_ID_HEADER

TRACKING_PREFIXES = ("/api/2.0/mlflow/", "/api/2.0/mlflow-artifacts/", "/api/3.0/mlflow/")
RUN_ARTIFACTS = "/mdk/run-artifacts"
SERVING_PREFIXES = ("/api/2.0/serving-endpoints", "/serving-endpoints/", "/api/2.1/unity-catalog/")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
TIMEOUT_S = (5, 300)
_HOP = {
    "host",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "trailer",
    "content-length",
    "content-encoding",
}


def run_artifacts_root(double_url: str) -> str:
    """The artifact root the double's tracking server gives new experiments."""
    return f"{double_url.rstrip('/')}{RUN_ARTIFACTS}/api/2.0/mlflow-artifacts/artifacts"


def _forwarder(base_url: str, what: str, *, strip: str = "", keep_auth: bool, headers: dict):
    """An endpoint that sends the request to ``base_url`` + its path (less ``strip``)."""
    session = requests.Session()
    session.trust_env = False  # loopback only: never through an HTTP proxy
    base = base_url.rstrip("/")
    drop = _HOP if keep_auth else _HOP | {"authorization"}

    async def forward(request: Request):
        body = await request.body()
        sent = {k: v for k, v in request.headers.items() if k.lower() not in drop}
        url = base + request.url.path.removeprefix(strip)
        if request.url.query:
            url += "?" + request.url.query

        def send():
            return session.request(
                request.method,
                url,
                data=body or None,
                headers=sent,
                stream=True,
                timeout=TIMEOUT_S,
                allow_redirects=False,
            )

        try:
            upstream = await run_in_threadpool(send)
        except requests.RequestException as exc:
            raise unavailable(
                f"The {what} at {base} is unreachable: {type(exc).__name__}."
            ) from None
        out = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP}
        out.update(headers)

        def chunks():
            try:
                yield from upstream.iter_content(64 * 1024)
            finally:
                upstream.close()

        return StreamingResponse(
            iterate_in_threadpool(chunks()), status_code=upstream.status_code, headers=out
        )

    return forward


def routes(tracking_url: str, workspace_id: str) -> APIRouter:
    """Catch-all routes forwarding the tracking prefixes and the run artifacts to ``tracking_url``."""
    router = APIRouter()
    org = {ORG_ID_HEADER: workspace_id}
    tracking = _forwarder(tracking_url, "MLflow tracking server", keep_auth=False, headers=org)
    for prefix in TRACKING_PREFIXES:
        router.add_api_route(prefix + "{rest:path}", tracking, methods=METHODS)
    artifacts = _forwarder(
        tracking_url, "MLflow tracking server", strip=RUN_ARTIFACTS, keep_auth=False, headers={}
    )
    router.add_api_route(
        RUN_ARTIFACTS + "/api/2.0/mlflow-artifacts/{rest:path}", artifacts, methods=METHODS
    )
    return router


def serving_routes(serving_url: str) -> APIRouter:
    """Catch-all routes forwarding the serving endpoint's APIs to ``serving_url``."""
    router = APIRouter()
    serving = _forwarder(serving_url, "serving endpoint", keep_auth=True, headers={})
    router.add_api_route(SERVING_PREFIXES[0], serving, methods=METHODS)
    for prefix in SERVING_PREFIXES:
        router.add_api_route(prefix.rstrip("/") + "/{rest:path}", serving, methods=METHODS)
    return router
