"""Endpoints: the state machine behind the control plane, and the invocation path.

An :class:`Endpoint` serves its ``active`` config while a ``pending`` one deploys; the swap
is one assignment on the event loop once every new entity's worker is ready, so no request
is lost or sees a half-applied config. Entities whose spec does not change are kept (a
traffic-only update starts nothing). Configs persist as JSON under
``$MDK_HOME/serving/endpoints/`` and come back when the server restarts.

The AI Gateway (inference table, rate limits: :mod:`.gateway`) and the description are
endpoint state beside the config versions: ``PUT .../config`` keeps them and
``PUT .../ai-gateway`` replaces the gateway. Every top-level field of the create request is
carried out or refused with a 400 naming it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from recipes.endpoint import capture, render
from recipes.endpoint.config import EndpointConfig, check_endpoint_name, from_json, parse_config
from recipes.endpoint.entity import Entity, EntityFailed
from recipes.endpoint.gateway import (
    CallWindow,
    Gateway,
    from_legacy_capture,
    parse_gateway,
    refuse_unknown,
)
from recipes.endpoint.metrics import Metrics
from recipes.endpoint.pool import WorkerPool
from recipes.endpoint.routing import Router, invoke
from recipes.errors import (
    ApiError,
    already_exists,
    conflict,
    invalid,
    not_found,
)
from recipes.jsonfile import write_json

log = logging.getLogger("mdk.serving")

IDLE_TAG = "mdk_idle_seconds"
REQUEST_TIMEOUT = 120.0
CREATE_KEYS = frozenset(
    {
        "name",
        "config",
        "tags",
        "ai_gateway",
        "rate_limits",
        "route_optimized",
        "budget_policy_id",
        "email_notifications",
        "description",
        "telemetry_config",
    }
)


@dataclass
class Endpoint:
    name: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    updated_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    tags: dict[str, str] = field(default_factory=dict)
    active: EndpointConfig | None = None
    pending: EndpointConfig | None = None
    pending_started_ms: int | None = None
    entities: dict[str, Entity] = field(default_factory=dict)
    pending_entities: dict[str, Entity] = field(default_factory=dict)
    update_state: str = "NOT_UPDATING"
    message: str = ""
    router: Router | None = None
    task: asyncio.Task | None = None
    gateway: Gateway = field(default_factory=Gateway)
    calls: CallWindow = field(default_factory=CallWindow)  # for gateway rate limits
    description: str | None = None

    def entity(self, name: str) -> Entity | None:
        return self.entities.get(name) or self.pending_entities.get(name)


class Manager:
    """All endpoints of one server, their persistence, and the request path.

    Args:
        home: ``$MDK_HOME``; configs go to ``home/serving/endpoints``, logs to
            ``home/serving/logs``.
        env: extra environment for model workers (the MLflow tracking and registry URIs).
        idle_seconds: default scale-to-zero idle time (an ``mdk_idle_seconds`` endpoint tag
            overrides it).
        check_model: raises ``ApiError`` when ``(name, version)`` is not registered.
        capture: an object with ``add(table, row)`` (the inference-table writer), or None.
        seed: seeds the traffic router, for reproducible splits.
    """

    def __init__(
        self,
        home: Path,
        *,
        env: dict[str, str],
        idle_seconds: float,
        check_model: Callable[[str, str], None],
        capture=None,
        seed: int | None = None,
        request_timeout: float = REQUEST_TIMEOUT,
    ):
        self.home = home
        self.dir = home / "serving" / "endpoints"
        self.log_dir = home / "serving" / "logs"
        self.idle_seconds = idle_seconds
        self.check_model = check_model
        self.capture = capture
        self.rng = random.Random(seed)
        self.request_timeout = request_timeout
        self.endpoints: dict[str, Endpoint] = {}
        self.metrics = Metrics()
        self.pool = WorkerPool(env, self.log_dir)
        self._created: dict[str, int] = {}
        self._closing = False

    # -- persistence -----------------------------------------------------------------
    def _save(self, ep: Endpoint) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        doc = {
            "name": ep.name,
            "id": ep.id,
            "creation_timestamp": ep.created_ms,
            "last_updated_timestamp": ep.updated_ms,
            "tags": ep.tags,
            "config": ep.active.to_json() if ep.active else None,
            "pending_config": ep.pending.to_json() if ep.pending else None,
            "ai_gateway": ep.gateway.to_json(),
            "description": ep.description,
            "entity_created": {
                n: e.created_ms for n, e in {**ep.entities, **ep.pending_entities}.items()
            },
        }
        write_json(self.dir / f"{ep.name}.json", doc)

    async def restore(self) -> list[str]:
        """Bring back every persisted endpoint; workers start in the background."""
        self.pool.fill()
        names, migrated, turned_off = [], [], []
        for path in sorted(self.dir.glob("*.json")) if self.dir.exists() else []:
            try:
                doc = json.loads(path.read_text())
                ep = Endpoint(
                    doc["name"],
                    doc["id"],
                    doc["creation_timestamp"],
                    doc["last_updated_timestamp"],
                    dict(doc.get("tags") or {}),
                    description=doc.get("description"),
                )
                active = doc.get("config") and from_json(doc["config"], endpoint=ep.name)
                pending = doc.get("pending_config") and from_json(
                    doc["pending_config"], endpoint=ep.name
                )
                ep.gateway = parse_gateway(doc.get("ai_gateway"), endpoint=ep.name)
                legacy = _legacy_capture(doc)
                if legacy is not None and ep.gateway.inference_table is None:
                    table = from_legacy_capture(legacy, endpoint=ep.name)
                    ep.gateway = replace(ep.gateway, inference_table=table)
                    migrated.append(ep)
                try:
                    self._check_table(ep.gateway.inference_table)
                except ApiError as exc:  # a table of other columns (a legacy one): capture off
                    log.warning("%s: inference table off: %s", ep.name, exc.message)
                    off = replace(ep.gateway.inference_table, enabled=False)
                    ep.gateway = replace(ep.gateway, inference_table=off)
                    turned_off.append(ep)
            except (OSError, ValueError, KeyError, ApiError) as exc:
                log.error("skipping unreadable endpoint config %s: %s", path, exc)
                continue
            self.endpoints[ep.name] = ep
            self._created = dict(doc.get("entity_created") or {})
            if active:
                ep.active, ep.router = active, Router(active.routes, self.rng)
                ep.entities = {s.name: self._entity(ep, s) for s in active.entities}
                for ent in ep.entities.values():
                    asyncio.ensure_future(self._quiet_start(ent))
            if pending:
                self._begin_update(ep, pending)
            elif not active:  # its first config failed before the restart: nothing to deploy
                ep.update_state = "UPDATE_FAILED"
                ep.message = "No config was deployed before the restart: update the config."
            names.append(ep.name)
        for ep in {id(e): e for e in [*migrated, *turned_off]}.values():  # nothing is lost
            self._save(ep)
        if migrated:
            log.warning(
                "moved the legacy auto_capture_config of %s to ai_gateway.inference_table_config "
                "(Databricks refuses legacy inference tables since 2026-02-20)",
                ", ".join(ep.name for ep in migrated),
            )
        return names

    @staticmethod
    async def _quiet_start(ent: Entity) -> None:
        with contextlib.suppress(EntityFailed):
            await ent.start()

    def _entity(self, ep: Endpoint, spec) -> Entity:
        ent = Entity(
            spec,
            endpoint=ep.name,
            pool=self.pool,
            log_path=self.log_dir / ep.name / f"{spec.name}.log",
        )
        if spec.name in self._created:  # restored: keep the original creation time
            ent.created_ms = self._created.pop(spec.name)
        return ent

    # -- control plane ---------------------------------------------------------------
    def _get(self, name: str) -> Endpoint:
        ep = self.endpoints.get(name)
        if ep is None:
            raise not_found(f"Endpoint {name!r} does not exist.")
        return ep

    async def _check_models(self, cfg: EndpointConfig) -> None:
        for spec in cfg.entities:
            await asyncio.to_thread(self.check_model, spec.entity_name, spec.entity_version)

    async def create(self, body: Any) -> dict:
        if not isinstance(body, dict):
            raise invalid("The body must be a JSON object with name and config.")
        name = check_endpoint_name(body.get("name"))
        if name in self.endpoints:
            raise already_exists(f"Endpoint with name '{name}' already exists.")
        cfg = parse_config(body.get("config"), endpoint=name)
        tags = _tags(body.get("tags"))
        gateway = parse_gateway(body.get("ai_gateway"), endpoint=name)
        self._check_table(gateway.inference_table)
        description = _create_extras(body)
        await self._check_models(cfg)
        if name in self.endpoints:  # created while we looked the models up
            raise already_exists(f"Endpoint with name '{name}' already exists.")
        ep = Endpoint(name, tags=tags, gateway=gateway, description=description)
        self.endpoints[name] = ep
        self._begin_update(ep, cfg)
        return render.endpoint(ep)

    async def update_config(self, name: str, body: Any) -> dict:
        ep = self._get(name)
        if ep.pending is not None:
            raise conflict(
                f"Endpoint {name!r} is being updated (config_update IN_PROGRESS): "
                "wait for NOT_UPDATING, then update again."
            )
        version = max(c.version for c in (ep.active, ep.pending) if c) + 1 if ep.active else 1
        cfg = parse_config(body, endpoint=name, version=version)
        await self._check_models(cfg)
        if ep.pending is not None or self.endpoints.get(name) is not ep:
            raise conflict(f"Endpoint {name!r} changed while this update was checked: retry.")
        self._begin_update(ep, cfg)
        return render.endpoint(ep)

    def _begin_update(self, ep: Endpoint, cfg: EndpointConfig) -> None:
        ep.pending, ep.pending_started_ms = cfg, int(time.time() * 1000)
        ep.update_state, ep.message = "IN_PROGRESS", f"Deploying config version {cfg.version}."
        ep.pending_entities = {}
        for spec in cfg.entities:
            ent = ep.entities.get(spec.name)
            keep = ent is not None and ent.spec == spec
            ep.pending_entities[spec.name] = ent if keep else self._entity(ep, spec)
        self._save(ep)
        ep.task = asyncio.ensure_future(self._deploy(ep, cfg))

    async def _deploy(self, ep: Endpoint, cfg: EndpointConfig) -> None:
        new = dict(ep.pending_entities)
        fresh = [e for n, e in new.items() if ep.entities.get(n) is not e]
        # a kept entity still starting (after a restart) must be up too before the update ends
        kept = [e for e in new.values() if e not in fresh and e.deployment == "DEPLOYMENT_CREATING"]
        results = await asyncio.gather(
            *(e.start() for e in (*fresh, *kept)), return_exceptions=True
        )
        if self._closing:  # shutting down: the persisted pending config resumes at restart
            return
        if self.endpoints.get(ep.name) is not ep:  # deleted meanwhile
            for e in fresh:
                await e.stop(drain_timeout=0)
            return
        failures = [str(r) for r in results if isinstance(r, BaseException)]
        if failures:
            for e in fresh:
                await e.stop(drain_timeout=0)
            ep.pending, ep.pending_entities = None, {}
            ep.update_state = "UPDATE_FAILED"
            ep.message = f"Config version {cfg.version} failed: {failures[0]}"
            log.error("%s: %s", ep.name, ep.message)
            self._save(ep)
            return
        old = ep.entities
        for e in fresh:  # the idle clock starts when an entity can first serve
            e.last_used = time.monotonic()
        ep.active, ep.entities, ep.router = cfg, new, Router(cfg.routes, self.rng)
        ep.pending, ep.pending_entities = None, {}
        ep.update_state, ep.updated_ms = "NOT_UPDATING", int(time.time() * 1000)
        ep.message = f"Serving config version {cfg.version}."
        self._save(ep)
        for name, e in old.items():
            if new.get(name) is not e:
                asyncio.ensure_future(e.stop())

    def _check_table(self, table) -> None:
        """An enabled inference table must be new or have the AI Gateway table's columns."""
        if table is not None and table.enabled:
            capture.check_table(table.payload_table, self.home)

    def put_ai_gateway(self, name: str, body: Any) -> dict:
        """``PUT .../ai-gateway``: replace the endpoint's AI Gateway; the new one (as put).

        The calls counted against a rate limit carry over, so a new limit applies at once.
        """
        ep = self._get(name)
        gateway = parse_gateway(body, endpoint=name, current=ep.gateway)
        self._check_table(gateway.inference_table)
        ep.gateway = gateway
        ep.updated_ms = int(time.time() * 1000)
        self._save(ep)
        return ep.gateway.to_json()

    def get(self, name: str) -> dict:
        return render.endpoint(self._get(name))

    def list(self) -> dict:
        return {"endpoints": [render.summary(ep) for _, ep in sorted(self.endpoints.items())]}

    async def delete(self, name: str) -> None:
        ep = self._get(name)
        del self.endpoints[name]
        (self.dir / f"{name}.json").unlink(missing_ok=True)
        if ep.task is not None and not ep.task.done():
            ep.task.cancel()
        ents = {id(e): e for e in [*ep.entities.values(), *ep.pending_entities.values()]}
        await asyncio.gather(*(e.stop() for e in ents.values()), return_exceptions=True)

    def patch_tags(self, name: str, body: Any) -> dict:
        ep = self._get(name)
        if not isinstance(body, dict):
            raise invalid("The body must be an object with add_tags and/or delete_tags.")
        tags = {**ep.tags, **_tags(body.get("add_tags"))}
        delete = body.get("delete_tags") or []
        if not isinstance(delete, list) or not all(isinstance(k, str) for k in delete):
            raise invalid("delete_tags must be a list of tag keys.")
        for key in delete:
            tags.pop(key, None)
        if IDLE_TAG in tags:
            _idle(tags[IDLE_TAG])  # checked before anything changes
        ep.tags = tags
        self._save(ep)
        return {"tags": render.tags(ep)}

    def logs(self, name: str, served: str) -> dict:
        ent = self._get(name).entity(served)
        if ent is None:
            raise not_found(f"Served entity {served!r} does not exist in endpoint {name!r}.")
        try:
            data = ent.log_path.read_bytes()[-1_000_000:]
        except OSError:
            data = b""
        return {"logs": data.decode(errors="replace")}

    def idle_seconds_of(self, ep: Endpoint) -> float:
        tag = ep.tags.get(IDLE_TAG)
        return _idle(tag) if tag is not None else self.idle_seconds

    async def scale_loop(self, period: float = 0.5) -> None:
        """Scale idle entities to zero, forever (cancelled at shutdown)."""
        while True:
            await asyncio.sleep(period)
            jobs = []
            for ep in list(self.endpoints.values()):
                try:
                    idle = self.idle_seconds_of(ep)
                except ApiError:
                    idle = self.idle_seconds
                jobs += [ent.scale_to_zero(idle) for ent in list(ep.entities.values())]
            results = await asyncio.gather(*jobs, return_exceptions=True)
            for r in results:
                if isinstance(r, Exception):
                    log.error("scale-to-zero failed: %s", r)

    async def shutdown(self) -> None:
        self._closing = True
        ents = {
            id(e): e
            for ep in self.endpoints.values()
            for e in [*ep.entities.values(), *ep.pending_entities.values()]
        }
        await asyncio.gather(
            *(e.stop(drain_timeout=10) for e in ents.values()), return_exceptions=True
        )
        await self.pool.close()

    # -- data plane ------------------------------------------------------------------
    async def invoke(self, name: str, body: bytes, served: str | None = None):
        """Answer one invocation: ``(status, json_bytes, served_entity_name | None)``."""
        return await invoke(self, name, body, served)


