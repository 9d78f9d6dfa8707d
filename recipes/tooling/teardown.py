"""``mdk teardown --target databricks``: list what the kit made on a workspace, then delete it.

What counts as the kit's is what carries :data:`recipes.workspace_names.CREATED_BY` (``created_by=mdk``),
and what such an object owns and names itself:

- **endpoints** whose tags include it (``w.serving_endpoints.list()``), and each one's
  inference table (its AI Gateway's ``inference_table_config``, or a legacy
  ``auto_capture_config`` an older endpoint still names: Databricks makes that table, untagged);
- **tables** in ``<MDK_CATALOG>.<MDK_SCHEMA>`` and ``<MDK_CATALOG>.features`` whose
  properties include it (``w.tables.list``; the kit writes them with ``TBLPROPERTIES``);
- **monitors** on those tables (``w.quality_monitors.get``: a monitor belongs to its table),
  and the metric tables each monitor names;
- **model versions** with the tag, in the models of ``<catalog>.<schema>``
  (``search_registered_models``, ``search_model_versions(name = ...)``; Unity Catalog's
  searches take no tag filter and answer without tags, so each is read with a ``get``);
- **registered models** with the tag whose every version carries it too: a tagged model that
  holds a version without the tag is kept, and said so.

Nothing else is ever touched. Deletion runs endpoints first (they cost money while they
run), then monitors, tables, versions and models; a failure on one object is reported and
the rest go on. :func:`find` only reads; :func:`delete` deletes exactly the plan it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from recipes.errors import KitError
from recipes.workspace_names import CREATED_BY, FEATURE_SCHEMA, Names

ORDER = ("endpoint", "monitor", "table", "version", "model")  # the order of deletion
TAGGED = f"tag {CREATED_BY[0]}={CREATED_BY[1]}"


@dataclass(frozen=True)
class Item:
    """One object to delete: its kind (see :data:`ORDER`), name and why it is the kit's."""

    kind: str
    name: str
    version: str | None = None
    why: str = TAGGED

    @property
    def label(self) -> str:
        return self.name if self.version is None else f"{self.name} v{self.version}"


@dataclass
class Plan:
    """What :func:`find` found: the items in deletion order, and what it keeps and why."""

    items: list[Item] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    def rows(self) -> list[tuple[str, str, str]]:
        return [(i.kind, i.label, i.why) for i in self.items]


@dataclass(frozen=True)
class Outcome:
    """What happened to one item: ``error`` is None when it was deleted."""

    item: Item
    error: str | None = None


def has_tag(tags: Any) -> bool:
    """Whether ``tags`` (a dict, or a list of objects with ``key``/``value``) hold the tag."""
    key, value = CREATED_BY
    if isinstance(tags, dict):
        return tags.get(key) == value
    return any(
        getattr(t, "key", None) == key and getattr(t, "value", None) == value for t in tags or []
    )


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _not_found(exc: Exception) -> bool:
    from databricks.sdk.errors import NotFound

    return isinstance(exc, NotFound)


