"""Train and log churn model versions: v1 a linear baseline, v2 a challenger that sees more.

- ``baseline``: a scaler and a logistic regression. It can only draw one straight boundary,
  so it misses the thresholds and the interaction in :func:`recipes.data.churn_logit`.
- ``challenger``: gradient-boosted trees (``HistGradientBoostingClassifier``), which cut the
  features at thresholds and combine them, so they capture that structure.

Both are plain sklearn objects in the ``sklearn`` flavor, saved with skops (MLflow 3's
default format). skops refuses to load any type not on its allow-list, and the trees'
``TreePredictor`` is not on it, so the challenger is logged with
``skops_trusted_types=train.trusted_types(model)``, which MLflow stores in the model so that
every later load (pyfunc, ``spark_udf``, serving) trusts exactly that type.

The signature declares the three seed features as ``long``: the data are whole numbers
(:mod:`recipes.data`) and the seed sends JSON integers, which a ``double`` column would refuse
("Can not safely convert int64 to float64"). MLflow's schema enforcement then checks each
column's dtype once, instead of each value as for ``Any`` (~6.7 µs a row), and refuses a
fractional or string value naming its column ("Can not safely convert float64 to int64").
The output is ``long`` (the 0/1 class), which ``spark_udf`` picks up as its result type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from recipes.data import FEATURES, LABEL, make_churn, split
from recipes.errors import ParameterError
from recipes.metrics import score_model
from recipes.registry.models import check_model_name
from recipes.threads import one_thread

MAIN_METRIC = "roc_auc"
KINDS = ("baseline", "challenger")
DESCRIPTIONS = {
    "baseline": "logistic regression on scaled features: the linear baseline",
    "challenger": "gradient-boosted trees: thresholds and interactions",
}


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train_and_log` made.

    Attributes:
        run_id: the MLflow run.
        model_uri: ``runs:/<run_id>/model``, for ``mlflow.register_model``.
        logged_model_uri: MLflow 3's ``models:/m-<id>`` URI of the logged model.
        version: the registered version (int), or None when not registered.
        metrics: held-out metrics.
        kind: ``baseline`` or ``challenger``.
    """

    run_id: str
    model_uri: str
    logged_model_uri: str
    version: int | None
    metrics: dict[str, float] = field(default_factory=dict)
    kind: str = "baseline"


def _check_frame(train: pd.DataFrame) -> None:
    missing = [c for c in (*FEATURES, LABEL) if c not in train.columns]
    if missing:
        raise ParameterError(
            f"Training data lacks columns {missing}: use recipes.data.make_churn()."
        )


def fit(train: pd.DataFrame, *, kind: str = "baseline", C: float = 1.0, seed: int = 0):
    """Fit a churn model of ``kind`` on ``train`` (the three features and the label).

    Args:
        kind: ``baseline`` (scaler + logistic regression, with inverse regularisation ``C``)
            or ``challenger`` (gradient-boosted trees).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind not in KINDS:
        raise ParameterError(f"Unknown model kind {kind!r}: use one of {', '.join(KINDS)}.")
    if C <= 0:
        raise ParameterError(f"C must be > 0, got {C!r}.")
    _check_frame(train)
    if kind == "baseline":
        model = make_pipeline(
            StandardScaler(), LogisticRegression(C=C, max_iter=1000, random_state=seed)
        )
    else:
        model = HistGradientBoostingClassifier(
            max_iter=200, learning_rate=0.1, max_depth=3, random_state=seed
        )
    with one_thread():
        return model.fit(train[list(FEATURES)].astype("float64"), train[LABEL])


def trusted_types(model) -> list[str]:
    """The sklearn types in ``model`` that skops does not trust by default (trees' nodes).

    Only sklearn's own types are returned: anything else still fails to log, as it should.
    """
    import skops.io

    untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    return [t for t in untrusted if t.startswith("sklearn.")]


def held_out_metrics(model, df: pd.DataFrame) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and ROC-AUC of ``model`` on ``df`` (features + label)."""
    _check_frame(df)
    return score_model(model, df[list(FEATURES)].astype("float64"), df[LABEL])


def signature():
    """The churn model's signature: the three features as ``long``, a ``long`` prediction.

    pyfunc, ``spark_udf`` (bigint columns) and the serving endpoint all take the seed's
    integers; a float (even ``320.0``) or a string for a feature is refused, naming it."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    return ModelSignature(
        inputs=Schema([ColSpec("long", name) for name in FEATURES]),
        outputs=Schema([ColSpec("long")]),
    )


# what loading the churn models imports: the packages MLflow's requirement inference finds
REQUIRED = ("mlflow", "numpy", "pandas", "scikit-learn", "scipy", "skops")


def requirements() -> list[str]:
    """The models' pip requirements, pinned to this environment's versions.

    ``log_model`` without ``pip_requirements`` infers them by loading the model in a
    subprocess and recording what it imports: about 5-10 s per model here, and the list
    picks up whatever else that process happened to import (pytest, rich, psutil). The
    notebooks keep the learner's plain ``log_model`` call; the kit's own logging uses this.
    """
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in REQUIRED]


def train_and_log(
    n_rows: int = 5000,
    seed: int = 0,
    *,
    kind: str = "baseline",
    C: float = 1.0,
    registered_model_name: str | None = None,
    tags: dict[str, str] | None = None,
    data: pd.DataFrame | None = None,
) -> TrainResult:
    """Train a churn model, log it in a new run and optionally register it during logging.

    The notebooks type these MLflow calls in their cells; this is the same work for tests,
    benchmarks and :mod:`recipes.bootstrap`.

    Args:
        n_rows: rows of synthetic data (ignored when ``data`` is given).
        seed: data and model seed.
        kind: ``baseline`` or ``challenger`` (see :func:`fit`).
        C: inverse regularisation of the baseline's logistic regression.
        registered_model_name: register the logged model under this name (the module's
            "Method 1: register during logging").
        tags: tags for the run.
        data: train on this frame instead of synthetic data.

    Returns:
        A :class:`TrainResult`; ``version`` is an int when registered.
    """
    import mlflow

    if registered_model_name is not None:
        check_model_name(registered_model_name)  # before any training
    df = data if data is not None else make_churn(n_rows, seed)
    train, test = split(df, seed=seed)
    model = fit(train, kind=kind, C=C, seed=seed)
    metrics = held_out_metrics(model, test)
    with mlflow.start_run(tags=tags) as run:
        params = {"kind": kind, "n_rows": len(df), "seed": seed}
        mlflow.log_params(params | ({"C": C} if kind == "baseline" else {}))
        mlflow.log_metrics(metrics)
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=signature(),
            input_example=test[list(FEATURES)].head(2),
            skops_trusted_types=trusted_types(model) or None,
            pip_requirements=requirements(),
            registered_model_name=registered_model_name,
        )
    version = info.registered_model_version
    return TrainResult(
        run_id=run.info.run_id,
        model_uri=f"runs:/{run.info.run_id}/model",
        logged_model_uri=info.model_uri,
        version=int(version) if version is not None else None,
        metrics=metrics,
        kind=kind,
    )
