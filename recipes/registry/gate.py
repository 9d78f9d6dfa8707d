"""The validation gate: may a challenger replace the champion? The promote step obeys it."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from recipes.data import FEATURES, LABEL, make_churn
from recipes.errors import NotFoundError, ParameterError
from recipes.metrics import classification_metrics, score_model
from recipes.registry.uris import model_uri, version_of
from recipes.threads import one_thread


@dataclass(frozen=True)
class GateDecision:
    """The validation gate's answer: may ``challenger`` replace ``champion``?"""

    passed: bool
    metric: str
    challenger_version: int
    champion_version: int | None
    challenger_score: float
    champion_score: float | None
    min_improvement: float
    reason: str


def _score_version(name: str, version: int, data: pd.DataFrame, metric: str) -> float:
    import mlflow

    uri = model_uri(name, version=version)
    if "sklearn" in mlflow.models.get_model_info(uri).flavors:
        X = data[list(FEATURES)].astype("float64")
        scores = score_model(mlflow.sklearn.load_model(uri), X, data[LABEL])
    else:
        with one_thread():
            pred = mlflow.pyfunc.load_model(uri).predict(data[list(FEATURES)])
        scores = classification_metrics(data[LABEL], pred, pred)
    if metric not in scores:
        raise ParameterError(f"Unknown metric {metric!r}: use one of {', '.join(scores)}.")
    return scores[metric]


def validate_challenger(
    name: str,
    challenger="@challenger",
    champion="@champion",
    *,
    data: pd.DataFrame | None = None,
    metric: str = "roc_auc",
    min_improvement: float = 0.0,
) -> GateDecision:
    """Compare challenger with champion on held-out data; the promote step obeys the verdict.

    The challenger passes when there is no champion yet, or when its ``metric`` beats the
    champion's by at least ``min_improvement`` (which may be negative to allow a small loss).

    Args:
        challenger: a reference for :func:`~recipes.registry.uris.version_of` (version, alias, stage, "latest").
        champion: the same; a missing champion alias means "no champion yet".
        data: held-out rows with the features and ``churned``; default: 2,000 fresh rows.
    """
    data = data if data is not None else make_churn(2000, seed=12345, id_offset=5_000_000)
    ch = version_of(name, challenger)
    try:
        champ = version_of(name, champion)
    except NotFoundError:
        champ = None
    ch_score = _score_version(name, ch, data, metric)
    if champ is None:
        return GateDecision(
            True,
            metric,
            ch,
            None,
            ch_score,
            None,
            min_improvement,
            f"no champion yet: version {ch} may take the alias",
        )
    champ_score = _score_version(name, champ, data, metric)
    delta = round(ch_score - champ_score, 4)
    passed = ch != champ and delta >= min_improvement
    how = "beats" if passed else "does not beat"
    reason = (
        f"version {ch} {metric}={ch_score:.4f} {how} version {champ} {metric}={champ_score:.4f} "
        f"by the required {min_improvement:+.4f} (delta {delta:+.4f})"
    )
    if ch == champ:
        reason = f"version {ch} already is the champion"
    return GateDecision(passed, metric, ch, champ, ch_score, champ_score, min_improvement, reason)
