"""The monitor's output tables, next to the table it watches (Databricks' naming).

``<table>_profile_metrics`` and ``<table>_drift_metrics`` are Delta tables written through
Spark (:func:`recipes.tables.write_table`) from the metric rows with an explicit Spark schema
(:mod:`.schema`), so a column that happens to be all NULL (``window_cmp`` with no CONSECUTIVE
rows, a custom metric) keeps its type. Windows are UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import pandas as pd

from recipes import tables
from recipes.monitoring import schema

_KNOWN = dict(
    (
        *schema.PROFILE_KEYS,
        *schema.PROFILE_STATS,
        *schema.CLASSIFICATION,
        *schema.REGRESSION,
        *schema.KIT_PROFILE,
        *schema.DRIFT_KEYS,
        *schema.DRIFT_STATS,
        *schema.KIT_DRIFT,
    )
)


@dataclass(frozen=True)
class MetricTables:
    """The output tables' full names, and where a baseline for ``table`` goes."""

    profile: str
    drift: str
    baseline: str


def metric_table_names(table: str) -> MetricTables:
    """``<table>_profile_metrics``, ``<table>_drift_metrics`` and ``<table>_baseline``."""
    full = ".".join(tables.check_table_name(table))
    return MetricTables(f"{full}_profile_metrics", f"{full}_drift_metrics", f"{full}_baseline")


def fields_of(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """``(column, DDL type)`` of a metrics frame: Databricks' columns by name, any other
    (the model column) a string."""
    return [(c, _KNOWN.get(c, "string")) for c in frame.columns]


def _plain(value: Any, ddl: str = "") -> Any:
    """A frame's value as Spark takes it: no NaN, numpy scalars as Python, times in UTC,
    whole numbers as ``int`` in ``bigint``/``int`` columns."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=UTC)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    if ddl in ("bigint", "int") and isinstance(value, float):
        return int(value)
    return value


def spark_rows(frame: pd.DataFrame, fields: Sequence[tuple[str, str]], spark):
    """``frame`` as a Spark DataFrame of ``fields`` (name, DDL type)."""
    records = [{n: _plain(r.get(n), t) for n, t in fields} for r in frame.to_dict("records")]
    return spark.createDataFrame(records, schema=schema.struct_type(fields))


def write_metrics(
    table: str,
    profile: pd.DataFrame,
    drift: pd.DataFrame,
    *,
    spark: Any = None,
    profile_fields: Sequence[tuple[str, str]] | None = None,
    drift_fields: Sequence[tuple[str, str]] | None = None,
) -> MetricTables:
    """Overwrite both metric tables of ``table`` with these rows, through ``spark`` (None:
    :func:`recipes.spark.get_spark`), one Delta commit each; returns their names.

    Args:
        profile_fields, drift_fields: the tables' ``(column, DDL type)`` (a
            :class:`~recipes.monitoring.compute.Metrics`' own); default the frames' columns,
            typed by name (custom metrics then need theirs).
    """
    from recipes.spark import get_spark

    session = spark if spark is not None else get_spark()
    names = metric_table_names(table)
    tables.write_table(
        names.profile,
        spark_rows(profile, profile_fields or fields_of(profile), session),
        mode="overwrite",
        spark=session,
    )
    tables.write_table(
        names.drift,
        spark_rows(drift, drift_fields or fields_of(drift), session),
        mode="overwrite",
        spark=session,
    )
    return names
