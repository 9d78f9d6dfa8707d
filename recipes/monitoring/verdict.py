"""The monitor's verdict: ``ok``, ``drift``, ``promote_challenger`` or ``rollback``.

Drift is read from the latest window of the drift table's all-models rows over the whole table
(model ``'*'``, no slice; BASELINE when there is a baseline, else CONSECUTIVE). A column drifts when its test is significant *and* the
change is material, so a large sample does not flag a trivial shift:

- numeric: KS p-value < ``alpha`` and (KS statistic >= ``ks_statistic`` or PSI >= ``psi``);
- categorical: chi² p-value < ``alpha`` and JS distance >= ``js_distance``.

Quality comes from the profile table's ``':table'`` rows
(:func:`~recipes.monitoring.summary.quality_by_model`), or from a quality frame of
:func:`~recipes.monitoring.quality.quality_metrics`. It decides first when both served versions have ``min_labeled`` labeled rows: the
challenger is promoted when it beats the champion by ``margin`` on ``metric``, and rolled
back (all traffic to the champion) when it is worse by as much; for accuracy the gap must
also pass a two-proportion z-test at ``alpha``. Then drift; else ``ok``.

``min_labeled`` is 500 because below a few hundred labels per version the z-test's
``alpha`` is the only guard left: two equally good versions on a 90/10 split of 1,200
requests (~120 labels for the challenger) were "promoted" or "rolled back" in ~1 % of
random splits with a floor of 100. With 500 per version a gap of about 7 points is needed
before the test is significant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from recipes.errors import ParameterError
from recipes.monitoring.rows import model_column, overall
from recipes.monitoring.summary import quality_by_model

DECISIONS = ("ok", "drift", "promote_challenger", "rollback")
_LOWER_IS_BETTER = ("rmse", "mae")


@dataclass(frozen=True)
class Thresholds:
    """The numbers a verdict is decided by (defaults suit a few thousand requests)."""

    alpha: float = 0.01
    ks_statistic: float = 0.1
    psi: float = 0.2
    js_distance: float = 0.1
    metric: str = "accuracy"
    margin: float = 0.02
    min_labeled: int = 500


@dataclass
class Verdict:
    """The decision, a one-line reason, and the numbers behind it.

    Attributes:
        decision: one of :data:`DECISIONS`.
        drifted: columns that drifted in the latest window (features, then the prediction and
            the label).
        drift: per monitored column, the statistics read and whether it drifted.
        quality: per model id, the labeled rows and the compared metric.
        champion, challenger: the model ids (versions) compared.
    """

    decision: str
    reason: str
    drifted: list[str] = field(default_factory=list)
    drift: pd.DataFrame = field(default_factory=pd.DataFrame)
    quality: dict[str, Any] = field(default_factory=dict)
    champion: str | None = None
    challenger: str | None = None

    def __str__(self) -> str:
        return f"verdict: {self.decision} — {self.reason}"

    def _repr_html_(self) -> str:
        return f"<b>{self.decision}</b>: {self.reason}<br>{self.drift.to_html(index=False)}"


def _stat(value: Any, key: str) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value[key]


def flag_drift(drift: pd.DataFrame, t: Thresholds = Thresholds()) -> pd.DataFrame:
    """The drift rows (of columns, not ``':table'``), flattened, with a ``drifted`` flag from
    the thresholds ``t``."""
    model = model_column(drift)
    if "column_name" in drift:
        drift = drift[drift["column_name"] != ":table"]
    out = []
    for r in drift.to_dict("records"):
        ks_d, ks_p = _stat(r["ks_test"], "statistic"), _stat(r["ks_test"], "pvalue")
        chi_p = _stat(r["chi_squared_test"], "pvalue")
        psi = r["population_stability_index"]
        if ks_d is not None:
            hit = ks_p < t.alpha and (ks_d >= t.ks_statistic or psi >= t.psi)
        else:
            hit = chi_p is not None and chi_p < t.alpha and r["js_distance"] >= t.js_distance
        out.append(
            {
                "window_start": r["window"]["start"],
                "model_id": r.get(model),
                "column_name": r["column_name"],
                "drift_type": r["drift_type"],
                "ks_statistic": ks_d,
                "ks_pvalue": ks_p,
                "psi": psi,
                "chi2_pvalue": chi_p,
                "js_distance": r["js_distance"],
                "drifted": bool(hit),
            }
        )
    return pd.DataFrame(
        out,
        columns=[
            "window_start",
            "model_id",
            "column_name",
            "drift_type",
            "ks_statistic",
            "ks_pvalue",
            "psi",
            "chi2_pvalue",
            "js_distance",
            "drifted",
        ],
    )


def drifted_columns(drift: pd.DataFrame, t: Thresholds = Thresholds()) -> pd.DataFrame:
    """Each column's flagged statistics in the latest window, all models, whole table:
    BASELINE rows when there are any, else CONSECUTIVE."""
    if len(drift) and "granularity" in drift and drift["granularity"].nunique() > 1:
        drift = drift[drift["granularity"] == drift["granularity"].dropna().iloc[0]]
    flags = flag_drift(overall(drift) if len(drift) else drift, t)
    if flags.empty:
        return flags.drop(columns=["window_start", "model_id"])
    kind = "BASELINE" if (flags["drift_type"] == "BASELINE").any() else "CONSECUTIVE"
    flags = flags[flags["drift_type"] == kind]
    latest = flags[flags["window_start"] == flags["window_start"].max()]
    return latest.drop(columns=["window_start", "model_id"]).reset_index(drop=True)


def _z_pvalue(a1: float, n1: int, a2: float, n2: int) -> float:
    """Two-sided p-value of a two-proportion z-test (pooled)."""
    from scipy import stats

    p = (a1 * n1 + a2 * n2) / (n1 + n2)
    se = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return 1.0 if se == 0 else float(2 * stats.norm.sf(abs(a2 - a1) / se))


def _quality(
    quality: pd.DataFrame | None, champion: str | None, challenger: str | None, t: Thresholds
) -> tuple[str | None, str, dict]:
    if quality is None or quality.empty or champion is None or challenger is None:
        return None, "no labels to compare champion and challenger", {}
    if t.metric not in quality.columns:
        raise ParameterError(
            f"metric {t.metric!r} is not in the quality table: use one of "
            f"{[c for c in quality.columns if c not in ('model_id', 'labeled_rows')]}."
        )
    by = quality.set_index(quality["model_id"].astype(str))
    have = {m: by.loc[m] for m in (champion, challenger) if m in by.index}
    numbers = {
        m: {"labeled_rows": int(r["labeled_rows"]), t.metric: r[t.metric]} for m, r in have.items()
    }
    few = [
        m
        for m in (champion, challenger)
        if m not in have or have[m]["labeled_rows"] < t.min_labeled
    ]
    if few:
        counts = ", ".join(f"v{m} has {numbers.get(m, {}).get('labeled_rows', 0)}" for m in few)
        why = f"too few labeled rows to compare ({counts}, need {t.min_labeled} per version)"
        return None, why, numbers
    a, b = float(have[champion][t.metric]), float(have[challenger][t.metric])
    gain = (a - b) / a if t.metric in _LOWER_IS_BETTER and a else b - a
    p = 0.0
    if t.metric == "accuracy":
        p = _z_pvalue(
            a, int(have[champion]["labeled_rows"]), b, int(have[challenger]["labeled_rows"])
        )
    numbers["gain"], numbers["pvalue"] = gain, p
    line = f"challenger v{challenger} {t.metric} {b:.3f} vs champion v{champion} {a:.3f}"
    if abs(gain) >= t.margin and p < t.alpha:
        return ("promote_challenger" if gain > 0 else "rollback"), line, numbers
    return None, f"{line}: no significant difference", numbers


def verdict(
    drift: pd.DataFrame,
    quality: pd.DataFrame | None = None,
    *,
    champion: str | int | None = None,
    challenger: str | int | None = None,
    thresholds: Thresholds = Thresholds(),
    prediction_col: str = "prediction",
    label_col: str | None = None,
) -> Verdict:
    """Decide from the drift table and the model quality.

    Args:
        drift: the drift metrics table's rows (:func:`drift_metrics`, or the table read).
        quality: the profile metrics table's rows (quality from its ``':table'`` rows), or a
            :func:`quality_metrics` frame; None: quality does not decide.
        champion, challenger: the model ids (versions) serving as each; without both, or
            without enough labels, quality does not decide.
        prediction_col, label_col: the model's outputs: their drift is listed, but only the
            other columns' is input drift.
    """
    champion = None if champion is None else str(champion)
    challenger = None if challenger is None else str(challenger)
    if quality is not None and "column_name" in quality:
        quality = quality_by_model(quality, label_col=label_col)
    cols = drifted_columns(drift, thresholds)
    hit = cols[cols["drifted"]]["column_name"].tolist() if len(cols) else []
    outputs = (prediction_col, label_col)
    inputs = sorted(c for c in hit if c not in outputs)
    drifted = inputs + [c for c in outputs if c in hit]
    decided, line, numbers = _quality(quality, champion, challenger, thresholds)
    if decided is None and inputs:
        decided = "drift"
        line = f"input drift in {', '.join(inputs)}; {line}"
    elif decided is None:
        decided = "ok"
        line = f"no input drift; {line}"
    return Verdict(decided, line, drifted, cols, numbers, champion, challenger)