def _get_or_none(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - the SDK's NotFound, anything else re-raised
        if _not_found(exc):
            return None
        raise


def _pages(search: Callable[..., Any]) -> Iterator[Any]:
    """Every result of an MLflow search that pages with ``page_token``."""
    token = None
    while True:
        page = search(page_token=token)
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return


# ----------------------------------------------------------------------------- finding


def payload_tables(endpoint) -> list[str]:
    """The inference tables a ``ServingEndpointDetailed`` names: its AI Gateway's
    ``inference_table_config`` (enabled or not: a disabled table keeps what it logged), then
    a legacy ``auto_capture_config`` of its live or pending config (endpoints made before
    Databricks stopped enabling those tables on 2026-02-20 may still name one). Each is
    ``<catalog>.<schema>.<table_name_prefix>_payload``, unless a legacy state names it."""
    names = []
    table = getattr(getattr(endpoint, "ai_gateway", None), "inference_table_config", None)
    if table is not None and table.catalog_name and table.schema_name:
        prefix = table.table_name_prefix or endpoint.name.replace("-", "_")
        names.append(f"{table.catalog_name}.{table.schema_name}.{prefix}_payload")
    for cfg in (endpoint.config, endpoint.pending_config):
        capture = getattr(cfg, "auto_capture_config", None)
        if capture is None or not capture.catalog_name or not capture.schema_name:
            continue
        legacy = getattr(getattr(capture.state, "payload_table", None), "name", None)
        legacy = legacy or (
            f"{capture.table_name_prefix}_payload" if capture.table_name_prefix else None
        )
        if legacy:
            names.append(f"{capture.catalog_name}.{capture.schema_name}.{legacy}")
    return list(dict.fromkeys(names))


def _endpoints(w) -> tuple[list[Item], list[Item]]:
    """Tagged endpoints, and the inference tables they name."""
    endpoints, payloads = [], []
    for ep in w.serving_endpoints.list():
        if not has_tag(ep.tags):
            continue
        endpoints.append(Item("endpoint", ep.name))
        detailed = _get_or_none(lambda name=ep.name: w.serving_endpoints.get(name))
        why = f"inference table of endpoint {ep.name}"
        payloads += (
            [Item("table", t, why=why) for t in payload_tables(detailed)] if detailed else []
        )
    return endpoints, payloads


def _tables(w, names: Names) -> dict[str, Any]:
    """``{full_name: TableInfo}`` of the kit's schemas (a missing schema has none)."""
    found = {}
    for schema in dict.fromkeys((names.schema, FEATURE_SCHEMA)):
        infos = _get_or_none(
            lambda s=schema: list(w.tables.list(catalog_name=names.catalog, schema_name=s))
        )
        found.update({t.full_name: t for t in infos or []})
    return found


def _exists(w, listed: dict[str, Any], name: str) -> bool:
    return name in listed or _get_or_none(lambda: w.tables.get(name)) is not None


def _monitors(w, tables: Iterable[Item], listed: dict[str, Any]) -> tuple[list[Item], list[Item]]:
    """The monitors of ``tables``, and the metric tables each names."""
    monitors, metric_tables = [], []
    for table in tables:
        info = _get_or_none(lambda name=table.name: w.quality_monitors.get(table_name=name))
        if info is None:
            continue
        monitors.append(Item("monitor", table.name, why=f"monitor of {table.name}"))
        for metric in (info.profile_metrics_table_name, info.drift_metrics_table_name):
            if metric and _exists(w, listed, metric):
                why = f"metric table of the monitor on {table.name}"
                metric_tables.append(Item("table", metric, why=why))
    return monitors, metric_tables


def _models(client, names: Names, unity_catalog: bool) -> tuple[list[Item], list[str]]:
    """Tagged versions, and tagged models whose every version is tagged; the rest is kept."""
    key, value = CREATED_BY
    if unity_catalog:  # UC's search takes no filter: keep this catalog.schema's models
        prefix = f"{names.catalog}.{names.schema}."
        found = _pages(lambda page_token: client.search_registered_models(page_token=page_token))
        models = [m.name for m in found if m.name.startswith(prefix)]
    else:
        tagged = f"tags.{key} = '{value}'"
        found = _pages(
            lambda page_token: client.search_registered_models(
                filter_string=tagged, page_token=page_token
            )
        )
        models = [m.name for m in found]
    items, kept = [], []
    for name in sorted(models):
        versions = _pages(
            lambda page_token, n=name: client.search_model_versions(
                filter_string=f"name = '{n}'", page_token=page_token
            )
        )
        numbers = sorted((str(mv.version) for mv in versions), key=int)
        # UC's search answers carry no tags: read each version
        marked = [v for v in numbers if has_tag(client.get_model_version(name, v).tags)]
        items += [Item("version", name, v) for v in marked]
        if has_tag(client.get_registered_model(name).tags):
            others = len(numbers) - len(marked)
            if others:
                kept.append(f"model {name}: kept, it holds {others} version(s) without the tag")
            else:
                items.append(Item("model", name))
    return items, kept


def find(w, client, names: Names, *, unity_catalog: bool = True) -> Plan:
    """What carries the tag (and what it owns), in deletion order. Only reads.

    Args:
        w: a databricks-sdk ``WorkspaceClient``.
        client: an ``MlflowClient`` on the workspace's registry.
        names: where the kit's objects live (:func:`recipes.workspace_names.for_target`).
        unity_catalog: the registry is Unity Catalog (else the workspace registry, whose
            search takes a tag filter).
    """
    endpoints, payloads = _endpoints(w)
    listed = _tables(w, names)
    tables = {t.name: t for t in payloads if _exists(w, listed, t.name)}
    tables.update({n: Item("table", n) for n, info in listed.items() if has_tag(info.properties)})
    monitors, metric_tables = _monitors(w, list(tables.values()), listed)
    for t in metric_tables:
        tables.setdefault(t.name, t)
    models, kept = _models(client, names, unity_catalog)
    items = [*endpoints, *monitors, *sorted(tables.values(), key=lambda t: t.name), *models]
    items.sort(key=lambda i: ORDER.index(i.kind))  # stable: versions stay before their model
    return Plan(items, kept)


# ----------------------------------------------------------------------------- deleting


def _delete_one(w, client, item: Item) -> None:
    if item.kind == "endpoint":
        w.serving_endpoints.delete(item.name)
    elif item.kind == "monitor":
        w.quality_monitors.delete(table_name=item.name)
    elif item.kind == "table":
        w.tables.delete(item.name)
    elif item.kind == "version":
        client.delete_model_version(item.name, item.version)
    elif item.kind == "model":
        client.delete_registered_model(item.name)
    else:
        raise KitError(f"Unknown kind {item.kind!r}: one of {', '.join(ORDER)}.")


def delete(
    w, client, plan: Plan, progress: Callable[[Outcome], None] | None = None
) -> list[Outcome]:
    """Delete every item of ``plan`` in :data:`ORDER`; a failure is recorded and the rest go on."""
    outcomes = []
    for item in sorted(plan.items, key=lambda i: ORDER.index(i.kind)):
        try:
            _delete_one(w, client, item)
            outcome = Outcome(item)
        except Exception as exc:  # noqa: BLE001 - reported per object; the others go on
            outcome = Outcome(item, _one_line(exc))
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    return outcomes


def clients(target) -> tuple[Any, Any]:
    """A ``WorkspaceClient`` and an ``MlflowClient`` on ``target`` (a databricks
    :class:`~recipes.target.Target`), from the SDK's unified config."""
    from databricks.sdk import WorkspaceClient
    from mlflow import MlflowClient

    from recipes.target import databricks_config

    w = WorkspaceClient(config=databricks_config())
    return w, MlflowClient(tracking_uri=target.tracking_uri, registry_uri=target.registry_uri)
