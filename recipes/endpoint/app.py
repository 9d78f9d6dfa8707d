"""The local Model Serving endpoint: a FastAPI app speaking the Databricks REST API.

Control plane under ``/api/2.0/serving-endpoints`` (FastAPI); data plane at
``/serving-endpoints/{name}/invocations`` (and per served entity), answered by the plain
ASGI :class:`~recipes.endpoint.fastpath.DataPlane` in front of it. Every answer other than
a success is ``{"error_code", "message"}`` with the status the databricks-sdk maps
(400/401/404/409/503). The app holds no model: workers do (see :mod:`.entity`).
Lakehouse Monitoring's quality-monitors API is under ``/api/2.1/unity-catalog/tables/``
(:mod:`.monitors`; its refreshes are Spark jobs in their own processes), beside the tables
API that lists and deletes the local tables (:mod:`.uc_tables`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from recipes.endpoint import openapi, uc_tables
from recipes.endpoint.asgi import Bearer, json_body
from recipes.endpoint.endpoints import Manager
from recipes.endpoint.monitors import Monitors, routes
from recipes.errors import ApiError

log = logging.getLogger("mdk.serving")

API = "/api/2.0/serving-endpoints"


def _error(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status)


def create_app(
    *,
    home: Path,
    token: str,
    make_manager: Callable[[], Manager],
    capture=None,
    info: dict | None = None,
):
    """Build the ASGI app. ``make_manager`` runs at startup (inside the event loop).

    Returns a :class:`~recipes.endpoint.fastpath.DataPlane` that answers the invocation
    routes itself and hands everything else (and the lifespan) to the FastAPI app.
    """
    bearer = Bearer(token)
    state: dict = {}
    monitors = Monitors(home)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        manager = make_manager()
        state["manager"] = manager
        restored = await manager.restore()
        if restored:
            log.warning("restored endpoints: %s", ", ".join(restored))
        scaler = asyncio.ensure_future(manager.scale_loop())
        await monitors.restore()
        try:
            yield
        finally:
            scaler.cancel()
            await monitors.close()
            await manager.shutdown()
            if capture is not None:
                capture.close()

    app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    def authorize(request: Request) -> None:
        bearer.check(request.scope)

    def manager(request: Request) -> Manager:
        authorize(request)
        return state["manager"]

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return _error(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        code = {404: "ENDPOINT_NOT_FOUND", 405: "BAD_REQUEST"}.get(exc.status_code, "BAD_REQUEST")
        msg = f"No API at {request.method} {request.url.path}."
        return JSONResponse({"error_code": code, "message": msg}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.exception("internal error on %s", request.url.path)
        body = {"error_code": "INTERNAL_ERROR", "message": f"{type(exc).__name__}: {exc}"}
        return JSONResponse(body, status_code=500)

    @app.get("/health")
    async def health():
        m = state.get("manager")
        return {
            "status": "ok",
            "endpoints": len(m.endpoints) if m else 0,
            **(info or {}),
            "pyspark_imported": "pyspark" in sys.modules,
        }

    @app.get("/.well-known/databricks-config")
    async def well_known():
        # the host metadata a workspace publishes, with nothing to discover: a 404 here makes
        # every bare WorkspaceClient() log "Failed to automatically resolve config" (SDK 0.162)
        return {"oidc_endpoint": ""}

    @app.post(API)
    async def create(request: Request):
        m = manager(request)
        return await m.create(await json_body(request))

    @app.get(API)
    async def list_endpoints(request: Request):
        return manager(request).list()

    @app.get(API + "/{name}")
    async def get(name: str, request: Request):
        return manager(request).get(name)

    @app.delete(API + "/{name}")
    async def delete(name: str, request: Request):
        await manager(request).delete(name)
        return {}

    @app.put(API + "/{name}/config")
    async def update_config(name: str, request: Request):
        m = manager(request)
        return await m.update_config(name, await json_body(request))

    @app.put(API + "/{name}/ai-gateway")
    async def put_ai_gateway(name: str, request: Request):
        m = manager(request)
        return m.put_ai_gateway(name, await json_body(request))

    @app.patch(API + "/{name}/tags")
    async def patch_tags(name: str, request: Request):
        m = manager(request)
        return m.patch_tags(name, await json_body(request))

    @app.get(API + "/{name}/served-models/{served}/logs")
    async def logs(name: str, served: str, request: Request):
        return manager(request).logs(name, served)

    @app.get(API + "/{name}/served-models/{served}/build-logs")
    async def build_logs(name: str, served: str, request: Request):
        return manager(request).logs(name, served)

    @app.get(API + "/{name}/metrics")
    async def metrics(name: str, request: Request):
        m = manager(request)
        ep = m._get(name)
        return PlainTextResponse(m.metrics.text(name, ep.entities), media_type="text/plain")

    @app.get(API + "/{name}/openapi")
    async def open_api(name: str, request: Request):
        return JSONResponse(openapi.endpoint_document(manager(request)._get(name)))

    # Lakehouse Monitoring: /api/2.1/unity-catalog/tables/{table_name}/monitor...
    app.include_router(routes(lambda: monitors, authorize))
    # Unity Catalog's tables: /api/2.1/unity-catalog/tables[/{full_name}]
    app.include_router(uc_tables.routes(home, authorize))

    from recipes.endpoint.fastpath import DataPlane

    # the data plane: POST /serving-endpoints/{name}[/served-models/{served}]/invocations
    return DataPlane(app, bearer=bearer, manager=lambda: state.get("manager"))
