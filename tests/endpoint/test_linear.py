"""The numpy kernel for linear sklearn pipelines equals ``predict`` exactly, or is refused."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, RidgeClassifier, SGDClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from recipes.endpoint.linear import compile_linear

RNG = np.random.default_rng(3)
X = RNG.normal([10, 300, 20], [5, 100, 10], size=(600, 3))
Y2 = (X[:, 0] + RNG.normal(0, 3, 600) > 10).astype(int)
Y3 = np.digitize(X[:, 1], [250, 350])


@pytest.mark.parametrize(
    "model, y",
    [
        (make_pipeline(StandardScaler(), LogisticRegression(C=1.0)), Y2),
        (make_pipeline(StandardScaler(), LogisticRegression(C=0.001)), Y2),
        (make_pipeline(StandardScaler(), LogisticRegression()), Y3),  # multiclass
        (make_pipeline(StandardScaler(with_mean=False), SGDClassifier(random_state=0)), Y2),
        (LogisticRegression(), np.where(Y2 == 1, "churn", "stay")),  # string classes, no scaler
    ],
    ids=["lr", "lr-weak", "lr-3class", "sgd-no-mean", "lr-strings"],
)
def test_kernel_equals_predict(model, y):
    model.fit(X, y)
    kernel = compile_linear(model, 3)
    assert kernel is not None
    probe = np.vstack([RNG.normal(0, 500, size=(20000, 3)), np.round(X), X[:1]])
    assert np.array_equal(kernel(probe), model.predict(probe))
    assert kernel(X[:1]).dtype == model.predict(X[:1]).dtype


@pytest.mark.parametrize(
    "model",
    [
        make_pipeline(MinMaxScaler(), LogisticRegression()),
        RandomForestClassifier(n_estimators=3),
        RidgeClassifier(),  # overrides predict
    ],
    ids=["other-scaler", "not-linear", "own-predict"],
)
def test_other_models_get_no_kernel(model):
    assert compile_linear(model.fit(X, Y2), 3) is None


def test_wrong_width_gets_no_kernel():
    assert (
        compile_linear(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y2), 4) is None
    )


def test_non_finite_input_raises_sklearns_own_error():
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y2)
    kernel = compile_linear(model, 3)
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError) as ours:
            kernel(np.array([[bad, 1.0, 2.0]]))
        with pytest.raises(ValueError) as theirs:
            model.predict(np.array([[bad, 1.0, 2.0]]))
        assert str(ours.value) == str(theirs.value)
