"""Train and log a churn model version, so notebooks can make v1, v2, ... on demand.

The logged model is an sklearn pipeline (scaler + logistic regression) in the ``sklearn``
flavor. Its signature declares the three seed features as ``Any``: MLflow's schema
enforcement refuses int64 for a ``double`` column ("Can not safely convert int64 to
float64"), and the seed sends JSON integers, so a ``double`` signature would reject the
seed's own record through ``pyfunc.predict`` and ``spark_udf``. The scaler casts to float
itself, and the pipeline holds only sklearn types, so skops (MLflow 3's default format)
loads it anywhere without trusting custom code. The output is ``long`` (the 0/1 class), which ``spark_udf`` picks up as its result type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recipes.data import FEATURES, LABEL, make_churn, split
from recipes.errors import NotFoundError, ParameterError

MAIN_METRIC = "roc_auc"


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train_and_log` made.

    Attributes:
        run_id: the MLflow run.
        model_uri: ``runs:/<run_id>/model``, for ``mlflow.register_model``.
        logged_model_uri: MLflow 3's ``models:/m-<id>`` URI of the logged model.
        version: the registered version (int), or None when not registered.
        metrics: held-out metrics.
    """

    run_id: str
    model_uri: str
    logged_model_uri: str
    version: int | None
    metrics: dict[str, float] = field(default_factory=dict)


def fit(train: pd.DataFrame, *, C: float = 1.0, seed: int = 0):
    """Fit the churn pipeline on ``train`` (the three features and the label)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if C <= 0:
        raise ParameterError(f"C must be > 0, got {C!r}.")
    missing = [c for c in (*FEATURES, LABEL) if c not in train.columns]
    if missing:
        raise ParameterError(
            f"Training data lacks columns {missing}: use recipes.data.make_churn()."
        )
    pipe = make_pipeline(
        StandardScaler(),
        LogisticRegression(C=C, max_iter=1000, random_state=seed),
    )
    return pipe.fit(train[list(FEATURES)], train[LABEL])


def classification_metrics(y_true, y_pred, y_score=None) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and (given scores) ROC-AUC, rounded to 4 places."""
    from sklearn import metrics as m

    out = {
        "accuracy": m.accuracy_score(y_true, y_pred),
        "precision": m.precision_score(y_true, y_pred, zero_division=0),
        "recall": m.recall_score(y_true, y_pred, zero_division=0),
        "f1": m.f1_score(y_true, y_pred, zero_division=0),
    }
    if y_score is not None and len(set(np.asarray(y_true).tolist())) > 1:
        out["roc_auc"] = m.roc_auc_score(y_true, y_score)
    return {k: round(float(v), 4) for k, v in out.items()}


def score_model(model, df: pd.DataFrame) -> dict[str, float]:
    """Held-out metrics of an sklearn-like ``model`` on ``df``."""
    X = df[list(FEATURES)]
    proba = model.predict_proba(X)[:, 1] if hasattr(model, "predict_proba") else None
    return classification_metrics(df[LABEL], model.predict(X), proba)


def signature():
    """The churn model's signature: the three features as ``Any``, a ``long`` prediction."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema

    return ModelSignature(
        inputs=Schema([ColSpec(AnyType(), name) for name in FEATURES]),
        outputs=Schema([ColSpec("long")]),
    )


def train_and_log(
    n_rows: int = 5000,
    seed: int = 0,
    *,
    C: float = 1.0,
    registered_model_name: str | None = None,
    tags: dict[str, str] | None = None,
    data: pd.DataFrame | None = None,
) -> TrainResult:
    """Train a churn model, log it in a new run and optionally register it.

    Args:
        n_rows: rows of synthetic data (ignored when ``data`` is given).
        seed: data and model seed.
        C: inverse regularisation strength of the logistic regression.
        registered_model_name: register the logged model under this name (the seed's
            "Method 1: register during logging").
        tags: tags for the run.
        data: train on this frame instead of synthetic data.

    Returns:
        A :class:`TrainResult`; ``version`` is an int when registered.
    """
    import mlflow

    from recipes.registry import check_model_name

    if registered_model_name is not None:
        check_model_name(registered_model_name)
    df = data if data is not None else make_churn(n_rows, seed)
    train, test = split(df, seed=seed)
    model = fit(train, C=C, seed=seed)
    metrics = score_model(model, test)
    with mlflow.start_run(tags=tags) as run:
        mlflow.log_params({"C": C, "n_rows": len(df), "seed": seed, "model": "logistic_regression"})
        mlflow.log_metrics(metrics)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature(),
            input_example=test[list(FEATURES)].head(2),
            registered_model_name=registered_model_name,
        )
    version = info.registered_model_version
    return TrainResult(
        run_id=run.info.run_id,
        model_uri=f"runs:/{run.info.run_id}/model",
        logged_model_uri=info.model_uri,
        version=int(version) if version is not None else None,
        metrics=metrics,
    )


def ensure_versions(name: str, minimum: int = 2, *, n_rows: int = 5000, seed: int = 0) -> list[int]:
    """Make sure ``name`` has at least ``minimum`` versions, training new ones if needed.

    Each new version ``k`` uses ``C`` from a fixed ladder, so later versions differ from
    earlier ones. Returns all version numbers, oldest first.
    """
    from recipes import registry

    try:
        have = [int(mv.version) for mv in registry.versions(name)]
    except NotFoundError:
        have = []
    ladder = (0.001, 1.0, 0.05, 10.0)
    for k in range(len(have), minimum):
        result = train_and_log(
            n_rows,
            seed,
            C=ladder[k % len(ladder)],
            registered_model_name=name,
            tags={"mdk.made_by": "ensure_versions"},
        )
        have.append(result.version)
    return sorted(have)
