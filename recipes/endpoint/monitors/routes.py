"""The quality-monitors routes: ``/api/2.1/unity-catalog/tables/{table_name}/monitor...``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from recipes.endpoint.asgi import json_body
from recipes.endpoint.monitors.manager import Monitors
from recipes.errors import invalid

API = "/api/2.1/unity-catalog/tables/{table_name}/monitor"


def _refresh_id(raw: str) -> int:
    if not raw.isdigit():
        raise invalid(f"refresh_id must be a positive integer, got {raw!r}.")
    return int(raw)


def routes(monitors, authorize) -> APIRouter:
    """The quality-monitors routes; ``monitors()`` gives the :class:`Monitors`,
    ``authorize(request)`` raises the 401."""
    router = APIRouter()

    async def body(request: Request) -> dict:
        doc = await json_body(request, invalid)
        if not isinstance(doc, dict):
            raise invalid("The request body must be a JSON object.")
        return doc

    def m(request: Request) -> Monitors:
        authorize(request)
        return monitors()

    @router.post(API)
    async def create(table_name: str, request: Request):
        return m(request).create(table_name, await body(request))

    @router.get(API)
    async def get(table_name: str, request: Request):
        return m(request).get(table_name)

    @router.put(API)
    async def update(table_name: str, request: Request):
        return m(request).update(table_name, await body(request))

    @router.delete(API)
    async def delete(table_name: str, request: Request):
        await m(request).delete(table_name)
        return {}

    @router.post(API + "/refreshes")
    async def run_refresh(table_name: str, request: Request):
        return m(request).run_refresh(table_name)

    @router.get(API + "/refreshes")
    async def list_refreshes(table_name: str, request: Request):
        return m(request).list_refreshes(table_name)

    @router.get(API + "/refreshes/{refresh_id}")
    async def get_refresh(table_name: str, refresh_id: str, request: Request):
        return m(request).get_refresh(table_name, _refresh_id(refresh_id))

    @router.post(API + "/refreshes/{refresh_id}/cancel")
    async def cancel_refresh(table_name: str, refresh_id: str, request: Request):
        await m(request).cancel_refresh(table_name, _refresh_id(refresh_id))
        return {}

    return router
