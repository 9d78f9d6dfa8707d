"""What the serve and A/B notebooks call around the SDK: pick versions, (re)deploy, describe.

Each function takes a databricks-sdk ``WorkspaceClient`` (see :mod:`.client`), so the same
call runs against the local endpoint and a workspace.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from recipes.errors import ParameterError

TIMEOUT = timedelta(minutes=10)


def entity_version(model_name: str, version: int = 0, *, alias: str = "champion") -> int:
    """The version to serve: ``version``, or (when 0) the one behind ``@alias``.

    The model gets two versions and ``@champion``/``@challenger`` (v1/v2) if it lacks them,
    so a notebook runs on its own.
    """
    from recipes import registry, train

    if version < 0:
        raise ParameterError(f"entity version must be >= 0 (0 = @{alias}), got {version}.")
    have = train.ensure_versions(model_name, minimum=2)
    registry.ensure_alias(model_name, "champion", have[0])
    registry.ensure_alias(model_name, "challenger", have[-1])
    return registry.resolve(model_name, version) if version else registry.resolve(
        model_name, f"@{alias}"
    )  # fmt: skip


def remove_endpoint(w, name: str) -> bool:
    """Delete endpoint ``name`` if it exists; True when it did (so a rerun starts clean)."""
    from databricks.sdk.errors import NotFound

    try:
        w.serving_endpoints.delete(name)
    except NotFound:
        return False
    return True


def ensure_endpoint(w, name: str, config, *, timeout: timedelta = TIMEOUT):
    """Create ``name`` with ``config`` (an ``EndpointCoreConfigInput``), or update it to it.

    Returns the ``ServingEndpointDetailed`` once ``config_update`` is ``NOT_UPDATING``.
    """
    from databricks.sdk.errors import NotFound

    try:
        w.serving_endpoints.get(name)
    except NotFound:
        return w.serving_endpoints.create(name=name, config=config).result(timeout=timeout)
    waiter = w.serving_endpoints.update_config(
        name=name,
        served_entities=config.served_entities,
        traffic_config=config.traffic_config,
        auto_capture_config=config.auto_capture_config,
    )
    return waiter.result(timeout=timeout)


def describe_endpoint(endpoint) -> pd.DataFrame:
    """One row per served entity: model, version, traffic share, scale-to-zero and state."""
    cfg = endpoint.config
    routes = {
        (r.served_model_name or r.served_entity_name): r.traffic_percentage
        for r in (cfg.traffic_config.routes if cfg and cfg.traffic_config else [])
    }
    rows = [
        {
            "served_entity": e.name,
            "model": e.entity_name,
            "version": int(e.entity_version),
            "traffic_%": routes.get(e.name, 0),
            "scale_to_zero": e.scale_to_zero_enabled,
            "deployment": e.state.deployment.value if e.state and e.state.deployment else None,
        }
        for e in (cfg.served_entities if cfg else [])
    ]
    state = endpoint.state
    ready = state.ready.value if state and state.ready else None
    update = state.config_update.value if state and state.config_update else None
    frame = pd.DataFrame(rows)
    frame.attrs["title"] = f"{endpoint.name}: {ready} / {update}"
    return frame


def set_idle_seconds(w, name: str, seconds: int) -> None:
    """Tag the endpoint with the kit's scale-to-zero idle time (``mdk_idle_seconds``).

    The local endpoint honours the tag; a workspace keeps it as a plain tag and scales to
    zero after its own idle period (about 30 minutes).
    """
    from databricks.sdk.service.serving import EndpointTag

    if seconds <= 0:
        raise ParameterError(f"idle_seconds must be > 0, got {seconds}.")
    w.serving_endpoints.patch(name=name, add_tags=[EndpointTag(key="mdk_idle_seconds",
                                                              value=str(seconds))])  # fmt: skip
