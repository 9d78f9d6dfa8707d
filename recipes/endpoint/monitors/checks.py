"""Checks of a monitor's create/update body, as Unity Catalog makes them, and its JSON files."""

from __future__ import annotations

import json
import time
from pathlib import Path

from recipes.errors import KitError, invalid, not_found
from recipes.formats import check_granularity

PROBLEM_TYPES = ("PROBLEM_TYPE_CLASSIFICATION", "PROBLEM_TYPE_REGRESSION")


def now_ms() -> int:
    return int(time.time() * 1000)


def write(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=2))
    tmp.replace(path)


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


def check_monitor(table: str, body: dict, home: Path) -> dict:
    """The monitor document for ``table`` from a create/update body, checked as Databricks
    does: the tables exist and every named column is one of the table's."""
    from recipes.tables import check_schema_name

    columns = _columns(table, home)
    schema = body.get("output_schema_name")
    if not schema:
        raise invalid("output_schema_name is required: the catalog.schema for the metric tables.")
    try:
        schema = ".".join(check_schema_name(schema))
    except KitError as exc:
        raise invalid(str(exc)) from None
    if body.get("time_series") or body.get("snapshot"):
        raise invalid("Locally only inference_log monitors are computed: pass inference_log=.")
    log = body.get("inference_log")
    if not isinstance(log, dict):
        raise invalid("inference_log is required: MonitorInferenceLog(problem_type=..., ...).")
    if log.get("problem_type") not in PROBLEM_TYPES:
        raise invalid(f"inference_log.problem_type must be one of {', '.join(PROBLEM_TYPES)}.")
    for key in ("timestamp_col", "prediction_col", "model_id_col", "label_col",
                "prediction_proba_col"):  # fmt: skip
        name = log.get(key)
        required = key in ("timestamp_col", "prediction_col", "model_id_col")
        if (name is None and required) or (name is not None and name not in columns):
            raise invalid(
                f"inference_log.{key} {name!r} is not a column of {table} "
                f"(it has {', '.join(columns)})."
            )
    grains = log.get("granularities")
    if not isinstance(grains, list) or not grains:
        raise invalid("inference_log.granularities must be a non-empty list, e.g. ['1 day'].")
    try:
        log = {**log, "granularities": [check_granularity(g) for g in grains]}
    except KitError as exc:
        raise invalid(f"inference_log.granularities: {exc}") from None
    baseline = body.get("baseline_table_name")
    if baseline:
        baseline = table_name(baseline)
        from recipes import tables

        if not tables.exists(baseline, home=home):
            raise invalid(f"baseline_table_name '{baseline}' does not exist: write it first.")
    short = table.split(".")[-1]
    return {
        "table_name": table, "output_schema_name": schema, "inference_log": log,
        "assets_dir": body.get("assets_dir"), "baseline_table_name": baseline or None,
        "slicing_exprs": body.get("slicing_exprs"), "custom_metrics": body.get("custom_metrics"),
        "schedule": body.get("schedule"), "notifications": body.get("notifications"),
        "profile_metrics_table_name": f"{schema}.{short}_profile_metrics",
        "drift_metrics_table_name": f"{schema}.{short}_drift_metrics",
        "status": "MONITOR_STATUS_ACTIVE",
    }  # fmt: skip
