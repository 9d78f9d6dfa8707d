"""A churn classifier whose decision threshold is a request parameter: a pyfunc with params.

:class:`ThresholdClassifier` wraps a registered churn classifier (its sklearn model, copied
into the new model's artifacts) and answers 1 where ``predict_proba`` reaches the threshold,
0 below. The signature's params schema declares ``threshold`` (``double``, default 0.5), made
as MLflow documents it, ``infer_signature(X, y, params={"threshold": 0.5})``. So the caller
picks the threshold per call, without a new model version:

* ``mlflow.pyfunc.load_model(uri).predict(df, params={"threshold": 0.3})``;
* a serving endpoint's request ``{"dataframe_records": [...], "params": {"threshold": 0.3}}``
  (the SDK's ``serving_endpoints.query`` has no ``params`` argument: post the body with
  ``w.api_client.do("POST", f"/serving-endpoints/{name}/invocations", body=...)`` or
  ``requests.post``).

A param the schema does not declare is ignored with a warning; a threshold that is not a
number is refused, naming it. Notebooks define no classes, so the class lives here; the
model pickles it by reference, so loading it needs this kit installed (the local endpoint's
workers have it; a Databricks endpoint would need the module in ``code_paths``).
"""

from __future__ import annotations

import contextlib
from typing import Any

import mlflow.pyfunc

from recipes.data import FEATURES, make_churn
from recipes.errors import ParameterError

PARAM = "threshold"
DEFAULT_THRESHOLD = 0.5


class ThresholdClassifier(mlflow.pyfunc.PythonModel):
    """1 where the wrapped classifier's probability of churn is at least ``threshold``."""

    def load_context(self, context) -> None:
        import mlflow.sklearn

        self.classifier = mlflow.sklearn.load_model(context.artifacts["classifier"])

    def predict(self, context, model_input, params: dict[str, Any] | None = None):
        """``model_input``: the churn features; ``params``: ``{"threshold": float}``."""
        threshold = (params or {}).get(PARAM)
        threshold = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        return _decide(self.classifier, model_input, threshold)


def _decide(classifier, frame, threshold: float):
    proba = classifier.predict_proba(frame[list(FEATURES)].astype("float64"))[:, 1]
    return (proba >= threshold).astype("int64")


def log_threshold_model(
    classifier_uri: str = "models:/churn-predictor/1",
    *,
    name: str = "threshold_model",
    registered_model_name: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    n_rows: int = 200,
    seed: int = 0,
):
    """Log a :class:`ThresholdClassifier` over ``classifier_uri`` in the active run (a new
    one if none is active).

    Args:
        classifier_uri: a churn classifier logged with the sklearn flavor (it needs
            ``predict_proba``), e.g. ``models:/churn-predictor/1``.
        name: the model's name in the run.
        registered_model_name: register the logged model under this name.
        threshold: the params schema's default threshold.
        n_rows, seed: the synthetic rows the signature is inferred from.

    Returns:
        MLflow's ``ModelInfo`` (``model_uri``, ``registered_model_version``, ``signature``).
    """
    import mlflow
    import mlflow.sklearn
    from mlflow.models import infer_signature

    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ParameterError(f"threshold must be a number, got {threshold!r}.")
    X = make_churn(n_rows, seed)[list(FEATURES)]
    y = _decide(mlflow.sklearn.load_model(classifier_uri), X, float(threshold))
    signature = infer_signature(X, y, params={PARAM: float(threshold)})
    with contextlib.nullcontext() if mlflow.active_run() else mlflow.start_run():
        return mlflow.pyfunc.log_model(
            name=name,
            python_model=ThresholdClassifier(),
            artifacts={"classifier": classifier_uri},
            signature=signature,
            pip_requirements=mlflow.pyfunc.get_model_dependencies(classifier_uri),
            registered_model_name=registered_model_name,
        )
