"""drift_metrics in Spark: the same histograms as numpy, the statistics scipy gives, and the
alarms it raises (or does not) on known data; rows in Databricks' drift-table shape."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from recipes import data
from recipes.errors import ParameterError
from recipes.monitoring import ALL, DRIFT_COLUMNS, TABLE, drift_metrics, flag_drift, stats
from recipes.monitoring import drift as drift_module
from recipes.monitoring.rows import overall
from tests.monitoring.frames import scored, spark_frame

pytestmark = pytest.mark.spark
FEATURES = list(data.FEATURES)


def _baseline(spark, n=5000, seed=0):
    return spark.createDataFrame(
        data.make_churn(n, seed)[[*FEATURES, data.LABEL]].rename(columns={data.LABEL: "prediction"})
    )


def test_spark_histograms_equal_numpy_histograms(spark):
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(0, 3, 3000), rng.lognormal(2, 2, 3000), [0.0, -0.0, 1.0, 1e-12]])
    df = spark.createDataFrame(pd.DataFrame({"x": x}))
    got = drift_module.histograms(df, {"x": "numeric"}, [])
    got = got.set_index("bin")[["count", "sum"]].sort_index()
    want = stats.numeric_histogram(x)
    assert got.index.tolist() == want.index.tolist()
    assert got["count"].tolist() == want["count"].tolist()
    assert np.allclose(got["sum"], want["sum"], rtol=1e-9, atol=1e-9)


def test_columns_windows_and_comparisons(spark):
    frame = scored([{}, {}, {"drift": 1.0}], n=600)
    got = drift_metrics(
        spark_frame(spark, frame),
        _baseline(spark),
        "1 hour",
        columns=[*FEATURES, "prediction"],
        categorical=["prediction"],
    )
    assert list(got.columns) == [*DRIFT_COLUMNS[:3], "model_version", *DRIFT_COLUMNS[3:]]
    assert got["slice_key"].isna().all()
    table = got[got["column_name"] == TABLE]
    got = got[got["column_name"] != TABLE]
    # 3 windows × 3 model ids × 4 columns BASELINE, and 2 × 3 × 4 CONSECUTIVE
    assert (got["drift_type"] == "BASELINE").sum() == 36
    assert (got["drift_type"] == "CONSECUTIVE").sum() == 24
    assert len(table) == 3 * 3 + 2 * 3 and table["ks_test"].isna().all()
    base = table[(table["drift_type"] == "BASELINE") & (table["model_version"] == ALL)]
    assert (base["count_delta"] == 600 - 5000).all()  # rows against the baseline's
    assert base["non_null_columns_delta"].tolist() == [{"added": 0, "missing": 0}] * 3
    cons = got[got["drift_type"] == "CONSECUTIVE"]
    gap = cons["window"].map(lambda w: w["start"]) - cons["window_cmp"].map(lambda w: w["start"])
    assert (gap == pd.Timedelta(hours=1)).all()
    assert got[got["drift_type"] == "BASELINE"]["window_cmp"].isna().all()
    num = got[got["column_name"] != "prediction"]
    cat = got[got["column_name"] == "prediction"]
    assert num["chi_squared_test"].isna().all() and num["ks_test"].notna().all()
    assert cat["ks_test"].isna().all() and cat["chi_squared_test"].notna().all()
    assert cat["wasserstein_distance"].isna().all() and cat["tv_distance"].notna().all()
    row = got[(got["model_version"] == "2") & (got["drift_type"] == "BASELINE")].iloc[0]
    assert row["count"] == (frame["model_version"] == "2").sum() / 3 and row["count_cmp"] == 5000
    assert row["count_delta"] == row["count"] - 5000 and row["percent_null_delta"] == 0


def test_statistics_equal_scipy_on_the_raw_rows(spark):
    frame = scored([{"drift": 0.5}], n=3000)
    base = data.make_churn(5000, 0)
    got = drift_metrics(
        spark_frame(spark, frame),
        _baseline(spark),
        "1 hour",
        columns=[*FEATURES, "prediction"],
        categorical=["prediction"],
        drift_types=["BASELINE"],
    )
    got = overall(got).set_index("column_name")
    for col in FEATURES:
        ks = sps.ks_2samp(frame[col], base[col])
        assert abs(got.loc[col, "ks_test"]["statistic"] - ks.statistic) <= 0.02
        assert got.loc[col, "avg_delta"] == pytest.approx(frame[col].mean() - base[col].mean())
        assert got.loc[col, "wasserstein_distance"] == pytest.approx(
            sps.wasserstein_distance(frame[col], base[col]), rel=0.02, abs=0.05
        )
    table = pd.crosstab(
        pd.concat([frame["prediction"], base[data.LABEL]]),
        ["cur"] * len(frame) + ["ref"] * len(base),
    ).T.loc[["cur", "ref"]]
    chi = sps.chi2_contingency(table.to_numpy())
    assert got.loc["prediction", "chi_squared_test"]["statistic"] == pytest.approx(chi.statistic)
    assert got.loc["prediction", "chi_squared_test"]["pvalue"] == pytest.approx(chi.pvalue)


def test_same_distribution_raises_at_most_one_false_alarm_in_20_seeds(spark):
    frame = scored([{}] * 20, seed=100, n=1000)  # 20 windows, 20 fresh samples
    got = drift_metrics(
        spark_frame(spark, frame),
        _baseline(spark),
        "1 hour",
        columns=FEATURES,
        drift_types=["BASELINE"],
    )
    flags = flag_drift(overall(got))
    assert flags["window_start"].nunique() == 20
    alarms = flags.groupby("window_start")["drifted"].any()
    assert alarms.sum() <= 1, flags[flags["drifted"]]


def test_a_one_sigma_shift_is_flagged_on_the_shifted_feature_only(spark):
    frame = scored([{"drift": 1.0, "drifted_features": ["avg_session_duration"]}] * 5, n=1000)
    got = drift_metrics(spark_frame(spark, frame), _baseline(spark), "1 hour", columns=FEATURES)
    flags = flag_drift(overall(got))
    base = flags[flags["drift_type"] == "BASELINE"]
    assert set(base[base["drifted"]]["column_name"]) == {"avg_session_duration"}
    assert base[base["column_name"] == "avg_session_duration"]["drifted"].all()  # every window
    assert not flags[flags["drift_type"] == "CONSECUTIVE"]["drifted"].any()  # steady after it


def test_without_a_baseline_only_consecutive_and_bad_arguments(spark):
    df = spark_frame(spark, scored([{}, {}], n=200))
    got = drift_metrics(df, None, "1 hour", columns=FEATURES)
    assert set(got["drift_type"]) == {"CONSECUTIVE"}
    hole = spark_frame(spark, scored([{}, {}, {}], n=200).query("timestamp.dt.hour != 9"))
    got = drift_metrics(hole, None, "1 hour", columns=FEATURES)
    assert got.empty  # 08:00 and 10:00 are not consecutive windows
    with pytest.raises(ParameterError, match="drift_types must be among"):
        drift_metrics(df, None, "1 hour", drift_types=["WEEKLY"])
    with pytest.raises(ParameterError, match="categorical column 'plan' is not monitored"):
        drift_metrics(df, None, "1 hour", columns=FEATURES, categorical=["plan"])
    with pytest.raises(ParameterError, match=r"lacks \['timestamp'\]"):
        drift_metrics(df.drop("timestamp"), None, "1 hour")
