"""The workspace double's ASGI app: what MLflow's ``databricks`` and ``databricks-uc``
clients call, on one loopback host.

- ``/api/2.0/mlflow/unity-catalog/...``: the Unity Catalog model registry (:mod:`.uc_registry`);
- ``/api/2.0/fs/...`` and ``/mdk/presigned/...``: the model versions' files (:mod:`.files`);
- ``/api/2.0/mlflow/...`` and the other tracking prefixes, and the run artifacts under
  ``/mdk/run-artifacts/...``: a real ``mlflow server`` (:mod:`.proxy`);
- ``/api/2.0/serving-endpoints...``, ``/serving-endpoints/...`` and
  ``/api/2.1/unity-catalog/...`` (quality monitors): the kit's serving endpoint, when
  ``serving_url`` is given (:mod:`.proxy`);
- ``GET /api/2.0/preview/scim/v2/Me``: the signed-in user (``current_user.me()``, which
  ``mdk doctor`` calls);
- ``GET /.well-known/databricks-config``: the host metadata a workspace publishes (its
  ``workspace_id``, no OIDC endpoint: clients use a token). The databricks-sdk reads it each
  time it builds a config, which MLflow does for every REST call; a 404 there costs nothing
  but makes the SDK log a warning each time;
- ``GET /health``.

Every error is ``{"error_code", "message"}`` with a one-line message, as on Databricks.
All state lives under ``home`` (``uc/`` and ``logs/``).
"""

from __future__ import annotations

import getpass
import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from recipes.errors import ApiError
from recipes.workspace import files, proxy, uc_registry
from recipes.workspace.request_log import RequestLog
from recipes.workspace.uc_store import RegistryStore

log = logging.getLogger("mdk.workspace")

#: the workspace id the double reports (``x-databricks-org-id``)
WORKSPACE_ID = "1000000000000001"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error_code": code, "message": " ".join(message.split())}, status)


def create_app(
    home: Path | str,
    tracking_url: str,
    *,
    token: str | None = None,
    workspace_id: str = WORKSPACE_ID,
    serving_url: str | None = None,
) -> RequestLog:
    """The double over ``home``, forwarding tracking calls to ``tracking_url``.

    Args:
        home: the double's state folder (made if missing).
        tracking_url: a running ``mlflow server``, e.g. ``http://127.0.0.1:5000``.
        token: the bearer token clients must send (``DATABRICKS_TOKEN``); None accepts any.
        workspace_id: what the ``x-databricks-org-id`` header says.
        serving_url: the kit's serving endpoint (``python -m recipes.endpoint``), which must
            accept the same ``token``; None leaves its APIs out.

    Returns:
        The ASGI app; its ``entries`` list every request made so far, and ``.store`` is the
        registry's :class:`~.uc_store.RegistryStore`.
    """
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    store = RegistryStore(home)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return _error(exc.status, exc.error_code, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        code = "ENDPOINT_NOT_FOUND" if exc.status_code == 404 else "BAD_REQUEST"
        return _error(exc.status_code, code, f"No API at {request.method} {request.url.path}.")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return _error(400, "INVALID_PARAMETER_VALUE", f"Invalid request: {exc.errors()}.")

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error(500, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}")

    @app.get("/health")
    async def health():
        return {
            "status": "ok",
            "tracking_url": tracking_url,
            "serving_url": serving_url,
            "home": str(home),
        }

    @app.get("/.well-known/databricks-config")
    async def well_known():
        return {"oidc_endpoint": "", "workspace_id": workspace_id}

    @app.get("/api/2.0/preview/scim/v2/Me")
    async def me():
        user = f"{getpass.getuser()}@localhost"
        return {
            "id": "1",
            "userName": user,
            "displayName": user,
            "active": True,
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        }

    app.include_router(uc_registry.routes(store, workspace_id))
    app.include_router(files.routes(files.ModelFiles(store)))
    if serving_url is not None:
        app.include_router(proxy.serving_routes(serving_url))
    app.include_router(proxy.routes(tracking_url, workspace_id))
    front = RequestLog(app, home=home, token=token)
    front.store = store
    return front
