"""Profile metrics: per window, model, slice and column, as Databricks' profile table has them.

:func:`column_aggregates` lists, for one Spark aggregation, every column's count, nulls, NaNs,
zeros, and mean, standard deviation, min, max and approximate quantiles (numbers) or length
statistics (strings); :func:`distinct_value` is a column's value as the exact distinct count,
an aggregation of its own, counts it. :func:`profile_rows` turns one aggregated row (a window,
model and slice) into one row per column plus the ``':table'`` row, with the percentages and
the frequent items (from the drift histograms) on the driver.

Conventions: ``count`` is the values that are neither NULL nor NaN, so ``count + num_nulls +
num_nan`` is the rows; the percentages are of the rows, but ``percent_distinct``, which is of
``count``; numeric statistics ignore NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from recipes.monitoring.schema import ALL, TABLE
from recipes.monitoring.windows import window_starts

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
QUANTILE_ACCURACY = 1000  # percentile_approx: rank error at most 1/1000 of the rows
FREQUENT_ITEMS = 100  # Databricks keeps the top 100
NUMERIC = ("double", "float", "int", "bigint", "smallint", "tinyint", "decimal")
_FLOATS = ("double", "float")


def is_numeric(data_type: str) -> bool:
    return data_type.split("(")[0] in NUMERIC


def is_categorical(data_type: str) -> bool:
    """Strings and booleans: their drift and frequent items are by value."""
    return data_type in ("string", "boolean")


def number_value(raw):
    """A numeric column as doubles, NaN as NULL: no value (no statistic, bin or category)."""
    from pyspark.sql import functions as F

    return F.nanvl(raw.cast("double"), F.lit(None).cast("double"))


def column_aggregates(name: str, data_type: str, i: int) -> list:
    """The Spark aggregates of column ``name``, aliased ``c<i>_<statistic>``."""
    from pyspark.sql import functions as F

    raw = F.col(f"`{name}`")
    c = raw
    nan = F.lit(0).cast("long")
    if data_type in _FLOATS:
        nan = F.sum(F.isnan(raw).cast("long"))
    if is_numeric(data_type):  # NaN is no value: counted apart, ignored by the statistics
        c = number_value(raw)
    out = [
        F.count(c).alias(f"c{i}_count"),
        F.sum(raw.isNull().cast("long")).alias(f"c{i}_nulls"),
        nan.alias(f"c{i}_nan"),
    ]
    if is_numeric(data_type):
        out += [
            F.sum((c == 0).cast("long")).alias(f"c{i}_zeros"),
            F.avg(c).alias(f"c{i}_avg"),
            F.stddev_samp(c).alias(f"c{i}_stddev"),
            F.min(c).alias(f"c{i}_min"),
            F.max(c).alias(f"c{i}_max"),
            F.percentile_approx(c, list(QUANTILES), QUANTILE_ACCURACY).alias(f"c{i}_quantiles"),
        ]
    elif data_type == "string":
        length = F.length(raw).cast("double")
        out += [
            F.min(length).alias(f"c{i}_min_length"),
            F.max(length).alias(f"c{i}_max_length"),
            F.avg(length).alias(f"c{i}_avg_length"),
        ]
    return out


def distinct_value(name: str, data_type: str):
    """Column ``name``'s value as a string whose distinct values are the column's: numbers
    as doubles (NaN as NULL, ``-0.0`` as ``0.0``, as ``count(DISTINCT)`` counts them),
    timestamps as microseconds (no time zone folds two instants into one), binary as hex,
    nested values as JSON, others as Spark casts them.

    Every column's values, stacked into one string column beside the column's index, are
    counted by one ``count(DISTINCT)``: exact, and a fraction of the planning and codegen of
    one ``count(DISTINCT)`` per column, which Spark runs as an ``Expand`` of every row once
    per column."""
    from pyspark.sql import functions as F

    raw = F.col(f"`{name}`")
    base = data_type.split("(")[0].split("<")[0]
    if is_numeric(data_type):
        c = number_value(raw)
        return F.when(c == 0, F.lit(0.0)).otherwise(c).cast("string")
    if base == "timestamp":
        return F.unix_micros(raw).cast("string")
    if base == "binary":
        return F.hex(raw)
    if base in ("array", "struct", "map"):
        return F.to_json(raw)
    return raw.cast("string")


def _pct(part, whole) -> float | None:
    return None if part is None or not whole else 100.0 * float(part) / float(whole)


def _int(value) -> int | None:
    return None if value is None or (isinstance(value, float) and value != value) else int(value)


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if value != value else value


def column_row(rec: Mapping[str, Any], i: int, data_type: str) -> dict[str, Any]:
    """The statistics of column ``i`` from an aggregated record."""
    rows = int(rec["rows"])
    count, nulls, nan = _int(rec[f"c{i}_count"]), _int(rec[f"c{i}_nulls"]), _int(rec[f"c{i}_nan"])
    distinct = _int(rec[f"c{i}_distinct"])
    q = rec.get(f"c{i}_quantiles")
    q = [float(v) for v in q] if q is not None else None
    zeros = _int(rec.get(f"c{i}_zeros"))
    return {
        "count": count,
        "data_type": data_type,
        "num_nulls": nulls,
        "avg": _num(rec.get(f"c{i}_avg")),
        "quantiles": q,
        "min": _num(rec.get(f"c{i}_min")),
        "max": _num(rec.get(f"c{i}_max")),
        "stddev": _num(rec.get(f"c{i}_stddev")),
        "num_zeros": zeros,
        "num_nan": nan if is_numeric(data_type) else None,
        "min_length": _num(rec.get(f"c{i}_min_length")),
        "max_length": _num(rec.get(f"c{i}_max_length")),
        "avg_length": _num(rec.get(f"c{i}_avg_length")),
        "median": q[QUANTILES.index(0.5)] if q else None,
        "distinct_count": distinct,
        "percent_nan": _pct(nan, rows) if is_numeric(data_type) else None,
        "percent_null": _pct(nulls, rows),
        "percent_zeros": _pct(zeros, rows),
        "percent_distinct": _pct(distinct, count),
    }


def frequent_items(hist: pd.DataFrame | None) -> list[dict] | None:
    """The top :data:`FREQUENT_ITEMS` ``{item, count}`` of a categorical histogram (most
    frequent first, ties by item)."""
    if hist is None or hist.empty:
        return None
    counts = hist["count"].groupby(hist.index).sum()
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:FREQUENT_ITEMS]
    return [{"item": str(k), "count": int(v)} for k, v in ranked]


def table_row(rec: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    """The ``':table'`` row's own statistics: the rows, and the columns with a value."""
    present = [
        c
        for i, c in enumerate(columns)
        if (_int(rec[f"c{i}_count"]) or 0) + (_int(rec[f"c{i}_nan"]) or 0) > 0
    ]
    return {"count": int(rec["rows"]), "non_null_columns": present}


def sort_metrics(frame: pd.DataFrame, model_col: str | None, *then: str) -> pd.DataFrame:
    """Metric rows in reading order: log type, granularity, window start, :data:`ALL` before
    the models, the whole table before the slices, ``':table'`` before the columns."""
    if frame.empty:
        return frame.reset_index(drop=True)
    keys = {"_o": window_starts(frame)}
    order = []
    if "log_type" in frame:
        keys["_l"] = frame["log_type"] != "INPUT"
        order.append("_l")
    keys["_g"] = frame["granularity"].fillna("")
    order += ["_g", "_o"]
    if model_col:
        keys["_a"] = frame[model_col] != ALL
        keys["_m"] = frame[model_col].fillna("")
        order += ["_a", "_m"]
    keys["_s"] = frame["slice_key"].notna()
    keys["_k"] = frame["slice_key"].fillna("")
    keys["_v"] = frame["slice_value"].fillna("")
    keys["_t"] = frame["column_name"] != TABLE
    order += ["_s", "_k", "_v", "_t", *then]
    ranked = frame.assign(**keys).sort_values(order, kind="stable")
    return ranked.drop(columns=list(keys)).reset_index(drop=True)
