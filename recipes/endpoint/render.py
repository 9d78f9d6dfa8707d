"""Endpoints as the Databricks API shows them (``ServingEndpointDetailed`` and friends).

``ai_gateway`` is shown as ``AiGatewayConfig`` (:meth:`.gateway.Gateway.to_json`) in both
``get`` and ``list``, as Databricks shows it.

Fields the SDK does not know (``mdk``: worker pid, restarts, cold starts) are extras that
the official client ignores and the kit's notebooks and panels read.
"""

from __future__ import annotations

from typing import Any

from recipes.endpoint.config import EndpointConfig


def tags(ep) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in sorted(ep.tags.items())]


def entity_output(spec, ent) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": spec.name,
        "entity_name": spec.entity_name,
        "entity_version": spec.entity_version,
        "workload_size": spec.workload_size,
        "workload_type": "CPU",
        "scale_to_zero_enabled": spec.scale_to_zero_enabled,
        "creator": "mdk",
    }
    if spec.environment_vars:
        out["environment_vars"] = dict(spec.environment_vars)
    if ent is not None:
        out["creation_timestamp"] = ent.created_ms
        out["state"] = {"deployment": ent.deployment, "deployment_state_message": ent.message}
        s = ent.stats
        out["mdk"] = {
            "worker_pid": ent.pid if ent.running else None,
            "scaled_to_zero": ent.scaled_to_zero,
            "fast_path": ent.fast_path,
            "requests": s.requests,
            "restarts": s.restarts,
            "cold_starts": s.cold_starts,
            "last_cold_start_ms": s.last_cold_start_ms,
            "load_seconds": s.last_load_seconds,
            "last_failure": s.last_failure,
        }
    return out


def config_output(cfg: EndpointConfig, entities: dict) -> dict[str, Any]:
    out: dict[str, Any] = {
        "config_version": cfg.version,
        "served_entities": [entity_output(s, entities.get(s.name)) for s in cfg.entities],
        "traffic_config": {
            "routes": [
                {"served_model_name": n, "served_entity_name": n, "traffic_percentage": p}
                for n, p in cfg.routes
            ]
        },
    }
    return out


def _state(ep) -> dict[str, str]:
    ready = ep.active is not None and all(
        e.deployment in ("DEPLOYMENT_READY", "DEPLOYMENT_RECOVERING") for e in ep.entities.values()
    )
    return {"ready": "READY" if ready else "NOT_READY", "config_update": ep.update_state}


def endpoint(ep) -> dict[str, Any]:
    """``GET /api/2.0/serving-endpoints/{name}``."""
    out: dict[str, Any] = {
        "name": ep.name,
        "id": ep.id,
        "creator": "mdk",
        "creation_timestamp": ep.created_ms,
        "last_updated_timestamp": ep.updated_ms,
        "state": _state(ep),
        "tags": tags(ep),
        "permission_level": "CAN_MANAGE",
        "route_optimized": False,
        "mdk": {"message": ep.message},
    }
    _endpoint_state(ep, out)
    if ep.active is not None:
        out["config"] = config_output(ep.active, ep.entities)
    if ep.pending is not None:
        out["pending_config"] = {
            **config_output(ep.pending, ep.pending_entities),
            "start_time": ep.pending_started_ms,
        }
    return out


def summary(ep) -> dict[str, Any]:
    """One row of ``GET /api/2.0/serving-endpoints``."""
    cfg = ep.active or ep.pending
    ents = [
        {"name": s.name, "entity_name": s.entity_name, "entity_version": s.entity_version}
        for s in (cfg.entities if cfg else ())
    ]
    out = {
        "name": ep.name,
        "id": ep.id,
        "creator": "mdk",
        "creation_timestamp": ep.created_ms,
        "last_updated_timestamp": ep.updated_ms,
        "state": _state(ep),
        "tags": tags(ep),
        "config": {"served_entities": ents},
    }
    _endpoint_state(ep, out)
    return out


def _endpoint_state(ep, out: dict[str, Any]) -> None:
    """The endpoint's own fields beside its config: ``ai_gateway`` and ``description``."""
    if ep.gateway:
        out["ai_gateway"] = ep.gateway.to_json()
    if ep.description is not None:
        out["description"] = ep.description
