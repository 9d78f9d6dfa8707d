"""quality_metrics equals sklearn.metrics on the joined rows; labels join as documented."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as m

from recipes import data
from recipes.errors import ParameterError
from recipes.monitoring import ALL, quality_metrics
from tests.monitoring.frames import scored, spark_frame

pytestmark = pytest.mark.spark


def _noisy(frame: pd.DataFrame, seed=0) -> pd.DataFrame:
    """Predictions that are right about 80 % of the time, worse for version 2."""
    rng = np.random.default_rng(seed)
    flip = rng.random(len(frame)) < np.where(frame["model_version"] == "2", 0.35, 0.15)
    return frame.assign(
        prediction=np.where(flip, 1 - frame[data.LABEL], frame[data.LABEL]),
        score=rng.random(len(frame)) * 0.5 + 0.5 * frame[data.LABEL],
    )


def test_classification_equals_sklearn_per_version(spark):
    frame = _noisy(scored([{}, {"drift": 1.0}], n=700))
    df = spark.createDataFrame(
        frame[["timestamp", "model_version", data.KEY, *data.FEATURES, "prediction", "score"]]
    )
    labels = frame[[data.KEY, data.LABEL]].iloc[: len(frame) - 100]  # the newest have no label yet
    labeled = frame.iloc[: len(frame) - 100]
    for score_col in (None, "score"):
        got = quality_metrics(df, labels, score_col=score_col).set_index("model_id")
        assert got.index.tolist() == [ALL, "1", "2"]
        for model_id, rows in [(ALL, labeled), *labeled.groupby("model_version")]:
            y, p = rows[data.LABEL], rows["prediction"]
            r = got.loc[model_id]
            assert r["labeled_rows"] == len(rows)
            assert r["accuracy"] == pytest.approx(m.accuracy_score(y, p))
            assert r["precision"] == pytest.approx(m.precision_score(y, p))
            assert r["recall"] == pytest.approx(m.recall_score(y, p))
            assert r["f1"] == pytest.approx(m.f1_score(y, p))
            if score_col:  # scores are counted per 0.5 % bin: ties within a bin
                assert r["roc_auc"] == pytest.approx(m.roc_auc_score(y, rows[score_col]), abs=0.003)
            else:
                assert r["roc_auc"] == pytest.approx(m.roc_auc_score(y, p))
    assert got.loc["1", "accuracy"] > got.loc["2", "accuracy"]


def test_regression_equals_sklearn(spark):
    frame = scored([{}], n=500)
    frame["prediction"] = frame["avg_session_duration"] * 1.1 - 3
    df = spark_frame(spark, frame)
    labels = frame[[data.KEY, "avg_session_duration"]]
    got = quality_metrics(
        df, labels, label_col="avg_session_duration", problem_type="regression"
    ).set_index("model_id")
    for model_id, rows in [(ALL, frame), *frame.groupby("model_version")]:
        y, p = rows["avg_session_duration"], rows["prediction"]
        assert got.loc[model_id, "rmse"] == pytest.approx(m.root_mean_squared_error(y, p))
        assert got.loc[model_id, "mae"] == pytest.approx(m.mean_absolute_error(y, p))


def test_labels_join_on_client_request_id_first(spark):
    rows = pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2026-11-26 08:00"),
            "model_version": "1",
            "client_request_id": ["a", "b", "c"],
            "customer_id": [1, 2, 3],
            "prediction": [1, 0, 0],
        }
    )
    df = spark.createDataFrame(rows)
    by_request = pd.DataFrame(
        {"client_request_id": ["a", "b", "c"], "customer_id": [3, 2, 1], "churned": [1, 0, 0]}
    )
    # request a is customer 1 but its label row says customer 3: the two keys disagree
    assert quality_metrics(df, by_request).loc[0, "accuracy"] == 1.0
    by_customer = quality_metrics(df, by_request, on="customer_id")
    assert by_customer.loc[0, "accuracy"] == pytest.approx(1 / 3)
    spark_labels = spark.createDataFrame(by_request.drop(columns="client_request_id"))
    assert quality_metrics(df, spark_labels).loc[0, "accuracy"] == pytest.approx(1 / 3)
    with pytest.raises(ParameterError, match="share no join key.*client_request_id, customer_id"):
        quality_metrics(df, pd.DataFrame({"id": [1], "churned": [1]}))
    with pytest.raises(ParameterError, match="lack 'churned'"):
        quality_metrics(df, pd.DataFrame({"customer_id": [1], "label": [1]}))
    with pytest.raises(ParameterError, match="problem_type must be one of"):
        quality_metrics(df, by_request, problem_type="ranking")


def test_regression_table_rows_equal_sklearn(spark):
    from recipes.monitoring import TABLE, profile_metrics

    frame = scored([{}, {}], n=300)
    rng = np.random.default_rng(3)
    frame["prediction"] = frame["avg_session_duration"] * 1.1 - 3 + rng.normal(0, 20, len(frame))
    frame["spend"] = frame["avg_session_duration"].astype(float)
    frame.loc[frame.index % 11 == 0, "spend"] = np.nan  # not known yet: counted, not scored
    got = profile_metrics(
        spark.createDataFrame(frame), "1 hour", label_col="spend", problem_type="regression"
    )
    table = got[got["column_name"] == TABLE]
    assert "accuracy_score" not in got and len(table) == 2 * 3
    frame["start"] = frame["timestamp"].dt.floor("h")
    for r in table.to_dict("records"):
        rows = frame[frame["start"] == r["window"]["start"]]
        if r["model_version"] != ALL:
            rows = rows[rows["model_version"] == r["model_version"]]
        assert r["count"] == len(rows)
        rows = rows[rows["spend"].notna()]
        y, p = rows["spend"], rows["prediction"]
        assert r["mean_squared_error"] == pytest.approx(m.mean_squared_error(y, p), rel=1e-9)
        assert r["root_mean_squared_error"] == pytest.approx(
            m.root_mean_squared_error(y, p), rel=1e-9
        )
        assert r["mean_average_error"] == r["mean_absolute_error"]
        assert r["mean_absolute_error"] == pytest.approx(m.mean_absolute_error(y, p), rel=1e-9)
        assert r["mean_absolute_percentage_error"] == pytest.approx(
            m.mean_absolute_percentage_error(y, p), rel=1e-9
        )
        assert r["r2_score"] == pytest.approx(m.r2_score(y, p), rel=1e-6)
