"""A monitor's metric tables as Databricks computes them, on one seeded inference log: quality
from the label on the ':table' rows (sklearn's numbers), slices that add up, custom metrics
equal to pandas', label drift, and BASELINE rows from a baseline without timestamps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from recipes import data
from recipes.monitoring import ALL, TABLE, Spec, compute_metrics
from recipes.monitoring.custom import parse_metrics
from tests.monitoring.frames import HOUR0, labeled

pytestmark = pytest.mark.spark
SLICES = ("plan", "total_purchases > 10")
LABEL = data.LABEL


def _metric(kind, name, columns, definition):
    field = f'{{"name":"{name}","type":"double","nullable":true,"metadata":{{}}}}'
    return {
        "type": f"CUSTOM_METRIC_TYPE_{kind}",
        "name": name,
        "input_columns": columns,
        "definition": definition,
        "output_data_type": field,
    }


CUSTOM = [
    # dbdemos' expected_loss, on this table: the purchases lost to missed churners
    _metric(
        "AGGREGATE",
        "expected_loss",
        [TABLE],
        "avg(CASE WHEN {{prediction_col}} != "
        "{{label_col}} AND {{label_col}} = 1 THEN -total_purchases ELSE 0 END)",
    ),
    _metric(
        "AGGREGATE",
        "squared_avg",
        ["total_purchases", "avg_session_duration"],
        "avg(`{{input_column}}` * `{{input_column}}`)",
    ),
    _metric("DERIVED", "root_mean_square", ["total_purchases"], "sqrt(squared_avg)"),
    _metric("DRIFT", "avg_jump", ["total_purchases"], "{{current_df}}.avg - {{base_df}}.avg"),
]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return labeled([{}, {}, {"drift": 1.0}], n=400)


@pytest.fixture(scope="module")
def computed(spark, frame):
    df = spark.createDataFrame(frame)
    baseline = spark.createDataFrame(data.make_churn(1000, 7).assign(prediction=0))
    spec = Spec(
        ("1 hour",),
        "timestamp",
        "model_version",
        "prediction",
        LABEL,
        "classification",
        SLICES,
        parse_metrics(CUSTOM),
    )
    return compute_metrics(df, baseline, spec, commit_version=3)


def _rows(frame: pd.DataFrame, r: dict) -> pd.DataFrame:
    """The rows of ``frame`` a metric row covers."""
    keep = frame["timestamp"].dt.floor("h") == r["window"]["start"]
    if r["model_version"] != ALL:
        keep &= frame["model_version"] == r["model_version"]
    if r["slice_key"] == "plan":
        keep &= frame["plan"] == r["slice_value"]
    elif r["slice_key"] is not None:
        keep &= (frame["total_purchases"] > 10).map(str).str.lower() == r["slice_value"]
    return frame[keep]


def test_table_rows_score_the_labeled_rows_as_sklearn_does(computed, frame):
    table = computed.profile[
        (computed.profile["column_name"] == TABLE) & (computed.profile["log_type"] == "INPUT")
    ]
    assert len(table) == 3 * 3 * 5  # windows x (*, 1, 2) x (whole table + 4 slices)
    for r in table.to_dict("records"):
        rows = _rows(frame, r)
        scored = rows[rows[LABEL].notna()]
        y, p = scored[LABEL].astype(int).astype(str), scored["prediction"].astype(str)
        assert r["count"] == len(rows) >= len(scored)  # NULL labels are counted, not scored
        if r["slice_key"] is None and r["model_version"] == ALL:
            assert len(rows) > len(scored)
        assert abs(r["accuracy_score"] - sk.accuracy_score(y, p)) < 1e-9
        for name, fn in (
            ("precision", sk.precision_score),
            ("recall", sk.recall_score),
            ("f1_score", sk.f1_score),
        ):
            for average in ("macro", "weighted"):
                want = fn(y, p, average=average, zero_division=0)
                assert abs(r[name][average] - want) < 1e-9, (name, average)
            assert r[name]["one_vs_all"]["1"] == pytest.approx(fn(y, p, pos_label="1"))
        assert sum(c["count"] for c in r["confusion_matrix"]) == len(scored)
        assert r["expected_loss"] == pytest.approx(
            np.where(
                ((rows["prediction"] != rows[LABEL]) & (rows[LABEL] == 1)).fillna(False),
                -rows["total_purchases"],
                0,
            ).mean()
        )
    whole = table[(table["model_version"] != ALL) & table["slice_key"].isna()]
    by_version = whole.groupby("model_version")["accuracy_score"].mean()
    assert by_version["1"] > by_version["2"] + 0.05


def test_slices_add_up_to_the_table_in_every_window(computed):
    table = computed.profile[
        (computed.profile["column_name"] == TABLE) & (computed.profile["log_type"] == "INPUT")
    ]
    assert set(zip(table["slice_key"].dropna(), table["slice_value"].dropna(), strict=True)) == {
        ("plan", "gold"),
        ("plan", "basic"),
        ("total_purchases > 10", "true"),
        ("total_purchases > 10", "false"),
    }
    start = table["window"].map(lambda w: w["start"])
    for (_, model), part in table.groupby([start, "model_version"]):
        whole = part.loc[part["slice_key"].isna(), "count"].item()
        for key in SLICES:
            assert part.loc[part["slice_key"] == key, "count"].sum() == whole, (key, model)


def test_columns_have_databricks_statistics(computed, frame):
    p = computed.profile
    assert (p["logging_table_commit_version"] == 3).all() and (p["monitor_version"] == 0).all()
    rows = p[(p["log_type"] == "INPUT") & (p["model_version"] == ALL) & p["slice_key"].isna()]
    label = rows[rows["column_name"] == LABEL]
    assert (label["num_nulls"] > 0).all()  # the label is profiled: NULL until it arrives
    assert (label["count"] + label["num_nulls"] == 400).all()
    plan = rows[rows["column_name"] == "plan"].iloc[0]
    items = {i["item"]: i["count"] for i in plan["frequent_items"]}
    first = frame[frame["timestamp"].dt.floor("h") == HOUR0]
    assert items == first["plan"].value_counts().to_dict()
    assert plan["min_length"] == 4 and plan["max_length"] == 5 and pd.isna(plan["avg"])
    tp = rows[rows["column_name"] == "total_purchases"].iloc[0]
    assert tp["num_zeros"] == (first["total_purchases"] == 0).sum()
    assert tp["percent_zeros"] == pytest.approx(100 * (first["total_purchases"] == 0).mean())
    assert tp["squared_avg"] == pytest.approx((first["total_purchases"] ** 2).mean())
    assert tp["root_mean_square"] == pytest.approx(np.sqrt((first["total_purchases"] ** 2).mean()))
    assert pd.isna(rows[rows["column_name"] == "avg_session_duration"]["root_mean_square"]).all()
    table = rows[rows["column_name"] == TABLE].iloc[0]
    assert set(table["non_null_columns"]) == {
        "customer_id",
        *data.FEATURES,
        LABEL,
        "prediction",
        "plan",
    }


def test_baseline_without_timestamps_gets_baseline_rows(computed):
    p = computed.profile
    base = p[p["log_type"] == "BASELINE"]
    assert set(base["model_version"]) == {ALL}  # the baseline has no model column
    assert base["window"].map(lambda w: (w["start"], w["end"])).nunique() == 1
    w = base["window"].iloc[0]
    assert (w["start"], w["end"]) == (HOUR0, HOUR0 + pd.Timedelta(hours=3))  # the input's span
    whole = base[(base["column_name"] == TABLE) & base["slice_key"].isna()].iloc[0]
    assert whole["count"] == 1000 and whole["accuracy_score"] == pytest.approx(
        (data.make_churn(1000, 7)[LABEL] == 0).mean()
    )
    assert set(base["slice_key"].dropna()) == {"total_purchases > 10"}  # it has no plan
    assert whole["expected_loss"] == pytest.approx(
        -data.make_churn(1000, 7).query("churned == 1")["total_purchases"].sum() / 1000
    )


def test_drift_has_label_drift_deltas_and_custom_drift(computed):
    d = computed.drift
    whole = d[(d["model_version"] == ALL) & d["slice_key"].isna()]
    label = whole[whole["column_name"] == LABEL]
    assert set(label["drift_type"]) == {"CONSECUTIVE", "BASELINE"}
    assert label["chi_squared_test"].notna().all() and label["js_distance"].notna().all()
    cons = whole[
        (whole["drift_type"] == "CONSECUTIVE") & (whole["column_name"] == "total_purchases")
    ]
    p = computed.profile
    cur = p[
        (p["log_type"] == "INPUT")
        & (p["model_version"] == ALL)
        & p["slice_key"].isna()
        & (p["column_name"] == "total_purchases")
    ]
    cur = cur.set_index(cur["window"].map(lambda w: w["start"]))
    assert len(cons) == 2
    for r in cons.to_dict("records"):
        a, b = cur.loc[r["window"]["start"]], cur.loc[r["window_cmp"]["start"]]
        assert r["window_cmp"]["end"] == r["window"]["start"]
        assert r["avg_jump"] == pytest.approx(a["avg"] - b["avg"]) == pytest.approx(r["avg_delta"])
        assert r["percent_distinct_delta"] == pytest.approx(
            a["percent_distinct"] - b["percent_distinct"]
        )
        assert r["count_delta"] == a["count"] - b["count"]
    table = whole[(whole["column_name"] == TABLE) & (whole["drift_type"] == "CONSECUTIVE")]
    assert table["non_null_columns_delta"].tolist() == [{"added": 0, "missing": 0}] * 2
    assert (table["count_delta"] == 0).all() and table["ks_test"].isna().all()
    assert "plan" in set(d[d["drift_type"] == "CONSECUTIVE"]["slice_key"])
