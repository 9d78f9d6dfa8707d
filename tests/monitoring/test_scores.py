"""Pieces without Spark: the classification scores against sklearn (several classes), the
granularities Databricks accepts, custom-metric types and templates, and model quality read
back from ':table' rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from recipes.errors import ParameterError
from recipes.monitoring import ALL, TABLE, quality_by_model, verdict
from recipes.monitoring.custom import output_ddl, parse_metrics
from recipes.monitoring.quality import classification_scores
from recipes.monitoring.spec import Spec
from recipes.monitoring.windows import granularity_parts


def test_three_classes_score_as_sklearn():
    rng = np.random.default_rng(0)
    y = rng.choice(["a", "b", "c"], 500, p=[0.5, 0.3, 0.2])
    p = np.where(rng.random(500) < 0.7, y, rng.choice(["a", "b", "c", "d"], 500))
    counts = pd.Series(list(zip(y, p, strict=True))).value_counts().to_dict()
    got = classification_scores(counts)
    assert abs(got["accuracy_score"] - sk.accuracy_score(y, p)) < 1e-12
    for name, fn in (
        ("precision", sk.precision_score),
        ("recall", sk.recall_score),
        ("f1_score", sk.f1_score),
    ):
        for average in ("macro", "weighted"):
            assert abs(got[name][average] - fn(y, p, average=average, zero_division=0)) < 1e-12
        per_class = fn(y, p, average=None, labels=["a", "b", "c", "d"], zero_division=0)
        assert [got[name]["one_vs_all"][c] for c in "abcd"] == pytest.approx(per_class)
    assert sum(c["count"] for c in got["confusion_matrix"]) == 500
    assert classification_scores({})["accuracy_score"] is None


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("5 minutes", (5, "minute")),
        ("30 minutes", (30, "minute")),
        ("1 hour", (1, "hour")),
        ("1 day", (1, "day")),
        ("2 weeks", (2, "week")),
        ("1 week", (1, "week")),
        ("1 month", (1, "month")),
        ("1 year", (1, "year")),
    ],
)
def test_databricks_granularities_parse(text, parts):
    assert granularity_parts(text) == parts


def test_custom_metric_types_and_templates():
    field = '{"name":"output","type":"double","nullable":true,"metadata":{}}'
    assert output_ddl(field) == "double" and output_ddl("bigint") == "bigint"
    nested = (
        '{"name":"o","type":{"type":"array","elementType":"long","containsNull":true},'
        '"nullable":true,"metadata":{}}'
    )
    assert output_ddl(nested) == "array<bigint>"
    [m] = parse_metrics(
        [
            {
                "type": "CUSTOM_METRIC_TYPE_AGGREGATE",
                "name": "loss",
                "input_columns": [":table"],
                "output_data_type": field,
                "definition": "avg({{prediction_col}} - {{label_col}} + {{x}})",
            }
        ]
    )
    assert m.render(TABLE, prediction_col="p", label_col="y") == "avg(p - y + `x`)"
    with pytest.raises(
        ParameterError, match="uses {{label_col}}, but the monitor has no label_col"
    ):
        m.render(TABLE, prediction_col="p")
    with pytest.raises(ParameterError, match="type must be one of"):
        parse_metrics([{"type": "CUSTOM_METRIC_TYPE_WEIRD", "name": "x"}])
    monitor = {
        "snapshot": {},
        "custom_metrics": [
            {
                "type": "CUSTOM_METRIC_TYPE_DRIFT",
                "name": "d",
                "input_columns": ["a"],
                "definition": "{{current_df}}.avg - {{base_df}}.avg",
                "output_data_type": field,
            }
        ],
    }
    spec = Spec.from_monitor(monitor)
    assert spec.kind == "snapshot" and spec.custom_metrics[0].kind == "DRIFT"
    with pytest.raises(ParameterError, match="exactly one of"):
        Spec.from_monitor({"snapshot": {}, "time_series": {"timestamp_col": "t"}})


def _table_row(window_h, model, matrix):
    start = pd.Timestamp("2026-11-26 08:00") + pd.Timedelta(hours=window_h)
    return {
        "window": {"start": start, "end": start + pd.Timedelta(hours=1)},
        "log_type": "INPUT",
        "granularity": "1 hour",
        "model_version": model,
        "slice_key": None,
        "slice_value": None,
        "column_name": TABLE,
        "confusion_matrix": [
            {"label": y, "prediction": p, "count": n} for (y, p), n in matrix.items()
        ],
    }


def test_quality_by_model_sums_the_windows_confusion_matrices():
    good = {("1", "1"): 300, ("0", "0"): 300, ("1", "0"): 50}
    bad = {("1", "1"): 250, ("0", "0"): 250, ("1", "0"): 150}
    profile = pd.DataFrame(
        [
            _table_row(0, "1", good),
            _table_row(1, "1", good),
            _table_row(0, "2", bad),
            _table_row(1, "2", bad),
            _table_row(0, ALL, good),
        ]
    )
    got = quality_by_model(profile).set_index("model_id")
    assert got.loc["1", "labeled_rows"] == 1300
    assert got.loc["1", "accuracy"] == pytest.approx(600 / 650)
    assert got.loc["2", "accuracy"] == pytest.approx(500 / 650)
    calm = pd.DataFrame(
        columns=[
            "window",
            "column_name",
            "drift_type",
            "ks_test",
            "chi_squared_test",
            "population_stability_index",
            "js_distance",
        ]
    )
    v = verdict(calm, profile, champion=2, challenger=1)
    assert v.decision == "promote_challenger" and v.quality["1"]["labeled_rows"] == 1300
