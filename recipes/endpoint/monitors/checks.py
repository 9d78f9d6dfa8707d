"""Checks of a monitor's create/update body, as Unity Catalog makes them, and its JSON files.

The document a monitor is stored as (``monitor.json``, read by ``recipes.monitoring.refresh``)
keeps the SDK's JSON shapes: what ``MonitorInfo.as_dict()`` carries.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from recipes.endpoint.monitors.fields import classification, refuse_unsupported
from recipes.endpoint.monitors.metrics import check_custom_metrics, check_slicing_exprs
from recipes.endpoint.monitors.schedule import check_schedule
from recipes.errors import KitError, invalid, not_found
from recipes.granularity import check_granularity
from recipes.jsonfile import write_json

PROBLEM_TYPES = ("PROBLEM_TYPE_CLASSIFICATION", "PROBLEM_TYPE_REGRESSION")


def now_ms() -> int:
    return int(time.time() * 1000)


def write(path: Path, doc: dict) -> None:
    write_json(path, doc)


def read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def public(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if not k.startswith("_") and v is not None}


def table_name(name: str) -> str:
    from recipes.tables import check_table_name

    try:
        return ".".join(check_table_name(name))
    except KitError as exc:
        raise invalid(str(exc)) from None


def _columns(table: str, home: Path) -> list[str]:
    """The table's column names, from its Delta schema in the log (delta-rs: no data file is
    read, no JVM); 404 when it does not exist."""
    from recipes import tables

    if not tables.exists(table, home=home):
        raise not_found(f"Table '{table}' does not exist: write it first (recipes.tables).")
    return tables.column_names(table, home=home)


PROFILES = ("inference_log", "time_series", "snapshot")
_PROFILE_FIELDS = {
    "inference_log": (
        "problem_type",
        "timestamp_col",
        "granularities",
        "prediction_col",
        "model_id_col",
        "label_col",
        "prediction_proba_col",
    ),
    "time_series": ("timestamp_col", "granularities"),
    "snapshot": (),
}
_CLASS = {
    "inference_log": "MonitorInferenceLog",
    "time_series": "MonitorTimeSeries",
    "snapshot": "MonitorSnapshot",
}
_REQUIRED = {
    "inference_log": ("timestamp_col", "prediction_col", "model_id_col"),
    "time_series": ("timestamp_col",),
    "snapshot": (),
}


def _granularities(kind: str, grains) -> list[str]:
    if not isinstance(grains, list) or not grains:
        raise invalid(f"{kind}.granularities must be a non-empty list, e.g. ['1 day'].")
    try:
        checked = [check_granularity(g) for g in grains]
    except KitError as exc:
        raise invalid(f"{kind}.granularities: {exc}") from None
    for i, g in enumerate(checked):
        if g in checked[:i]:
            raise invalid(f"{kind}.granularities has {g!r} twice.")
    return checked


def check_profile(table: str, body: dict, columns: list[str]) -> tuple[str, dict]:
    """The monitor's one profile type, ``inference_log``, ``time_series`` or ``snapshot``,
    checked as Databricks does: every named column is one of the table's."""
    given = [k for k in PROFILES if body.get(k) is not None]
    if len(given) != 1:
        raise invalid(
            f"Give exactly one of {', '.join(PROFILES)}"
            + (
                f"; got {', '.join(given)}."
                if given
                else ": MonitorInferenceLog(...), MonitorTimeSeries(...) or MonitorSnapshot()."
            )
        )
    kind = given[0]
    profile = body[kind]
    if not isinstance(profile, dict):
        raise invalid(f"{kind} must be a {_CLASS[kind]} object.")
    unknown = sorted(set(profile) - set(_PROFILE_FIELDS[kind]))
    if unknown:
        raise invalid(f"{kind}.{unknown[0]} is not a field of {_CLASS[kind]}.")
    profile = {k: v for k, v in profile.items() if v is not None}
    if "prediction_proba_col" in profile:  # a field of Databricks' that nothing here reads
        raise invalid(
            "inference_log.prediction_proba_col: the local monitor does not imitate it "
            "(Databricks reads each class's probability from that map column); leave it out: "
            "the local monitor scores ROC-AUC on prediction_col."
        )
    if kind == "inference_log" and profile.get("problem_type") not in PROBLEM_TYPES:
        raise invalid(f"inference_log.problem_type must be one of {', '.join(PROBLEM_TYPES)}.")
    for key in _PROFILE_FIELDS[kind]:
        if key in ("problem_type", "granularities"):
            continue
        name = profile.get(key)
        if (name is None and key in _REQUIRED[kind]) or (name is not None and name not in columns):
            raise invalid(
                f"{kind}.{key} {name!r} is not a column of {table} (it has {', '.join(columns)})."
            )
    if kind != "snapshot":
        profile["granularities"] = _granularities(kind, profile.get("granularities"))
    return kind, profile


def check_monitor(
    table: str, body: dict, home: Path, *, create: bool = True, assets_dir: str | None = None
) -> dict:
    """The monitor document for ``table`` from a create/update body, checked as Databricks
    does: the tables exist and every named column is one of the table's; any field the local
    monitor does not carry out is refused first (:mod:`.fields`). On update ``assets_dir`` is
    the monitor's own."""
    from recipes.tables import check_schema_name

    refuse_unsupported(body, create=create, assets_dir=assets_dir)
    if create and not body.get("assets_dir"):
        raise invalid("assets_dir is required: a workspace folder for the monitor's assets.")
    if create and not isinstance(body["assets_dir"], str):
        raise invalid("assets_dir must be a string: a workspace folder.")
    columns = _columns(table, home)
    schema = body.get("output_schema_name")
    if not schema:
        raise invalid("output_schema_name is required: the catalog.schema for the metric tables.")
    try:
        schema = ".".join(check_schema_name(schema))
    except KitError as exc:
        raise invalid(str(exc)) from None
    kind, profile = check_profile(table, body, columns)
    baseline = body.get("baseline_table_name")
    if baseline:
        baseline = table_name(baseline)
        from recipes import tables

        if not tables.exists(baseline, home=home):
            raise invalid(f"baseline_table_name '{baseline}' does not exist: write it first.")
    slicing = check_slicing_exprs(body.get("slicing_exprs"), table, columns)
    metrics = check_custom_metrics(body.get("custom_metrics"), table, columns, body)
    schedule = body.get("schedule")
    short = table.split(".")[-1]
    return {
        "table_name": table,
        "output_schema_name": schema,
        "assets_dir": body["assets_dir"] if create else assets_dir,
        kind: profile,
        "baseline_table_name": baseline or None,
        "slicing_exprs": slicing,
        "custom_metrics": metrics,
        "schedule": check_schedule(schedule) if schedule is not None else None,
        "data_classification_config": classification(body),
        "profile_metrics_table_name": f"{schema}.{short}_profile_metrics",
        "drift_metrics_table_name": f"{schema}.{short}_drift_metrics",
        "status": "MONITOR_STATUS_ACTIVE",
    }
