"""profile_metrics against pandas on the same rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recipes import data
from recipes.errors import ParameterError
from recipes.monitoring import ALL, PROFILE_COLUMNS, profile_metrics
from tests.monitoring.frames import HOUR0, scored, spark_frame

pytestmark = pytest.mark.spark


def test_profile_equals_pandas_per_window_version_and_column(spark):
    frame = scored([{}, {"drift": 1.0}], n=800)
    frame.loc[frame.index % 7 == 0, "avg_session_duration"] = np.nan  # some nulls
    got = profile_metrics(spark_frame(spark, frame), "1 hour")
    assert list(got.columns) == list(PROFILE_COLUMNS)
    columns = [data.KEY, *data.FEATURES, "prediction"]
    assert len(got) == 2 * 3 * len(columns)  # windows × (all, v1, v2) × columns
    frame["start"] = frame["timestamp"].dt.floor("h")
    for r in got.to_dict("records"):
        rows = frame[frame["start"] == r["window"]["start"]]
        if r["model_id"] != ALL:
            rows = rows[rows["model_version"] == r["model_id"]]
        x = rows[r["column_name"]]
        assert pd.Timestamp(r["window"]["end"]) - pd.Timestamp(
            r["window"]["start"]
        ) == pd.Timedelta(hours=1)
        assert r["granularity"] == "1 hour" and r["log_type"] == "INPUT"
        assert r["count"] == x.count() and r["num_nulls"] == x.isna().sum()
        assert r["percent_null"] == pytest.approx(100 * x.isna().mean())
        assert r["avg"] == pytest.approx(x.mean()) and r["stddev"] == pytest.approx(x.std())
        assert (r["min"], r["max"]) == (x.min(), x.max())
        assert abs(r["distinct_count"] - x.nunique()) <= max(2, 0.06 * x.nunique())  # 3 × rsd 2 %
        spread = x.max() - x.min()
        want = x.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).to_numpy()
        assert np.allclose(r["quantiles"], want, atol=0.02 * spread + 1)
        assert r["median"] == r["quantiles"][2]
    starts = sorted({r["start"] for r in got["window"]})
    assert starts == [HOUR0, HOUR0 + pd.Timedelta(hours=1)]


def test_strings_get_counts_and_distinct_but_no_numbers(spark):
    frame = pd.DataFrame({"timestamp": [HOUR0] * 4, "model_version": ["1"] * 4,
                          "plan": ["a", "b", None, "a"]})  # fmt: skip
    got = profile_metrics(spark.createDataFrame(frame), "1 day", columns=["plan"])
    r = got[got["model_id"] == ALL].iloc[0]
    assert (r["count"], r["num_nulls"], r["distinct_count"]) == (3, 1, 2)
    assert pd.isna(r["avg"]) and r["quantiles"] is None and r["data_type"] == "string"


def test_bad_granularity_and_columns_are_one_line_errors(spark):
    df = spark_frame(spark, scored([{}], n=10))
    with pytest.raises(ParameterError, match="granularity '1 month'.*'1 hour'"):
        profile_metrics(df, "1 month")
    with pytest.raises(ParameterError, match=r"\['nope'\] are not in the data"):
        profile_metrics(df, "1 hour", columns=["nope"])
