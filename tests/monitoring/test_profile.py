"""profile_metrics against pandas on the same rows, in Databricks' profile-table shape."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recipes import data
from recipes.errors import ParameterError
from recipes.monitoring import ALL, PROFILE_COLUMNS, TABLE, profile_metrics
from tests.monitoring.frames import HOUR0, scored, spark_frame

pytestmark = pytest.mark.spark


def test_profile_equals_pandas_per_window_model_and_column(spark):
    frame = scored([{}, {"drift": 1.0}], n=800)
    frame["avg_session_duration"] = frame["avg_session_duration"].astype(float)
    frame.loc[frame.index % 7 == 0, "avg_session_duration"] = np.nan  # some nulls
    got = profile_metrics(spark_frame(spark, frame), "1 hour")
    assert list(got.columns[:5]) == list(PROFILE_COLUMNS[:5])  # window … granularity
    assert list(got.columns[5:8]) == ["model_version", "slice_key", "slice_value"]
    assert list(got.columns[8 : len(PROFILE_COLUMNS) + 1]) == list(PROFILE_COLUMNS[7:])
    quality = list(got.columns[len(PROFILE_COLUMNS) + 1 :])
    assert quality == ["accuracy_score", "confusion_matrix", "precision", "recall", "f1_score"]
    assert got[quality].isna().all().all()  # no label_col: nothing to score
    columns = [data.KEY, *data.FEATURES, "prediction"]
    assert len(got) == 2 * 3 * (len(columns) + 1)  # windows × (*, 1, 2) × (columns, :table)
    assert got["slice_key"].isna().all() and got["slice_value"].isna().all()
    frame["start"] = frame["timestamp"].dt.floor("h")
    for r in got.to_dict("records"):
        rows = frame[frame["start"] == r["window"]["start"]]
        if r["model_version"] != ALL:
            rows = rows[rows["model_version"] == r["model_version"]]
        assert r["window"]["end"] - r["window"]["start"] == pd.Timedelta(hours=1)
        assert r["granularity"] == "1 hour" and r["log_type"] == "INPUT"
        if r["column_name"] == TABLE:
            assert r["count"] == len(rows) and pd.isna(r["data_type"])
            assert set(r["non_null_columns"]) == set(columns)
            continue
        x = rows[r["column_name"]]
        assert r["count"] == x.count()
        assert r["num_nulls"] + r["num_nan"] == x.isna().sum()
        assert r["percent_null"] + r["percent_nan"] == pytest.approx(100 * x.isna().mean())
        assert r["avg"] == pytest.approx(x.mean()) and r["stddev"] == pytest.approx(x.std())
        assert (r["min"], r["max"]) == (x.min(), x.max())
        assert r["num_zeros"] == (x == 0).sum()
        assert r["distinct_count"] == x.nunique()
        assert r["percent_distinct"] == pytest.approx(100 * x.nunique() / x.count())
        spread = x.max() - x.min()
        want = x.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).to_numpy()
        assert np.allclose(r["quantiles"], want, atol=0.02 * spread + 1)
        assert r["median"] == r["quantiles"][2]
    starts = sorted({w["start"] for w in got["window"]})
    assert starts == [HOUR0, HOUR0 + pd.Timedelta(hours=1)]


def test_strings_get_lengths_and_frequent_items_but_no_numbers(spark):
    frame = pd.DataFrame({"timestamp": [HOUR0] * 5, "plan": ["gold", "b", None, "gold", "b"]})
    got = profile_metrics(spark.createDataFrame(frame), "1 day", model_id_col=None)
    assert "model_version" not in got  # a time series has no model column
    r = got[got["column_name"] == "plan"].iloc[0]
    assert (r["count"], r["num_nulls"], r["distinct_count"]) == (4, 1, 2)
    assert (r["min_length"], r["max_length"], r["avg_length"]) == (1, 4, 2.5)
    assert r["frequent_items"] == [{"item": "b", "count": 2}, {"item": "gold", "count": 2}]
    assert pd.isna(r["avg"]) and r["quantiles"] is None and r["data_type"] == "string"
    assert pd.isna(r["num_zeros"]) and pd.isna(r["num_nan"])


def test_bad_granularity_and_columns_are_one_line_errors(spark):
    df = spark_frame(spark, scored([{}], n=10))
    with pytest.raises(ParameterError, match="granularity '1 fortnight'.*'1 month'"):
        profile_metrics(df, "1 fortnight")
    with pytest.raises(ParameterError, match=r"\['nope'\] are not in the data"):
        profile_metrics(df, "1 hour", columns=["nope"])


def test_distinct_counts_are_exact_per_type_and_count_as_spark_counts(spark):
    """The one stacked count(DISTINCT): -0.0 is 0.0 and NaN no value (as Spark's own
    count(DISTINCT) counts them), and two instants that one local time names (New York's
    fall-back hour) stay two."""
    from datetime import UTC, datetime

    from pyspark.sql import functions as F

    fold = [datetime(2026, 11, 1, 5, 30, tzinfo=UTC), datetime(2026, 11, 1, 6, 30, tzinfo=UTC)]
    frame = pd.DataFrame(
        {
            "timestamp": [HOUR0] * 6,
            "x": [0.0, -0.0, np.nan, 1.0, None, 1.0],
            "n": [3, 3, 4, None, 5, 5],
            "flag": [True, False, True, None, True, True],
            "seen": [*fold, *fold, None, fold[0]],
        }
    )
    df = spark.createDataFrame(frame).withColumn("seen", F.col("seen").cast("timestamp"))
    zone = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "America/New_York")
    try:
        got = profile_metrics(df, "1 day", model_id_col=None).set_index("column_name")
        spark_says = df.select(
            F.count_distinct(F.nanvl("x", F.lit(None).cast("double"))).alias("x")
        ).first()["x"]
    finally:
        spark.conf.set("spark.sql.session.timeZone", zone)
    counts = {c: int(v) for c, v in got["distinct_count"].drop(TABLE).items()}
    assert counts == {"x": 2, "n": 3, "flag": 2, "seen": 2}
    assert spark_says == 2  # Spark's own count(DISTINCT) agrees on -0.0 and NaN
