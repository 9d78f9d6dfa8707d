"""Drift metrics: each window against the one before it (CONSECUTIVE) and the baseline.

One Spark aggregation turns the rows into histograms: every row is exploded into one entry per
column, a number put in its log-spaced bin (:mod:`.bins`), a category kept as itself, and
``groupBy(keys, column, bin)`` counts them (with each bin's sum, for its mean). The keys are
the window, model and slice; the baseline gets the same without windows. Only the histograms
reach the driver; the all-models histogram is their sum; :mod:`.stats` computes the
statistics. The deltas (``count_delta``, ``avg_delta``, ``percent_*_delta``,
``non_null_columns_delta``) come from the two sides' profile rows.

CONSECUTIVE compares a window with the window just before it (its ``end`` is this one's
``start``), as Databricks computes it only when a consecutive window exists; BASELINE compares
every window with the whole baseline table of the same slice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from recipes.monitoring import stats
from recipes.monitoring.bins import spark_bin
from recipes.monitoring.profile import is_numeric, number_value
from recipes.monitoring.schema import TABLE

DRIFT_TYPES = ("CONSECUTIVE", "BASELINE")
_NO_STATS = {
    "ks_test": None,
    "chi_squared_test": None,
    "population_stability_index": None,
    "js_distance": None,
    "wasserstein_distance": None,
    "tv_distance": None,
    "l_infinity_distance": None,
}


def histograms(df, kinds: Mapping[str, str], keys: Sequence[str]) -> pd.DataFrame:
    """``keys`` + ``column_name``, ``bin`` (numeric) or ``category``, ``count``, ``sum``: one
    Spark job. ``kinds`` maps each column to ``numeric`` or ``categorical``; a number used as
    a category reads the same from a bigint and a double column (``1.0``)."""
    from pyspark.sql import functions as F

    types = dict(df.dtypes)
    entries = []
    for name, kind in kinds.items():
        c = F.col(f"`{name}`")
        if is_numeric(types[name]):  # NaN is missing: no bin, no category
            c = number_value(c)
        numeric = kind == "numeric"
        label = c.cast("double").cast("string") if is_numeric(types[name]) else c.cast("string")
        entries.append(
            F.struct(
                F.lit(name).alias("column_name"),
                (spark_bin(c) if numeric else F.lit(None).cast("long")).alias("bin"),
                (F.lit(None).cast("string") if numeric else label).alias("category"),
                (c.cast("double") if numeric else F.lit(None).cast("double")).alias("value"),
            )
        )
    if not entries:
        return pd.DataFrame(columns=[*keys, "column_name", "bin", "category", "count", "sum"])
    long = df.select(*[F.col(k) for k in keys], F.inline(F.array(*entries)))
    long = long.filter(F.col("bin").isNotNull() | F.col("category").isNotNull())
    out = long.groupBy(*keys, "column_name", "bin", "category").agg(
        F.count(F.lit(1)).alias("count"), F.sum("value").alias("sum")
    )
    return out.toPandas()


def as_hist(frame: pd.DataFrame, numeric: bool) -> pd.DataFrame:
    """One histogram from its rows: indexed by bin (numeric: ``count``, ``sum``) or category
    (``count``), parts summed (so the models' rows make the all-models histogram)."""
    if numeric:
        h = frame.groupby("bin")[["count", "sum"]].sum()
        h.index = h.index.astype("int64")
        return h
    return frame.groupby("category")[["count"]].sum().rename_axis("bin")


def compare(h: pd.DataFrame | None, ref: pd.DataFrame | None, numeric: bool) -> dict[str, Any]:
    """The distribution statistics of ``h`` against ``ref`` (all None if either is empty)."""
    if h is None or ref is None or h.empty or ref.empty:
        return dict(_NO_STATS)
    return stats.compare_numeric(h, ref) if numeric else stats.compare_categorical(h, ref)


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a profile row (window, metrics) and its histogram (None for
    ``':table'`` and columns without a distribution)."""

    profile: Mapping[str, Any]
    hist: pd.DataFrame | None = None


def _delta(a: Mapping, b: Mapping, key: str):
    x, y = a.get(key), b.get(key)
    return None if x is None or y is None else x - y


def pair_row(cur: Side, ref: Side, drift_type: str, numeric: bool) -> dict[str, Any]:
    """The drift row of ``cur`` against ``ref``: statistics, deltas and both counts."""
    a, b = cur.profile, ref.profile
    row = {
        "window": a["window"],
        "window_cmp": b["window"] if drift_type == "CONSECUTIVE" else None,
        "drift_type": drift_type,
        "data_type": a.get("data_type"),
        "count_delta": _delta(a, b, "count"),
        "avg_delta": _delta(a, b, "avg"),
        "percent_null_delta": _delta(a, b, "percent_null"),
        "percent_zeros_delta": _delta(a, b, "percent_zeros"),
        "percent_distinct_delta": _delta(a, b, "percent_distinct"),
        "non_null_columns_delta": None,
        "count": a.get("count"),
        "count_cmp": b.get("count"),
        **(compare(cur.hist, ref.hist, numeric) if a["column_name"] != TABLE else _NO_STATS),
    }
    if a["column_name"] == TABLE:
        now, before = set(a.get("non_null_columns") or ()), set(b.get("non_null_columns") or ())
        row["non_null_columns_delta"] = {"added": len(now - before), "missing": len(before - now)}
    return row


def drift_rows(
    current: Mapping[tuple, Side],
    baseline: Mapping[tuple, Side],
    numeric: Mapping[str, bool],
    drift_types: Sequence[str] = DRIFT_TYPES,
) -> list[tuple[tuple, dict, Side, Side]]:
    """The drift rows of every series.

    Args:
        current: ``{(granularity, model, slice_key, slice_value, column, window start): Side}``.
        baseline: ``{(slice_key, slice_value, column): Side}`` (all models).
        numeric: per column, whether its distribution is numeric.

    Returns:
        ``(series key, row, side, compared side)``, the key being ``(granularity, model, slice_key,
        slice_value, column)``; a window with no window just before it has no CONSECUTIVE
        row, and a slice or column the baseline lacks no BASELINE row.
    """
    series: dict[tuple, list[tuple[Any, Side]]] = {}
    for key, side in current.items():
        series.setdefault(key[:5], []).append((key[5], side))
    out = []
    for key, sides in series.items():
        sides.sort(key=lambda s: s[0])
        column = key[4]
        ref_base = baseline.get((key[2], key[3], column))
        for i, (_, side) in enumerate(sides):
            if "CONSECUTIVE" in drift_types and i > 0:
                prev = sides[i - 1][1]
                if prev.profile["window"]["end"] == side.profile["window"]["start"]:
                    row = pair_row(side, prev, "CONSECUTIVE", numeric.get(column, False))
                    out.append((key, row, side, prev))
            if "BASELINE" in drift_types and ref_base is not None:
                row = pair_row(side, ref_base, "BASELINE", numeric.get(column, False))
                out.append((key, row, side, ref_base))
    return out