def _create_extras(body: dict) -> str | None:
    """Check the create request's other top-level fields; the description (or None).

    ``description`` is stored and shown; the rest are refused unless they ask for nothing.
    """
    refuse_unknown(body, CREATE_KEYS, "The create request")
    if body.get("rate_limits"):
        raise invalid(
            "rate_limits (deprecated, for external and foundation model endpoints) is not "
            "carried out: set ai_gateway.rate_limits instead."
        )
    if body.get("route_optimized") not in (None, False):
        raise invalid(
            "route_optimized: route optimization (its own URL and network path) is not "
            "imitated locally: omit it or send false."
        )
    if body.get("budget_policy_id"):
        raise invalid("budget_policy_id: the local endpoint has no budget policies: omit it.")
    mail = body.get("email_notifications")
    if mail is not None:
        if not isinstance(mail, dict):
            raise invalid("email_notifications must be an object.")
        refuse_unknown(
            mail, frozenset({"on_update_failure", "on_update_success"}), "email_notifications"
        )
        if any(mail.values()):
            raise invalid("email_notifications: the local endpoint sends no email: omit it.")
    if body.get("telemetry_config"):
        raise invalid(
            "telemetry_config: telemetry export to Unity Catalog is not imitated locally; "
            "for an inference table use ai_gateway.inference_table_config."
        )
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise invalid(f"description must be a string, got {description!r}.")
    return description


def _legacy_capture(doc: dict) -> dict | None:
    """The ``auto_capture_config`` a kit before the AI Gateway persisted (pending first)."""
    for key in ("pending_config", "config"):
        capture = (doc.get(key) or {}).get("auto_capture_config")
        if capture:
            return capture
    return None


def _tags(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, list) or not all(isinstance(t, dict) and t.get("key") for t in raw):
        raise invalid("tags must be a list of {key, value} objects.")
    return {str(t["key"]): "" if t.get("value") is None else str(t["value"]) for t in raw}


def _idle(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= 86400:
        raise invalid(f"Tag {IDLE_TAG} must be seconds between 0 and 86400, got {value!r}.")
    return seconds
