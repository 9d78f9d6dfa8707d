"""Windows for every granularity Databricks accepts (months and years too), and the other two
profile types: a time series (no model) and a snapshot (the table as one window)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from recipes.monitoring import TABLE, Spec, compute_metrics
from recipes.monitoring.windows import window_column

pytestmark = pytest.mark.spark

TIMES = pd.to_datetime(
    ["2024-02-29 23:59:59", "2024-03-01 00:00:00", "2025-12-31 12:00:00", "2026-11-26 08:31:00"]
)


@pytest.mark.parametrize(
    ("granularity", "starts", "ends"),
    [
        (
            "1 month",
            ["2024-02-01", "2024-03-01", "2025-12-01", "2026-11-01"],
            ["2024-03-01", "2024-04-01", "2026-01-01", "2026-12-01"],
        ),
        (
            "3 months",
            ["2024-01-01", "2024-01-01", "2025-10-01", "2026-10-01"],
            ["2024-04-01", "2024-04-01", "2026-01-01", "2027-01-01"],
        ),
        (
            "1 year",
            ["2024-01-01", "2024-01-01", "2025-01-01", "2026-01-01"],
            ["2025-01-01", "2025-01-01", "2026-01-01", "2027-01-01"],
        ),
        (
            "1 week",
            ["2024-02-26", "2024-02-26", "2025-12-29", "2026-11-23"],  # Mondays
            ["2024-03-04", "2024-03-04", "2026-01-05", "2026-11-30"],
        ),
        (
            "30 minutes",
            ["2024-02-29 23:30", "2024-03-01 00:00", "2025-12-31 12:00", "2026-11-26 08:30"],
            ["2024-03-01 00:00", "2024-03-01 00:30", "2025-12-31 12:30", "2026-11-26 09:00"],
        ),
    ],
)
def test_windows_of_each_granularity(spark, granularity, starts, ends):
    df = spark.createDataFrame(pd.DataFrame({"t": TIMES}))
    got = df.select(window_column(granularity, "t").alias("w")).toPandas()["w"]
    assert [pd.Timestamp(w["start"]) for w in got] == list(pd.to_datetime(starts))
    assert [pd.Timestamp(w["end"]) for w in got] == list(pd.to_datetime(ends))


def _series(months: int = 3) -> pd.DataFrame:
    times = pd.date_range("2025-11-01", periods=months * 30, freq="D")
    return pd.DataFrame(
        {"ts": times, "amount": range(len(times)), "kind": ["a", "b", "c"] * (len(times) // 3)}
    )


def test_time_series_by_month_and_year(spark):
    frame = _series()
    spec = Spec(("1 month", "1 year"), "ts", slicing_exprs=("kind",))
    baseline = spark.createDataFrame(
        _series(1).assign(ts=lambda f: f["ts"] - pd.Timedelta(days=400))
    )
    got = compute_metrics(spark.createDataFrame(frame), baseline, spec)
    p = got.profile
    base = p[p["log_type"] == "BASELINE"]  # a baseline with times: its own span, each granularity
    assert set(base["granularity"]) == {"1 month", "1 year"}
    assert {(w["start"], w["end"]) for w in base["window"]} == {
        (pd.Timestamp("2024-09-27"), pd.Timestamp("2024-10-26"))
    }
    p = p[p["log_type"] == "INPUT"]
    assert "model_version" not in p and "accuracy_score" not in p
    table = p[(p["column_name"] == TABLE) & p["slice_key"].isna()]
    monthly = table[table["granularity"] == "1 month"]
    assert [w["start"] for w in monthly["window"]] == list(
        pd.to_datetime(["2025-11-01", "2025-12-01", "2026-01-01"])
    )
    by_month = frame.groupby(frame["ts"].dt.to_period("M")).size().tolist()
    assert monthly["count"].tolist() == by_month
    yearly = table[table["granularity"] == "1 year"]
    assert yearly["count"].tolist() == [61, 29]  # 2025: Nov + Dec; 2026: Jan
    d = got.drift
    assert "model_version" not in d
    cons = d[
        (d["granularity"] == "1 month")
        & (d["column_name"] == "amount")
        & d["slice_key"].isna()
        & (d["drift_type"] == "CONSECUTIVE")
    ]
    assert (d[d["drift_type"] == "BASELINE"]["granularity"].value_counts() > 0).all()
    assert [w["start"] for w in cons["window_cmp"]] == list(
        pd.to_datetime(["2025-11-01", "2025-12-01"])
    )
    assert cons["ks_test"].map(lambda t: t["statistic"]).eq(1.0).all()  # amounts only grow


def test_snapshot_profiles_the_table_as_one_window(spark):
    frame = _series(1)
    at = datetime(2026, 12, 1, 9, 30)
    baseline = spark.createDataFrame(
        frame.drop(columns="ts").assign(amount=lambda f: f["amount"] + 100)
    )
    got = compute_metrics(spark.createDataFrame(frame.drop(columns="ts")), baseline, Spec(), at=at)
    p = got.profile
    assert p["granularity"].isna().all() and set(p["log_type"]) == {"INPUT", "BASELINE"}
    assert {(w["start"], w["end"]) for w in p["window"]} == {(pd.Timestamp(at), pd.Timestamp(at))}
    table = p[(p["column_name"] == TABLE) & (p["log_type"] == "INPUT")]
    assert table["count"].tolist() == [len(frame)]
    d = got.drift
    assert set(d["drift_type"]) == {"BASELINE"}  # one window: nothing consecutive
    amount = d[d["column_name"] == "amount"].iloc[0]
    assert amount["avg_delta"] == -100 and amount["ks_test"]["pvalue"] < 1e-6
