"""The monitor's output tables, next to the table it watches (Databricks' naming).

``<table>_profile_metrics`` and ``<table>_drift_metrics`` are Delta tables written through
Spark (:func:`recipes.tables.write_table`), from explicit Arrow schemas, so a column that
happens to be all null (``window_cmp`` with no CONSECUTIVE rows) keeps its type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa

from recipes import tables
from recipes.monitoring.drift import DRIFT_COLUMNS
from recipes.monitoring.profile import PROFILE_COLUMNS

_WINDOW = pa.struct([("start", pa.timestamp("us")), ("end", pa.timestamp("us"))])
_TEST = pa.struct([("statistic", pa.float64()), ("pvalue", pa.float64())])
_STR, _INT, _DBL = pa.string(), pa.int64(), pa.float64()
_TYPES = {
    "window": _WINDOW, "window_cmp": _WINDOW, "quantiles": pa.list_(_DBL),
    "ks_test": _TEST, "chi_squared_test": _TEST,
    **dict.fromkeys(("granularity", "model_id", "log_type", "column_name", "data_type",
                     "drift_type"), _STR),
    **dict.fromkeys(("count", "num_nulls", "distinct_count", "count_cmp", "count_delta"), _INT),
}  # fmt: skip
PROFILE_SCHEMA = pa.schema([(c, _TYPES.get(c, _DBL)) for c in PROFILE_COLUMNS])
DRIFT_SCHEMA = pa.schema([(c, _TYPES.get(c, _DBL)) for c in DRIFT_COLUMNS])


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


def _arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    frame = frame[list(schema.names)].astype(object).where(frame.notna(), None)
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def write_metrics(table: str, profile: pd.DataFrame, drift: pd.DataFrame, *,
                  spark: Any = None) -> MetricTables:  # fmt: skip
    """Overwrite both metric tables of ``table`` with these frames, through ``spark`` (None:
    :func:`recipes.spark.get_spark`), one Delta commit each; returns their names."""
    names = metric_table_names(table)
    tables.write_table(names.profile, _arrow(profile, PROFILE_SCHEMA), mode="overwrite",
                       spark=spark)  # fmt: skip
    tables.write_table(names.drift, _arrow(drift, DRIFT_SCHEMA), mode="overwrite", spark=spark)
    return names
