"""What the serve and A/B notebooks call around the SDK: pick versions, (re)deploy, describe.

Each function takes a databricks-sdk ``WorkspaceClient`` (see :mod:`.client`), so the same
call runs against the local endpoint and a workspace.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from recipes.errors import KitError, NotFoundError, ParameterError
from recipes.workspace_names import CREATED_BY

TIMEOUT = timedelta(minutes=10)


def remove_endpoint(w, name: str) -> bool:
    """Delete endpoint ``name`` if it exists; True when it did (so a rerun starts clean)."""
    from databricks.sdk.errors import NotFound

    try:
        w.serving_endpoints.delete(name)
    except NotFound:
        return False
    return True


def existing_endpoint(w, name: str, *, replace: bool = False):
    """The endpoint ``name`` if it exists (to be updated, never deleted), else None.

    With ``replace=True`` an existing endpoint is deleted first and None is returned, so the
    caller creates it afresh: only when the user asked for it (a notebook parameter).
    """
    from databricks.sdk.errors import NotFound

    try:
        found = w.serving_endpoints.get(name)
    except NotFound:
        return None
    if replace:
        w.serving_endpoints.delete(name)
        return None
    return found


def created_by_tags() -> list:
    """``[EndpointTag(key="created_by", value="mdk")]``: :data:`recipes.workspace_names.CREATED_BY`."""
    from databricks.sdk.service.serving import EndpointTag

    key, value = CREATED_BY
    return [EndpointTag(key=key, value=value)]


def ensure_endpoint(w, name: str, config, *, ai_gateway=None, timeout: timedelta = TIMEOUT):
    """Create ``name`` with ``config`` (an ``EndpointCoreConfigInput``), or update it to it.

    Either way the endpoint carries the tag ``created_by=mdk`` (an endpoint updated in place
    gets it too: it now serves the kit's versions, which ``mdk teardown`` deletes).

    Args:
        ai_gateway: an ``AiGatewayConfig`` (its inference table, rate limits) or None. A new
            endpoint is created with it. An existing endpoint keeps its gateway through the
            config update (the gateway is endpoint state); what ``ai_gateway`` asks for and the
            endpoint lacks is then sent with ``put_ai_gateway`` (:func:`ensure_gateway`).
            With None the gateway is never touched.

    Returns:
        The ``ServingEndpointDetailed`` once ``config_update`` is ``NOT_UPDATING``.
    """
    found = existing_endpoint(w, name)
    if found is None:
        waiter = w.serving_endpoints.create(
            name=name, config=config, ai_gateway=ai_gateway, tags=created_by_tags()
        )
        return waiter.result(timeout=timeout)
    w.serving_endpoints.patch(name=name, add_tags=created_by_tags())
    waiter = w.serving_endpoints.update_config(
        name=name,
        served_entities=config.served_entities,
        traffic_config=config.traffic_config,
    )
    endpoint = waiter.result(timeout=timeout)
    if ai_gateway is None:
        return endpoint
    return ensure_gateway(w, endpoint, ai_gateway, timeout=timeout)


_GATEWAY_FIELDS = (
    "inference_table_config",
    "rate_limits",
    "usage_tracking_config",
    "guardrails",
    "fallback_config",
)


def _table_on(gateway) -> bool:
    table = getattr(gateway, "inference_table_config", None)
    return bool(table is not None and table.enabled)


def ensure_gateway(w, endpoint, ai_gateway, *, timeout: timedelta = TIMEOUT):
    """Give an existing endpoint what ``ai_gateway`` (an ``AiGatewayConfig``) asks for and it
    lacks, with ``w.serving_endpoints.put_ai_gateway``; nothing when it has it all.

    ``put_ai_gateway`` replaces the whole gateway, so the fields ``ai_gateway`` leaves None
    keep the endpoint's. An inference table that is already on is kept as it is, even when
    ``ai_gateway`` names another one: its names cannot change while it is enabled, and
    moving where an endpoint logs is the user's call (disable it first, then enable the new
    one with ``put_ai_gateway``).

    Returns:
        The ``ServingEndpointDetailed`` (read again, once ``NOT_UPDATING``, after a put).
    """
    from databricks.sdk.service.serving import AiGatewayConfig

    current = endpoint.ai_gateway
    wanted = {f: getattr(ai_gateway, f) for f in _GATEWAY_FIELDS}
    if _table_on(current):
        wanted["inference_table_config"] = current.inference_table_config
    merged = {f: getattr(current, f, None) if v is None else v for f, v in wanted.items()}
    have = current.as_dict() if current is not None else {}
    if AiGatewayConfig(**merged).as_dict() == have:
        return endpoint
    w.serving_endpoints.put_ai_gateway(endpoint.name, **merged)
    return w.serving_endpoints.wait_get_serving_endpoint_not_updating(
        endpoint.name, timeout=timeout
    )


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


def entity_versions(endpoint) -> dict[str, int]:
    """``{served entity: model version}`` of an endpoint's live config."""
    cfg = endpoint.config
    return {e.name: int(e.entity_version) for e in (cfg.served_entities if cfg else [])}


