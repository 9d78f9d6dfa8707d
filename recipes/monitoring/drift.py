"""Drift metrics: each window against the previous one (CONSECUTIVE) and the baseline.

One Spark aggregation turns the log into histograms: every row is exploded into one entry
per monitored column, numeric values put in their log-spaced bin (:mod:`.bins`), and
``groupBy(window, model_id, column, bin)`` counts them (with each bin's sum, for its mean).
The baseline gets the same treatment without windows. Only those histograms reach the
driver; the all-versions histogram is their sum; :mod:`.stats` computes the statistics.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from recipes.errors import ParameterError
from recipes.monitoring import stats
from recipes.monitoring.bins import spark_bin
from recipes.monitoring.profile import ALL, is_numeric, monitored_columns, sort_metrics
from recipes.monitoring.windows import as_window, check_granularity, window_column, window_starts

DRIFT_TYPES = ("CONSECUTIVE", "BASELINE")
DRIFT_COLUMNS = ("window", "window_cmp", "granularity", "model_id", "column_name", "data_type",
                 "drift_type", "count", "count_cmp", "count_delta", "avg_delta", "ks_test",
                 "chi_squared_test", "population_stability_index", "js_distance",
                 "wasserstein_distance", "tv_distance", "l_infinity_distance")  # fmt: skip


def _histograms(df, cols: dict[str, str], keys: dict) -> pd.DataFrame:
    """``keys`` + column_name, bin (numeric) or category, count, sum: one Spark job."""
    from pyspark.sql import functions as F

    types = dict(df.dtypes)
    entries = []
    for name, kind in cols.items():
        c = F.col(f"`{name}`")
        numeric = is_numeric(kind)
        if is_numeric(types[name]):  # NaN is missing: no bin, no category
            c = F.nanvl(c.cast("double"), F.lit(None).cast("double"))
        # a number used as a category reads the same from a bigint and a double column
        label = c.cast("double").cast("string") if is_numeric(types[name]) else c.cast("string")
        entries.append(F.struct(
            F.lit(name).alias("column_name"),
            (spark_bin(c) if numeric else F.lit(None).cast("long")).alias("bin"),
            (F.lit(None).cast("string") if numeric else label).alias("category"),
            (c.cast("double") if numeric else F.lit(None).cast("double")).alias("value"),
        ))  # fmt: skip
    long = df.select(*[expr.alias(k) for k, expr in keys.items()],
                     F.inline(F.array(*entries)))  # fmt: skip
    long = long.filter(F.col("bin").isNotNull() | F.col("category").isNotNull())
    out = long.groupBy(*keys, "column_name", "bin", "category").agg(
        F.count(F.lit(1)).alias("count"), F.sum("value").alias("sum")
    )
    return out.toPandas()


def _hist(frame: pd.DataFrame, numeric: bool) -> pd.DataFrame:
    if numeric:
        h = frame.groupby("bin")[["count", "sum"]].sum()
        h.index = h.index.astype("int64")
        return h
    return frame.groupby("category")[["count"]].sum().rename_axis("bin")


def drift_metrics(
    current,
    baseline=None,
    granularity: str = "1 day",
    *,
    columns: Sequence[str] | None = None,
    model_id_col: str = "model_version",
    timestamp_col: str = "timestamp",
    drift_types: Sequence[str] = DRIFT_TYPES,
    categorical: Sequence[str] = (),
) -> pd.DataFrame:
    """Drift of each column per window and model id, CONSECUTIVE and/or BASELINE.

    Args:
        current: a Spark DataFrame of scored records (see :func:`unpack_inference_table`).
        baseline: a Spark DataFrame of the reference data (e.g. the training set), with the
            same columns; None computes CONSECUTIVE drift only.
        granularity: the window length.
        columns: the columns to compare; default every non-context column of ``current``
            (a column the baseline lacks gets CONSECUTIVE drift only).
        categorical: numeric columns to treat as categories (e.g. a class ``prediction``);
            string and boolean columns always are.

    Returns:
        One row per window, model id (:data:`ALL` for every version), column and drift
        type, with :data:`DRIFT_COLUMNS`. Numeric columns get ``ks_test`` (statistic,
        pvalue), ``population_stability_index`` and ``js_distance`` (on the comparison
        data's deciles) and ``wasserstein_distance``; categorical ones ``chi_squared_test``,
        ``js_distance``, ``tv_distance`` and ``l_infinity_distance``. A window with no
        earlier window has no CONSECUTIVE row.
    """
    from pyspark.sql import functions as F

    granularity = check_granularity(granularity)
    unknown = set(drift_types) - set(DRIFT_TYPES)
    if unknown or not drift_types:
        raise ParameterError(f"drift_types must be among {DRIFT_TYPES}, got {list(drift_types)}.")
    cols = monitored_columns(current, columns, required=(timestamp_col, model_id_col))
    for c in categorical:
        if c not in cols:
            raise ParameterError(
                f"categorical column {c!r} is not monitored: use one of {list(cols)}."
            )
    kinds = {c: ("string" if c in categorical else t) for c, t in cols.items()}
    keys = {"window": window_column(granularity, timestamp_col),
            "model_id": F.col(model_id_col).cast("string")}  # fmt: skip
    cur = _histograms(current, kinds, keys)
    cur["start"] = window_starts(cur)
    base = None
    if baseline is not None and "BASELINE" in drift_types:
        shared = {c: k for c, k in kinds.items() if c in baseline.columns}
        base = _histograms(baseline, shared, {}) if shared else None
    return _compare(cur, base, kinds, cols, granularity, drift_types)


def _compare(cur: pd.DataFrame, base: pd.DataFrame | None, kinds: dict[str, str],
             types: dict[str, str], granularity: str,
             drift_types: Sequence[str]) -> pd.DataFrame:  # fmt: skip
    all_versions = cur.assign(model_id=ALL)
    frames = pd.concat([all_versions, cur]) if cur["model_id"].nunique() > 0 else all_versions
    rows = []
    windows = {s: w for s, w in zip(cur["start"], cur["window"], strict=True)}
    for (model_id, column), part in frames.groupby(
        ["model_id", "column_name"], sort=True, dropna=False
    ):
        numeric = is_numeric(kinds[column])
        per_window = {s: _hist(g, numeric) for s, g in part.groupby("start", sort=True)}
        starts = sorted(per_window)
        ref_base = None
        if base is not None and column in set(base["column_name"]):
            ref_base = _hist(base[base["column_name"] == column], numeric)
        for i, start in enumerate(starts):
            h = per_window[start]
            pairs = []
            if "CONSECUTIVE" in drift_types and i > 0:
                prev = starts[i - 1]
                pairs.append(("CONSECUTIVE", per_window[prev], windows[prev]))
            if "BASELINE" in drift_types and ref_base is not None and len(ref_base):
                pairs.append(("BASELINE", ref_base, None))
            for drift_type, ref, window_cmp in pairs:
                rows.append(_row(h, ref, numeric, drift_type, window_cmp, windows[start],
                                 granularity, model_id, column, types[column]))  # fmt: skip
    frame = pd.DataFrame(rows, columns=list(DRIFT_COLUMNS))
    if frame.empty:
        return frame
    return sort_metrics(frame, "column_name", "drift_type")


def _row(h, ref, numeric, drift_type, window_cmp, window, granularity, model_id, column, data_type):
    found = stats.compare_numeric(h, ref) if numeric else stats.compare_categorical(h, ref)
    n, m = int(h["count"].sum()), int(ref["count"].sum())
    avg_delta = (h["sum"].sum() / n - ref["sum"].sum() / m) if numeric else None
    return {"window": as_window(window), "window_cmp": as_window(window_cmp),
            "granularity": granularity, "model_id": model_id, "column_name": column,
            "data_type": data_type, "drift_type": drift_type, "count": n, "count_cmp": m,
            "count_delta": n - m, "avg_delta": None if avg_delta is None else float(avg_delta),
            **found}  # fmt: skip
