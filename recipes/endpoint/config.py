"""Endpoint configs: validate the Databricks request JSON, and render it back as the API does.

:func:`parse_config` turns the ``config`` object of a create or ``PUT .../config`` request
into an :class:`EndpointConfig`; every problem is a 400 ``INVALID_PARAMETER_VALUE`` naming
the field. ``served_models`` (the older spelling, with ``model_name``/``model_version``) is
accepted too. The specs are plain data so they persist as JSON and compare for equality,
which lets an update keep the entities it does not change.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from recipes.errors import invalid

ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9_-]{1,63}$")
TABLE_PART = re.compile(r"^[A-Za-z0-9_]+$")
MAX_ENTITIES = 10
WORKLOAD_SIZES = ("Small", "Medium", "Large")
UNSUPPORTED = ("external_model", "foundation_model")


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
class CaptureSpec:
    """``auto_capture_config``: where the inference table goes."""

    catalog_name: str
    schema_name: str
    table_name_prefix: str
    enabled: bool = True

    @property
    def payload_table(self) -> str:
        return f"{self.catalog_name}.{self.schema_name}.{self.table_name_prefix}_payload"


@dataclass(frozen=True)
class EndpointConfig:
    """A whole endpoint config: entities, routes (name → percent) and capture."""

    entities: tuple[EntitySpec, ...]
    routes: tuple[tuple[str, int], ...]
    capture: CaptureSpec | None = None
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
        if self.capture is not None:
            out["auto_capture_config"] = asdict(self.capture)
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
    for k in UNSUPPORTED:
        if raw.get(k):
            raise invalid(f"{where}.{k} is not served locally: serve a registered MLflow model.")
    name_key, version_key = ("model_name", "model_version") if key == "served_models" else (
        "entity_name", "entity_version")  # fmt: skip
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
        return tuple((n, share + (100 - share * len(names) if i == 0 else 0))
                     for i, n in enumerate(names))  # fmt: skip
    routes = raw.get("routes") if isinstance(raw, dict) else None
    if not isinstance(routes, list) or not routes:
        raise invalid("config.traffic_config.routes must be a non-empty list.")
    out: list[tuple[str, int]] = []
    for i, r in enumerate(routes):
        target = r.get("served_model_name") or r.get("served_entity_name") if isinstance(
            r, dict) else None  # fmt: skip
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


def _capture(raw: Any, endpoint: str) -> CaptureSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid("config.auto_capture_config must be an object.")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise invalid("auto_capture_config.enabled must be true or false.")
    parts = {
        "catalog_name": raw.get("catalog_name"),
        "schema_name": raw.get("schema_name"),
        "table_name_prefix": raw.get("table_name_prefix") or endpoint.replace("-", "_"),
    }
    for key, value in parts.items():
        if not isinstance(value, str) or not TABLE_PART.match(value):
            raise invalid(
                f"auto_capture_config.{key} {value!r}: use letters, digits and underscores."
            )
    return CaptureSpec(**{k: v.lower() for k, v in parts.items()}, enabled=enabled)


def parse_config(raw: Any, *, endpoint: str, version: int = 1) -> EndpointConfig:
    """Validate a request's ``config`` object.

    Raises:
        ApiError: 400 INVALID_PARAMETER_VALUE naming the first bad field.
    """
    if not isinstance(raw, dict):
        raise invalid("config is required: an object with served_entities.")
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
        capture=_capture(raw.get("auto_capture_config"), endpoint),
        version=version,
    )


def from_json(raw: dict[str, Any], *, endpoint: str) -> EndpointConfig:
    """Read back a persisted :meth:`EndpointConfig.to_json`."""
    return parse_config(raw, endpoint=endpoint, version=int(raw.get("config_version", 1)))
