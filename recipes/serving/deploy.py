"""What the serve and A/B notebooks call around the SDK: pick versions, (re)deploy, describe.

Each function takes a databricks-sdk ``WorkspaceClient`` (see :mod:`.client`), so the same
call runs against the local endpoint and a workspace.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from recipes.errors import KitError, NotFoundError, ParameterError
from recipes.names import CREATED_BY

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
    """``[EndpointTag(key="created_by", value="mdk")]``: :data:`recipes.names.CREATED_BY`."""
    from databricks.sdk.service.serving import EndpointTag

    key, value = CREATED_BY
    return [EndpointTag(key=key, value=value)]


def ensure_endpoint(w, name: str, config, *, timeout: timedelta = TIMEOUT):
    """Create ``name`` with ``config`` (an ``EndpointCoreConfigInput``), or update it to it.

    Either way the endpoint carries the tag ``created_by=mdk`` (an endpoint updated in place
    gets it too: it now serves the kit's versions, which ``mdk teardown`` deletes).
    Returns the ``ServingEndpointDetailed`` once ``config_update`` is ``NOT_UPDATING``.
    """
    if existing_endpoint(w, name) is None:
        waiter = w.serving_endpoints.create(name=name, config=config, tags=created_by_tags())
        return waiter.result(timeout=timeout)
    w.serving_endpoints.patch(name=name, add_tags=created_by_tags())
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
    w.serving_endpoints.patch(name=name, add_tags=[EndpointTag(key="mdk_idle_seconds",
                                                              value=str(seconds))])  # fmt: skip


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


def _capture_input(capture):
    """The current ``auto_capture_config`` as an ``AutoCaptureConfigInput`` (None stays None)."""
    if capture is None:
        return None
    from databricks.sdk.service.serving import AutoCaptureConfigInput

    return AutoCaptureConfigInput(
        catalog_name=capture.catalog_name,
        schema_name=capture.schema_name,
        table_name_prefix=capture.table_name_prefix,
        enabled=capture.enabled,
    )


def update_routes(w, name: str, routes: dict[str, int], *, hint: str = "route to those names"):
    """Send new traffic ``routes`` (``{served entity: %}``), keeping the entities and capture.

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
        ),  # fmt: skip
        auto_capture_config=_capture_input(config.auto_capture_config),
    )


def ab_config(endpoint_name: str, model_name: str, champion: int, challenger: int, *,
              challenger_traffic: int = 0, catalog: str = "main", schema: str = "mdk"):  # fmt: skip
    """The A/B config: entities ``champion`` and ``challenger`` of ``model_name``, routes,
    and an inference table ``<catalog>.<schema>.<endpoint_name with _>_payload``."""
    from databricks.sdk.service.serving import (
        AutoCaptureConfigInput,
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
        ],  # fmt: skip
        traffic_config=TrafficConfig(
            routes=[
                Route(served_model_name="champion", traffic_percentage=100 - challenger_traffic),
                Route(served_model_name="challenger", traffic_percentage=challenger_traffic),
            ]
        ),  # fmt: skip
        auto_capture_config=AutoCaptureConfigInput(
            catalog_name=catalog,
            schema_name=schema,
            table_name_prefix=endpoint_name.replace("-", "_"),
            enabled=True,
        ),  # fmt: skip
    )


def payload_table(endpoint) -> str:
    """The inference table of a ``ServingEndpointDetailed`` (``catalog.schema.name``).

    Raises:
        KitError: the endpoint captures nothing.
    """
    capture = endpoint.config.auto_capture_config if endpoint.config else None
    state = getattr(capture, "state", None)
    table = getattr(getattr(state, "payload_table", None), "name", None)
    if capture is None or not capture.enabled or not table:
        raise KitError(
            f"Endpoint {endpoint.name!r} has no inference table: update it with an "
            "auto_capture_config (see deploy.ab_config)."
        )
    return f"{capture.catalog_name}.{capture.schema_name}.{table}"