def set_idle_seconds(w, name: str, seconds: int) -> None:
    """Tag the endpoint with the kit's scale-to-zero idle time (``mdk_idle_seconds``).

    The local endpoint honours the tag; a workspace keeps it as a plain tag and scales to
    zero after its own idle period (about 30 minutes).
    """
    from databricks.sdk.service.serving import EndpointTag

    if seconds <= 0:
        raise ParameterError(f"idle_seconds must be > 0, got {seconds}.")
    w.serving_endpoints.patch(
        name=name, add_tags=[EndpointTag(key="mdk_idle_seconds", value=str(seconds))]
    )


def _entity_input(entity):
    """A ``ServedEntityInput`` that re-declares a served entity as it is (output → input)."""
    from databricks.sdk.service.serving import ServedEntityInput

    return ServedEntityInput(
        name=entity.name,
        entity_name=entity.entity_name,
        entity_version=entity.entity_version,
        workload_size=entity.workload_size,
        workload_type=entity.workload_type,
        scale_to_zero_enabled=entity.scale_to_zero_enabled,
    )


def update_routes(w, name: str, routes: dict[str, int], *, hint: str = "route to those names"):
    """Send new traffic ``routes`` (``{served entity: %}``), keeping the served entities.

    The endpoint's AI Gateway (its inference table, rate limits) is endpoint state, not part
    of the config: the update keeps it by itself, so none is sent (and the legacy
    ``auto_capture_config`` is refused since 2026-02-20).

    Returns the SDK's waiter (``.result(timeout=...)`` waits until ``NOT_UPDATING``;
    ``.response`` is the endpoint as the update started).

    Raises:
        KitError: the endpoint has no live config yet.
        NotFoundError: a route names a served entity the endpoint lacks (``hint`` ends
            the message).
    """
    from databricks.sdk.service.serving import Route, TrafficConfig

    config = w.serving_endpoints.get(name).config
    entities = list(getattr(config, "served_entities", None) or [])
    if not entities:
        raise KitError(
            f"Endpoint {name!r} has no live config yet: wait until it is created, then "
            "Refresh and apply again."
        )
    names = [e.name for e in entities]
    missing = [n for n in routes if n not in names]
    if missing:
        raise NotFoundError(
            f"Endpoint {name!r} has no served entity {' or '.join(map(repr, missing))}: it "
            f"has {', '.join(map(repr, names))}; {hint}."
        )
    return w.serving_endpoints.update_config(
        name=name,
        served_entities=[_entity_input(e) for e in entities],
        traffic_config=TrafficConfig(
            routes=[Route(served_model_name=n, traffic_percentage=pct) for n, pct in routes.items()]
        ),
    )


def ab_config(
    endpoint_name: str,
    model_name: str,
    champion: int,
    challenger: int,
    *,
    challenger_traffic: int = 0,
):
    """The A/B config: entities ``champion`` and ``challenger`` of ``model_name`` and routes
    (its inference table is the endpoint's AI Gateway: :func:`ab_gateway`)."""
    from databricks.sdk.service.serving import (
        EndpointCoreConfigInput,
        Route,
        ServedEntityInput,
        TrafficConfig,
    )

    if not 0 <= challenger_traffic <= 100:
        raise ParameterError(f"challenger_traffic must be 0..100, got {challenger_traffic}.")
    versions = {"champion": champion, "challenger": challenger}
    return EndpointCoreConfigInput(
        name=endpoint_name,
        served_entities=[
            ServedEntityInput(
                name=n,
                entity_name=model_name,
                entity_version=str(v),
                workload_size="Small",
                scale_to_zero_enabled=False,
            )
            for n, v in versions.items()
        ],
        traffic_config=TrafficConfig(
            routes=[
                Route(served_model_name="champion", traffic_percentage=100 - challenger_traffic),
                Route(served_model_name="challenger", traffic_percentage=challenger_traffic),
            ]
        ),
    )


def ab_gateway(endpoint_name: str, *, catalog: str = "main", schema: str = "mdk"):
    """The A/B endpoint's AI Gateway: its inference table
    ``<catalog>.<schema>.<endpoint_name with _>_payload``, as 04 types it."""
    from databricks.sdk.service.serving import AiGatewayConfig, AiGatewayInferenceTableConfig

    return AiGatewayConfig(
        inference_table_config=AiGatewayInferenceTableConfig(
            catalog_name=catalog,
            schema_name=schema,
            table_name_prefix=endpoint_name.replace("-", "_"),
            enabled=True,
        )
    )


def payload_table(endpoint) -> str:
    """The AI Gateway inference table of a ``ServingEndpointDetailed``
    (``<catalog>.<schema>.<table_name_prefix>_payload``, from
    ``endpoint.ai_gateway.inference_table_config``).

    Raises:
        KitError: the endpoint's gateway logs to no table.
    """
    gateway = endpoint.ai_gateway
    table = gateway.inference_table_config if gateway is not None else None
    if not _table_on(gateway) or not table.catalog_name or not table.schema_name:
        raise KitError(
            f"Endpoint {endpoint.name!r} has no inference table: turn on its AI Gateway "
            "inference table with w.serving_endpoints.put_ai_gateway(name, "
            "inference_table_config=AiGatewayInferenceTableConfig(catalog_name=..., "
            "schema_name=..., enabled=True)) (see deploy.ab_gateway)."
        )
    prefix = table.table_name_prefix or endpoint.name.replace("-", "_")
    return f"{table.catalog_name}.{table.schema_name}.{prefix}_payload"
