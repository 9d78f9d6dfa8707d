"""Profile metrics: per time window, per model version (and all versions), per column.

One Spark aggregation (grouping sets: window and model version, and window alone) computes every column's
count, nulls, mean, standard deviation, min, max, approximate quantiles and approximate
distinct count; only the aggregated rows (windows × versions) come back to the driver,
where they are unpivoted to one row per column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from recipes.errors import ParameterError
from recipes.monitoring.windows import as_window, check_granularity, window_column, window_starts

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
DISTINCT_RSD = 0.02  # HyperLogLog++ relative standard deviation of distinct_count
QUANTILE_ACCURACY = 1000  # percentile_approx: rank error at most 1/1000 of the rows
ALL = ":all"  # model_id of the rows over every model version
NUMERIC = ("double", "float", "int", "bigint", "smallint", "tinyint", "decimal")
PROFILE_COLUMNS = ("window", "granularity", "model_id", "log_type", "column_name", "data_type",
                   "count", "num_nulls", "percent_null", "avg", "stddev", "min", "max",
                   "median", "quantiles", "distinct_count")  # fmt: skip


def sort_metrics(frame: pd.DataFrame, *then: str) -> pd.DataFrame:
    """Metric rows in reading order: by window start (when there is a ``window``), then
    :data:`ALL` before the versions, then ``model_id`` and the columns ``then``."""
    keys = {"_o": window_starts(frame)} if "window" in frame else {}
    ranked = frame.assign(**keys, _m=frame["model_id"] != ALL)
    ranked = ranked.sort_values([*keys, "_m", "model_id", *then], kind="stable")
    return ranked.drop(columns=[*keys, "_m"]).reset_index(drop=True)


def is_numeric(data_type: str) -> bool:
    return data_type.split("(")[0] in NUMERIC


def monitored_columns(df, columns: Sequence[str] | None = None,
                      required: Sequence[str] = ()) -> dict[str, str]:  # fmt: skip
    """``{column: spark type}`` to monitor: ``columns``, or every feature and ``prediction``.

    Raises:
        ParameterError: a column, or one of ``required`` (time, model id), is missing.
    """
    from recipes.monitoring.unpack import CONTEXT

    types = dict(df.dtypes)
    absent = [c for c in required if c not in types]
    if absent:
        raise ParameterError(
            f"The data lacks {absent}: pass rows from unpack_inference_table, or name the "
            f"columns with timestamp_col= / model_id_col= (it has {', '.join(types)})."
        )
    skip = {*CONTEXT, *required}
    names = list(columns) if columns is not None else [c for c in types if c not in skip]
    missing = [c for c in names if c not in types]
    if missing:
        raise ParameterError(f"Column(s) {missing} are not in the data: it has {', '.join(types)}.")
    return {c: types[c] for c in names}


def _aggregates(name: str, data_type: str, i: int) -> list:
    from pyspark.sql import functions as F

    c = F.col(f"`{name}`")
    if is_numeric(data_type):  # NaN counts as missing, as in pandas
        c = F.nanvl(c.cast("double"), F.lit(None).cast("double"))
    out = [
        F.count(c).alias(f"c{i}_count"),
        F.sum(c.isNull().cast("long")).alias(f"c{i}_num_nulls"),
        F.approx_count_distinct(c, DISTINCT_RSD).alias(f"c{i}_distinct_count"),
    ]
    if is_numeric(data_type):
        x = c  # already double
        out += [
            F.avg(x).alias(f"c{i}_avg"),
            F.stddev_samp(x).alias(f"c{i}_stddev"),
            F.min(x).alias(f"c{i}_min"),
            F.max(x).alias(f"c{i}_max"),
            F.percentile_approx(x, list(QUANTILES), QUANTILE_ACCURACY).alias(f"c{i}_quantiles"),
        ]
    return out


def profile_metrics(
    df,
    granularity: str = "1 day",
    *,
    columns: Sequence[str] | None = None,
    model_id_col: str = "model_version",
    timestamp_col: str = "timestamp",
    log_type: str = "INPUT",
) -> pd.DataFrame:
    """Profile ``df`` (e.g. from :func:`unpack_inference_table`) per window and model id.

    Args:
        df: a Spark DataFrame with ``timestamp_col``, ``model_id_col`` and the columns.
        granularity: the window length (``"1 hour"``, ``"1 day"``…).
        columns: the columns to profile; default every non-context column.
        model_id_col: the column to slice by; rows with ``model_id`` :data:`ALL` cover all.
        log_type: ``INPUT`` for live data, ``BASELINE`` for the reference.

    Returns:
        One row per window, model id and column, with :data:`PROFILE_COLUMNS`; ``window`` is
        ``{"start", "end"}``; numeric statistics are null for non-numeric columns.
    """
    from pyspark.sql import functions as F

    granularity = check_granularity(granularity)
    cols = monitored_columns(df, columns, required=(timestamp_col, model_id_col))
    aggs = [F.count(F.lit(1)).alias("rows")]
    for i, (name, data_type) in enumerate(cols.items()):
        aggs += _aggregates(name, data_type, i)
    grouped = (
        df.select(
            window_column(granularity, timestamp_col),
            F.col(model_id_col).cast("string").alias("model_id"),
            *cols,
        )  # fmt: skip
        .groupingSets([["window", "model_id"], ["window"]], "window", "model_id")
        .agg(*aggs, F.grouping("model_id").alias("_gm"))
    )
    wide = grouped.toPandas()
    return _unpivot(wide, cols, granularity, log_type)


def _unpivot(
    wide: pd.DataFrame, cols: dict[str, str], granularity: str, log_type: str
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for rec in wide.to_dict("records"):
        model_id = ALL if rec["_gm"] else rec["model_id"]
        window = as_window(rec["window"])
        for i, (name, data_type) in enumerate(cols.items()):
            q = rec.get(f"c{i}_quantiles")
            q = [float(v) for v in q] if q is not None else None
            total = int(rec["rows"])
            nulls = int(rec[f"c{i}_num_nulls"] or 0)
            rows.append({
                "window": window, "granularity": granularity, "model_id": model_id,
                "log_type": log_type, "column_name": name, "data_type": data_type,
                "count": int(rec[f"c{i}_count"]), "num_nulls": nulls,
                "percent_null": 100.0 * nulls / total if total else None,
                "avg": rec.get(f"c{i}_avg"), "stddev": rec.get(f"c{i}_stddev"),
                "min": rec.get(f"c{i}_min"), "max": rec.get(f"c{i}_max"),
                "median": q[QUANTILES.index(0.5)] if q else None, "quantiles": q,
                "distinct_count": int(rec[f"c{i}_distinct_count"]),
            })  # fmt: skip
    return sort_metrics(pd.DataFrame(rows, columns=list(PROFILE_COLUMNS)), "column_name")
