"""Compact, rounded views of the metrics tables for a notebook (all versions, by window)."""

from __future__ import annotations

import pandas as pd

from recipes.monitoring.profile import ALL
from recipes.monitoring.windows import window_starts


def summarize_profile(profile: pd.DataFrame, model_id: str = ALL) -> pd.DataFrame:
    """Per window and column: count, nulls, mean, stddev, min, median, max, distinct."""
    rows = profile[profile["model_id"] == model_id]
    out = rows[["column_name", "count", "num_nulls", "avg", "stddev", "min", "median", "max",
                "distinct_count"]].round(3)  # fmt: skip
    return out.assign(window_start=window_starts(rows)).set_index(["window_start", "column_name"])


def _part(value, key: str):
    return None if not isinstance(value, dict) else value.get(key)


def summarize_drift(drift: pd.DataFrame, model_id: str = ALL) -> pd.DataFrame:
    """Per window, column and drift type: the test statistics and distances, rounded."""
    rows = drift[drift["model_id"] == model_id]
    out = pd.DataFrame({
        "window_start": window_starts(rows), "column_name": rows["column_name"],
        "drift_type": rows["drift_type"],
        "ks_statistic": rows["ks_test"].map(lambda v: _part(v, "statistic")),
        "ks_pvalue": rows["ks_test"].map(lambda v: _part(v, "pvalue")),
        "chi2_pvalue": rows["chi_squared_test"].map(lambda v: _part(v, "pvalue")),
        "psi": rows["population_stability_index"], "js_distance": rows["js_distance"],
        "wasserstein": rows["wasserstein_distance"],
    })  # fmt: skip
    return out.set_index(["window_start", "column_name", "drift_type"]).astype(float).round(4)
