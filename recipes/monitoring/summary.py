"""Compact views of the metric tables for a notebook (whole table, by window), and model
quality per model from the ``':table'`` rows."""

from __future__ import annotations

import math

import pandas as pd

from recipes.errors import ParameterError
from recipes.monitoring.quality import classification_scores
from recipes.monitoring.rows import model_column, overall
from recipes.monitoring.schema import ALL, TABLE
from recipes.monitoring.windows import window_starts


def summarize_profile(profile: pd.DataFrame, model_id: str = ALL) -> pd.DataFrame:
    """Per window and column: count, nulls, mean, stddev, min, median, max, distinct."""
    rows = overall(profile, model_id)
    out = (
        rows[
            [
                "column_name",
                "count",
                "num_nulls",
                "avg",
                "stddev",
                "min",
                "median",
                "max",
                "distinct_count",
            ]
        ]
        .astype({"avg": float, "stddev": float, "min": float, "median": float, "max": float})
        .round(3)
    )
    return out.assign(window_start=window_starts(rows)).set_index(["window_start", "column_name"])


def _part(value, key: str):
    return None if not isinstance(value, dict) else value.get(key)


def summarize_drift(drift: pd.DataFrame, model_id: str = ALL) -> pd.DataFrame:
    """Per window, column and drift type: the test statistics and distances, rounded."""
    rows = overall(drift, model_id)
    out = pd.DataFrame(
        {
            "window_start": window_starts(rows),
            "column_name": rows["column_name"],
            "drift_type": rows["drift_type"],
            "ks_statistic": rows["ks_test"].map(lambda v: _part(v, "statistic")),
            "ks_pvalue": rows["ks_test"].map(lambda v: _part(v, "pvalue")),
            "chi2_pvalue": rows["chi_squared_test"].map(lambda v: _part(v, "pvalue")),
            "psi": rows["population_stability_index"],
            "js_distance": rows["js_distance"],
            "wasserstein": rows["wasserstein_distance"],
        }
    )
    return out.set_index(["window_start", "column_name", "drift_type"]).astype(float).round(4)


def _classification(matrix: dict[tuple[str, str], int]) -> dict:
    scores = classification_scores(matrix)
    return {
        "labeled_rows": sum(matrix.values()),
        "accuracy": scores["accuracy_score"],
        "precision": scores["precision"]["macro"],
        "recall": scores["recall"]["macro"],
        "f1": scores["f1_score"]["macro"],
    }


def quality_by_model(
    profile: pd.DataFrame,
    *,
    model_id_col: str | None = None,
    label_col: str | None = None,
    granularity: str | None = None,
) -> pd.DataFrame:
    """Model quality per model over every window, from the profile table's ``':table'`` rows
    (whole table, INPUT), in the frame :func:`~recipes.monitoring.verdict.verdict` and
    :func:`~recipes.monitoring.plots.plot_quality` read: ``model_id``, ``labeled_rows`` and
    the metrics.

    A classifier's confusion matrices are summed over the windows, so ``accuracy`` (and the
    macro ``precision``, ``recall``, ``f1``) are exact over all its labeled rows; a
    regressor's ``rmse`` and ``mae`` are its windows' weighted by their labeled rows (the
    ``label_col`` row's ``count``).

    Args:
        granularity: the windows to read (default the first the table has): each granularity
            covers the same rows.

    Raises:
        ParameterError: no quality in the table, or a regression without ``label_col``.
    """
    model = model_column(profile, model_id_col)
    rows = profile[profile["log_type"] == "INPUT"] if "log_type" in profile else profile
    rows = rows[rows["slice_key"].isna()]
    if granularity is None and len(rows):
        granularity = (
            rows["granularity"].dropna().iloc[0] if rows["granularity"].notna().any() else None
        )
    if granularity is not None:
        rows = rows[rows["granularity"] == granularity]
    table = rows[rows["column_name"] == TABLE]
    out = []
    if "confusion_matrix" in table:
        for m, part in table.groupby(model, sort=True):
            matrix: dict[tuple[str, str], int] = {}
            for cells in part["confusion_matrix"]:  # a list, or an array read back
                for c in () if cells is None or isinstance(cells, float) else cells:
                    k = (c["label"], c["prediction"])
                    matrix[k] = matrix.get(k, 0) + int(c["count"])
            if matrix:
                out.append({"model_id": m, **_classification(matrix)})
    elif "mean_squared_error" in table:
        if label_col is None:
            raise ParameterError(
                "quality_by_model of a regression needs label_col= (the "
                "label's row counts the labeled rows)."
            )
        labels = rows[rows["column_name"] == label_col]
        for m, part in table.groupby(model, sort=True):
            lab = labels[labels[model] == m]
            n = dict(zip(window_starts(lab), lab["count"], strict=True))
            w = part.assign(_n=[n.get(s, 0) for s in window_starts(part)])
            w = w[w["mean_squared_error"].notna() & (w["_n"] > 0)]
            total = int(w["_n"].sum())
            if total:
                mse = float((w["mean_squared_error"] * w["_n"]).sum() / total)
                mae = float((w["mean_average_error"] * w["_n"]).sum() / total)
                out.append(
                    {"model_id": m, "labeled_rows": total, "rmse": math.sqrt(mse), "mae": mae}
                )
    else:
        raise ParameterError(
            "The profile table has no model quality: create the monitor with "
            "inference_log(label_col=...)."
        )
    frame = pd.DataFrame(out)
    if frame.empty:
        return frame
    ranked = frame.assign(_a=frame["model_id"] != ALL).sort_values(
        ["_a", "model_id"], kind="stable"
    )
    return ranked.drop(columns="_a").reset_index(drop=True)
