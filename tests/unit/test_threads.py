"""recipes.threads: the small models fit and predict on one native thread."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_info

from recipes import data, train
from recipes.threads import one_thread


def _openmp_threads() -> list[int]:
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"]


def test_one_thread_limits_openmp_inside_and_restores_it_after():
    train.fit(data.make_churn(200, seed=1), kind="challenger")  # loads sklearn's OpenMP runtime
    before = _openmp_threads()
    assert before, "scikit-learn's OpenMP runtime is not loaded"
    with one_thread():
        assert _openmp_threads() == [1] * len(before)
    assert _openmp_threads() == before


def test_the_challenger_is_the_same_model_on_one_thread():
    from sklearn.ensemble import HistGradientBoostingClassifier

    frame = data.make_churn(500, seed=3)
    X = frame[list(data.FEATURES)].astype("float64")
    pooled = HistGradientBoostingClassifier(max_iter=200, max_depth=3, random_state=0)
    pooled.fit(X, frame[data.LABEL])
    ours = train.fit(frame, kind="challenger", seed=0)
    assert np.array_equal(ours.predict_proba(X), pooled.predict_proba(X))
