"""Model quality: the scores a monitor writes on its ``':table'`` rows, and late labels joined.

:func:`classification_scores` and :func:`regression_scores` turn the counts a refresh
aggregates in Spark (rows per label and prediction; sums of errors) into Databricks'
metrics: ``accuracy_score``, ``precision``/``recall``/``f1_score`` as
``{one_vs_all, macro, weighted}`` (sklearn's ``average=None``, ``"macro"``, ``"weighted"``,
over the labels and predictions seen), ``confusion_matrix``, and the regression errors.
Rows whose label (or prediction) is NULL are counted in the table but not scored.

Labels come late and separately (a table or DataFrame keyed by ``client_request_id`` or by
an id the requests carried, such as ``customer_id``). :func:`quality_metrics` joins them to
the scored records in Spark and aggregates there: a classifier's rows are counted per
(model version, label, prediction), a regressor's errors summed per version. The metrics
come from those counts on the driver, so champion and challenger compare on the same
footing without the joined rows ever leaving Spark.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from recipes.errors import ParameterError
from recipes.monitoring.bins import spark_bin
from recipes.monitoring.schema import ALL

PROBLEM_TYPES = ("classification", "regression")
JOIN_KEYS = ("client_request_id", "customer_id")


def _join_keys(df, labels, on: str | Sequence[str] | None) -> list[str]:
    if on is not None:
        keys = [on] if isinstance(on, str) else list(on)
        missing = [k for k in keys if k not in df.columns or k not in labels.columns]
        if missing:
            raise ParameterError(
                f"Join key(s) {missing} must be in both the scored rows and the labels."
            )
        return keys
    for key in JOIN_KEYS:
        if key in df.columns and key in labels.columns:
            return [key]
    raise ParameterError(
        f"The labels share no join key with the scored rows: give them one of "
        f"{', '.join(JOIN_KEYS)}, or pass on=<column in both>."
    )


def quality_metrics(
    df,
    labels,
    *,
    label_col: str = "churned",
    prediction_col: str = "prediction",
    problem_type: str = "classification",
    on: str | Sequence[str] | None = None,
    model_id_col: str = "model_version",
    pos_label: Any = 1,
    score_col: str | None = None,
    spark: Any = None,
) -> pd.DataFrame:
    """Quality per model version (and :data:`ALL`) on the rows that have a label.

    Args:
        df: scored records (Spark), e.g. from :func:`unpack_inference_table`.
        labels: a Spark or pandas DataFrame with the join key(s) and ``label_col``.
        problem_type: ``classification`` (accuracy, precision, recall, F1, ROC-AUC for
            ``pos_label``) or ``regression`` (RMSE, MAE).
        score_col: a column of scores (e.g. the probability of ``pos_label``) for ROC-AUC,
            counted per 0.5 %-wide bin (:mod:`.bins`; bins sort as scores do), so pairs in one
            bin count as ties; default the prediction itself (exact; a hard 0/1 prediction
            gives ``(TPR + TNR) / 2``).
        on: the join key(s); default ``client_request_id``, else ``customer_id``, the first
            that both sides have.

    Returns:
        One row per model id: ``model_id``, ``labeled_rows`` and the metrics; sorted with
        :data:`ALL` first.
    """
    from pyspark.sql import functions as F

    if problem_type not in PROBLEM_TYPES:
        raise ParameterError(f"problem_type must be one of {PROBLEM_TYPES}, got {problem_type!r}.")
    if isinstance(labels, pd.DataFrame):
        session = spark or df.sparkSession
        labels = session.createDataFrame(labels)
    if label_col not in labels.columns:
        raise ParameterError(
            f"The labels lack {label_col!r}: they have {', '.join(labels.columns)}."
        )
    keys = _join_keys(df, labels, on)
    types = dict(df.dtypes)
    right = labels.select(
        *[F.col(k).cast(types[k]).alias(k) for k in keys], F.col(label_col).alias("_label")
    )
    score = F.col(score_col or prediction_col).try_cast("double")
    if score_col:  # continuous scores: counted per log-spaced bin, so Spark returns a bounded
        score = spark_bin(score)  # table; ROC-AUC then counts pairs within a bin as ties
    score = score.alias("_score")
    joined = df.select(
        *keys,
        F.col(model_id_col).cast("string").alias("model_id"),
        F.col(prediction_col).alias("_pred"),
        score,
    ).join(right, keys)
    joined = joined.filter(F.col("_label").isNotNull() & F.col("_pred").isNotNull())
    if problem_type == "regression":
        err = F.col("_pred").cast("double") - F.col("_label").cast("double")
        sums = (
            joined.groupBy("model_id")
            .agg(
                F.count(F.lit(1)).alias("n"),
                F.sum(err * err).alias("sse"),
                F.sum(F.abs(err)).alias("sae"),
            )
            .toPandas()
        )
        return _regression(sums)
    counts = joined.groupBy("model_id", "_label", "_pred", "_score").count().toPandas()
    return _classification(counts, pos_label)


def _regression(sums: pd.DataFrame) -> pd.DataFrame:
    total = pd.DataFrame([{"model_id": ALL, **sums[["n", "sse", "sae"]].sum().to_dict()}])
    frame = pd.concat([total, sums], ignore_index=True) if len(sums) else sums
    out = pd.DataFrame(
        {
            "model_id": frame["model_id"],
            "labeled_rows": frame["n"].astype("int64"),
            "rmse": np.sqrt(frame["sse"] / frame["n"]),
            "mae": frame["sae"] / frame["n"],
        }
    )
    return _ordered(out)


def auc_from_counts(counts: pd.DataFrame, pos_label: Any) -> float | None:
    """ROC-AUC (Mann–Whitney, ties counted half) from ``_score``/``_label``/``count`` rows."""
    pos = counts[counts["_label"] == pos_label].groupby("_score")["count"].sum()
    neg = counts[counts["_label"] != pos_label].groupby("_score")["count"].sum()
    n_pos, n_neg = pos.sum(), neg.sum()
    if not n_pos or not n_neg:
        return None
    scores = pos.index.union(neg.index).sort_values()
    p = pos.reindex(scores, fill_value=0).to_numpy("float64")
    n = neg.reindex(scores, fill_value=0).to_numpy("float64")
    below = np.cumsum(n) - n  # negatives with a lower score
    return float((p * (below + 0.5 * n)).sum() / (n_pos * n_neg))


def _metrics(counts: pd.DataFrame, pos_label: Any) -> dict[str, Any]:
    n = counts["count"].sum()
    right = counts.loc[counts["_label"] == counts["_pred"], "count"].sum()
    tp = counts.loc[(counts["_label"] == pos_label) & (counts["_pred"] == pos_label), "count"].sum()
    pred_pos = counts.loc[counts["_pred"] == pos_label, "count"].sum()
    true_pos = counts.loc[counts["_label"] == pos_label, "count"].sum()
    precision = tp / pred_pos if pred_pos else 0.0
    recall = tp / true_pos if true_pos else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "labeled_rows": int(n),
        "accuracy": float(right / n),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "roc_auc": auc_from_counts(counts, pos_label),
    }


def _classification(counts: pd.DataFrame, pos_label: Any) -> pd.DataFrame:
    if counts.empty:
        return pd.DataFrame(
            columns=["model_id", "labeled_rows", "accuracy", "precision", "recall", "f1", "roc_auc"]
        )
    counts = counts.astype({"count": "int64"})
    rows = [{"model_id": ALL, **_metrics(counts, pos_label)}]
    for model_id, part in counts.groupby("model_id", sort=True):
        rows.append({"model_id": model_id, **_metrics(part, pos_label)})
    return _ordered(pd.DataFrame(rows))


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """:data:`ALL` first, then the model ids."""
    ranked = frame.assign(_m=frame["model_id"] != ALL).sort_values(
        ["_m", "model_id"], kind="stable"
    )
    return ranked.drop(columns="_m").reset_index(drop=True)


def _scores(per_class: dict[str, float], support: dict[str, int]) -> dict[str, Any]:
    total = sum(support.values())
    macro = sum(per_class.values()) / len(per_class) if per_class else None
    weighted = sum(per_class[c] * support.get(c, 0) for c in per_class) / total if total else None
    return {"one_vs_all": per_class, "macro": macro, "weighted": weighted}


def classification_scores(counts: dict[tuple[str, str], int]) -> dict[str, Any]:
    """Databricks' classification metrics from ``{(label, prediction): rows}``.

    ``precision``, ``recall`` and ``f1_score`` are ``{one_vs_all: {class: score}, macro,
    weighted}`` over every class seen as a label or a prediction, a score with a zero
    denominator being 0 (sklearn's ``zero_division=0``); ``weighted`` weighs by each class's
    rows as label. All None without a scored row.
    """
    total = sum(counts.values())
    if not total:
        return {
            "accuracy_score": None,
            "confusion_matrix": None,
            "precision": None,
            "recall": None,
            "f1_score": None,
        }
    classes = sorted({c for pair in counts for c in pair})
    tp = {c: counts.get((c, c), 0) for c in classes}
    as_label = {c: sum(n for (y, _), n in counts.items() if y == c) for c in classes}
    as_pred = {c: sum(n for (_, p), n in counts.items() if p == c) for c in classes}
    precision = {c: tp[c] / as_pred[c] if as_pred[c] else 0.0 for c in classes}
    recall = {c: tp[c] / as_label[c] if as_label[c] else 0.0 for c in classes}
    f1 = {
        c: 2 * tp[c] / (as_pred[c] + as_label[c]) if as_pred[c] + as_label[c] else 0.0
        for c in classes
    }
    matrix = [
        {"prediction": p, "label": y, "count": int(n)} for (y, p), n in sorted(counts.items())
    ]
    return {
        "accuracy_score": sum(tp.values()) / total,
        "confusion_matrix": matrix,
        "precision": _scores(precision, as_label),
        "recall": _scores(recall, as_label),
        "f1_score": _scores(f1, as_label),
    }


REGRESSION_SUMS = ("n", "sse", "sae", "sape", "n_ape", "sy", "syy")


def regression_sums(label, prediction) -> list:
    """Spark aggregates (aliased ``q_<sum>``) over the rows with a label and a prediction: the
    sums :func:`regression_scores` needs."""
    from pyspark.sql import functions as F

    y, p = label.cast("double"), prediction.cast("double")
    scored = y.isNotNull() & p.isNotNull() & ~F.isnan(y) & ~F.isnan(p)
    err = p - y
    nonzero = scored & (y != 0)
    parts = {
        "n": F.lit(1),
        "sse": err * err,
        "sae": F.abs(err),
        "sy": y,
        "syy": y * y,
        "sape": F.when(nonzero, F.abs(err) / F.abs(y)),
        "n_ape": F.when(nonzero, 1),
    }
    return [F.sum(F.when(scored, parts[k])).alias(f"q_{k}") for k in REGRESSION_SUMS]


def regression_scores(sums: dict[str, float | None]) -> dict[str, float | None]:
    """Databricks' regression metrics from :func:`regression_sums`' ``q_*`` values."""
    n = sums.get("q_n") or 0
    if not n:
        return {
            k: None
            for k in (
                "mean_squared_error",
                "root_mean_squared_error",
                "mean_average_error",
                "mean_absolute_error",
                "mean_absolute_percentage_error",
                "r2_score",
            )
        }
    mse = sums["q_sse"] / n
    mae = sums["q_sae"] / n
    total = sums["q_syy"] - sums["q_sy"] ** 2 / n  # sum of squares about the mean
    r2 = 1.0 - sums["q_sse"] / total if total > 0 else None
    n_ape = sums.get("q_n_ape") or 0
    return {
        "mean_squared_error": mse,
        "root_mean_squared_error": float(np.sqrt(mse)),
        "mean_average_error": mae,
        "mean_absolute_error": mae,
        "mean_absolute_percentage_error": sums["q_sape"] / n_ape if n_ape else None,
        "r2_score": r2,
    }
