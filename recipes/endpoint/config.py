"""Endpoint configs: validate the Databricks request JSON, and render it back as the API does.

:func:`parse_config` turns the ``config`` object of a create or ``PUT .../config`` request
into an :class:`EndpointConfig`; every problem is a 400 ``INVALID_PARAMETER_VALUE`` naming
the field. ``served_models`` (the older spelling, with ``model_name``/``model_version``) is
accepted too. The specs are plain data so they persist as JSON and compare for equality,
which lets an update keep the entities it does not change.

Every field of ``EndpointCoreConfigInput`` and ``ServedEntityInput`` is carried out or refused
with a 400 naming it (provisioned throughput, instance profiles, GPU workloads, unknown keys).
The legacy ``auto_capture_config`` is refused as Databricks refuses it now
(:func:`recipes.endpoint.gateway.refuse_auto_capture`): the inference table is the endpoint's
AI Gateway (:mod:`.gateway`), not part of a config version.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from recipes.endpoint.gateway import refuse_auto_capture, refuse_unknown
from recipes.errors import invalid

ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
MAX_ENTITIES = 10
WORKLOAD_SIZES = ("Small", "Medium", "Large")
UNSUPPORTED = ("external_model", "foundation_model")
CONFIG_KEYS = frozenset(
    {"served_entities", "served_models", "traffic_config", "auto_capture_config", "name"}
)
_ENTITY_COMMON = frozenset(
    {
        "name",
        "workload_size",
        "workload_type",
        "scale_to_zero_enabled",
        "environment_vars",
        "burst_scaling_enabled",
        "instance_profile_arn",
        "max_provisioned_concurrency",
        "min_provisioned_concurrency",
        "max_provisioned_throughput",
        "min_provisioned_throughput",
        "provisioned_model_units",
    }
)
ENTITY_KEYS = {  # ServedEntityInput and ServedModelInput
    "served_entities": _ENTITY_COMMON
    | {"entity_name", "entity_version", "external_model", "foundation_model"},
    "served_models": _ENTITY_COMMON | {"model_name", "model_version"},
}
# ServedEntityInput fields for capacity the local endpoint does not have: refused when given
PROVISIONED = (
    "burst_scaling_enabled",
    "max_provisioned_concurrency",
    "min_provisioned_concurrency",
    "max_provisioned_throughput",
    "min_provisioned_throughput",
    "provisioned_model_units",
)
ROUTE_KEYS = frozenset({"served_model_name", "served_entity_name", "traffic_percentage"})


@dataclass(frozen=True)
class EntitySpec:
    """One served entity: a registered model version behind a name."""

    name: str
    entity_name: str
    entity_version: str
    workload_size: str = "Small"
    scale_to_zero_enabled: bool = False
    environment_vars: dict[str, str] = field(default_factory=dict, compare=True, hash=False)

    @property
    def model_uri(self) -> str:
        return f"models:/{self.entity_name}/{self.entity_version}"


@dataclass(frozen=True)
class EndpointConfig:
    """A whole endpoint config: entities and routes (name → percent)."""

    entities: tuple[EntitySpec, ...]
    routes: tuple[tuple[str, int], ...]
    version: int = 1

    def entity(self, name: str) -> EntitySpec | None:
        return next((e for e in self.entities if e.name == name), None)

    def to_json(self) -> dict[str, Any]:
        """The persisted form (also a valid ``config`` request body)."""
        out: dict[str, Any] = {
            "served_entities": [asdict(e) for e in self.entities],
            "traffic_config": {
                "routes": [
                    {"served_model_name": n, "traffic_percentage": p} for n, p in self.routes
                ]
            },
            "config_version": self.version,
        }
        return out


def check_endpoint_name(name: Any) -> str:
    """The endpoint name, or a 400 naming the rule."""
    if not isinstance(name, str) or not ENDPOINT_NAME.match(name):
        raise invalid(
            f"Invalid endpoint name {name!r}: use 1-63 letters, digits, dashes or underscores."
        )
    return name


def _version(raw: Any, where: str) -> str:
    text = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if not text.isdigit() or int(text) < 1:
        raise invalid(f"{where}.entity_version must be a registered version number, got {raw!r}.")
    return str(int(text))


def _entity(raw: Any, i: int, key: str) -> EntitySpec:
    where = f"config.{key}[{i}]"
    if not isinstance(raw, dict):
        raise invalid(f"{where} must be an object.")
    refuse_unknown(raw, ENTITY_KEYS[key], where)
    for k in UNSUPPORTED:
        if raw.get(k):
            raise invalid(f"{where}.{k} is not served locally: serve a registered MLflow model.")
    for k in PROVISIONED:
        if raw.get(k) is not None:
            raise invalid(
                f"{where}.{k} is not carried out locally (one worker per served entity, no "
                "provisioned capacity): omit it and use workload_size."
            )
    if raw.get("instance_profile_arn"):
        raise invalid(
            f"{where}.instance_profile_arn: the local endpoint has no AWS instance profile."
        )
    kind = raw.get("workload_type")
    if kind not in (None, "CPU"):
        raise invalid(f"{where}.workload_type {kind!r}: the local endpoint serves on CPU only.")
    name_key, version_key = (
        ("model_name", "model_version")
        if key == "served_models"
        else ("entity_name", "entity_version")
    )
    entity_name = raw.get(name_key)
    if not isinstance(entity_name, str) or not entity_name.strip():
        raise invalid(f"{where}.{name_key} is required: the registered model's name.")
    if raw.get(version_key) is None:
        raise invalid(f"{where}.{version_key} is required for a registered model.")
    version = _version(raw.get(version_key), where)
    name = raw.get("name") or f"{entity_name.replace('.', '-')}-{version}"
    if not isinstance(name, str) or not ENDPOINT_NAME.match(name):
        raise invalid(f"{where}.name {name!r}: use 1-63 letters, digits, dashes or underscores.")
    size = raw.get("workload_size") or "Small"
    if size not in WORKLOAD_SIZES:
        raise invalid(f"{where}.workload_size {size!r}: use one of {', '.join(WORKLOAD_SIZES)}.")
    scale = raw.get("scale_to_zero_enabled", False)
    if not isinstance(scale, bool):
        raise invalid(f"{where}.scale_to_zero_enabled must be true or false, got {scale!r}.")
    env = raw.get("environment_vars") or {}
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise invalid(f"{where}.environment_vars must map names to strings.")
    return EntitySpec(name, entity_name.strip(), version, size, scale, dict(env))


def _routes(raw: Any, entities: tuple[EntitySpec, ...]) -> tuple[tuple[str, int], ...]:
    names = [e.name for e in entities]
    if raw is None:  # no traffic_config: split evenly, the remainder to the first entity
        share = 100 // len(names)
        return tuple(
            (n, share + (100 - share * len(names) if i == 0 else 0)) for i, n in enumerate(names)
        )
    routes = raw.get("routes") if isinstance(raw, dict) else None
    if not isinstance(routes, list) or not routes:
        raise invalid("config.traffic_config.routes must be a non-empty list.")
    refuse_unknown(raw, frozenset({"routes"}), "config.traffic_config")
    out: list[tuple[str, int]] = []
    for i, r in enumerate(routes):
        if isinstance(r, dict):
            refuse_unknown(r, ROUTE_KEYS, f"traffic_config.routes[{i}]")
            both = r.get("served_model_name"), r.get("served_entity_name")
            if all(both) and both[0] != both[1]:
                raise invalid(
                    f"traffic_config.routes[{i}] names two entities, {both[0]!r} and {both[1]!r}."
                )
        target = (
            r.get("served_model_name") or r.get("served_entity_name")
            if isinstance(r, dict)
            else None
        )
        pct = r.get("traffic_percentage") if isinstance(r, dict) else None
        if target not in names:
            raise invalid(
                f"traffic_config.routes[{i}] names unknown served entity {target!r}: "
                f"the served entities are {', '.join(names)}."
            )
        if isinstance(pct, bool) or not isinstance(pct, int) or not 0 <= pct <= 100:
            raise invalid(
                f"traffic_config.routes[{i}].traffic_percentage must be 0-100, got {pct!r}."
            )
        if target in dict(out):
            raise invalid(f"traffic_config.routes names {target!r} twice.")
        out.append((target, pct))
    total = sum(p for _, p in out)
    if total != 100:
        raise invalid(f"traffic_config.routes must sum to 100, got {total}.")
    return tuple(out)


def parse_config(raw: Any, *, endpoint: str, version: int = 1) -> EndpointConfig:
    """Validate a request's ``config`` object.

    Raises:
        ApiError: 400 INVALID_PARAMETER_VALUE naming the first bad field.
    """
    if not isinstance(raw, dict):
        raise invalid("config is required: an object with served_entities.")
    refuse_unknown(raw, CONFIG_KEYS, "config")
    if raw.get("name") not in (None, endpoint):
        raise invalid(f"config.name {raw['name']!r} must be the endpoint's name, {endpoint!r}.")
    refuse_auto_capture(raw.get("auto_capture_config"))
    if raw.get("served_entities") and raw.get("served_models"):
        raise invalid("config has both served_entities and served_models: use served_entities.")
    key = "served_entities" if raw.get("served_entities") else "served_models"
    items = raw.get(key)
    if not isinstance(items, list) or not items:
        raise invalid("config.served_entities must list at least one served entity.")
    if len(items) > MAX_ENTITIES:
        raise invalid(
            f"config.served_entities has {len(items)} entities; the limit is {MAX_ENTITIES}."
        )
    entities = tuple(_entity(e, i, key) for i, e in enumerate(items))
    seen: set[str] = set()
    for e in entities:
        if e.name in seen:
            raise invalid(f"Served entity name {e.name!r} is used twice: give each a unique name.")
        seen.add(e.name)
    return EndpointConfig(
        entities=entities,
        routes=_routes(raw.get("traffic_config"), entities),
        version=version,
    )


def from_json(raw: dict[str, Any], *, endpoint: str) -> EndpointConfig:
    """Read back a persisted :meth:`EndpointConfig.to_json`.

    A legacy ``auto_capture_config`` (kits before the AI Gateway) is left out here: the
    manager moves it to the endpoint's gateway (:func:`.gateway.from_legacy_capture`).
    """
    body = {k: v for k, v in raw.items() if k not in ("config_version", "auto_capture_config")}
    return parse_config(body, endpoint=endpoint, version=int(raw.get("config_version", 1)))
