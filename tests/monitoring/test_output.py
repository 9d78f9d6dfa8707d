"""The metric tables: names next to the watched table, Databricks-like columns and types."""

from __future__ import annotations

import pytest

from recipes import data, tables
from recipes.errors import ParameterError
from recipes.monitoring import drift_metrics, metric_table_names, profile_metrics, write_metrics
from tests.monitoring.conftest import unique_names
from tests.monitoring.frames import scored, spark_frame

pytestmark = pytest.mark.spark


def test_names_follow_the_watched_table():
    names = metric_table_names("main.mdk.churn_ab_payload")
    assert names.profile == "main.mdk.churn_ab_payload_profile_metrics"
    assert names.drift == "main.mdk.churn_ab_payload_drift_metrics"
    assert names.baseline == "main.mdk.churn_ab_payload_baseline"
    with pytest.raises(ParameterError):
        metric_table_names("no dots here!")


def test_tables_have_the_stated_columns_and_types(spark):
    df = spark_frame(spark, scored([{}, {"drift": 1.0}], n=300))
    base = spark.createDataFrame(data.make_churn(1000, 0)[list(data.FEATURES)])
    cols = [*data.FEATURES, "prediction"]
    profile = profile_metrics(df, "1 hour", columns=cols)
    drift = drift_metrics(df, base, "1 hour", columns=cols, categorical=["prediction"])
    payload, _ = unique_names("t")  # the session's warehouse is the whole run's
    names = write_metrics(payload, profile, drift, spark=spark)
    assert names.profile == f"{payload}_profile_metrics"
    p = tables.read_table(names.profile, spark=spark)
    d = tables.read_table(names.drift, spark=spark)
    assert p.count() == len(profile) and d.count() == len(drift)
    pt, dt = dict(p.dtypes), dict(d.dtypes)
    window = "struct<start:timestamp_ntz,end:timestamp_ntz>"
    assert pt["window"] == dt["window"] == dt["window_cmp"] == window
    assert (pt["granularity"], pt["model_id"], pt["column_name"], pt["quantiles"]) == (
        "string", "string", "string", "array<double>")  # fmt: skip
    assert dt["ks_test"] == dt["chi_squared_test"] == "struct<statistic:double,pvalue:double>"
    assert {"drift_type", "js_distance", "population_stability_index",
            "wasserstein_distance"} <= set(dt)  # fmt: skip
    back = (
        d.filter("drift_type = 'CONSECUTIVE' AND model_id = ':all'")
        .select("column_name", "window.start", "window_cmp.start", "ks_test.statistic")
        .collect()
    )
    assert len(back) == 4 and all(r[1] > r[2] for r in back)  # compared with the window before
