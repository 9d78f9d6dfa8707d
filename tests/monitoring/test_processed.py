"""process_inference_table: the payload table unpacked once, then only its change data feed
read, from the version after the last one processed (a property of the processed table)."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from recipes import data, tables
from recipes.errors import ParameterError
from recipes.monitoring import (
    next_version,
    process_inference_table,
    profile_metrics,
    unpack_inference_table,
)
from recipes.monitoring.processed import SOURCE_PROPERTY, VERSION_PROPERTY
from tests.monitoring.payloads import T0, records_row, row, split_row

pytestmark = pytest.mark.spark


def _read(spark, tbl) -> pd.DataFrame:
    """The processed table as pandas, read back through the session that wrote it."""
    return tables.read_table(tbl.processed, spark=spark).toPandas()


def _ids(spark, tbl) -> list[str]:
    got = _read(spark, tbl)
    return sorted(got["client_request_id"] + "/" + got["row_index"].astype(str))


def _state(spark, tbl) -> tuple[str, int]:
    props = {
        r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES {tbl.processed}").collect()
    }
    return props[SOURCE_PROPERTY], int(props[VERSION_PROPERTY])


def test_first_call_reads_everything_and_a_rerun_appends_nothing(spark, tbl):
    tbl.write(
        [
            records_row([{"x": 1}, {"x": 2}], [0, 1], crid="a", ts=T0),
            split_row(["x"], [[3]], [1], crid="b", ts=T0 + 10),
            row({"dataframe_records": [{"x": 9}]}, [], status=400, crid="bad", ts=T0 + 20),
        ]
    )
    version = tables.files.version(tbl.payload, home=tbl.home)
    first = process_inference_table(tbl.payload, tbl.processed, spark=spark)
    assert (first.new_rows, first.first_version, first.last_version) == (3, None, version)
    assert first.full_read and "a full read of the payload table at version" in str(first)
    assert _ids(spark, tbl) == ["a/0", "a/1", "b/0"]  # the 400 is left out, as unpack leaves it
    assert _state(spark, tbl) == (tbl.payload, version)
    again = process_inference_table(tbl.payload, tbl.processed, spark=spark)
    assert (again.new_rows, again.last_version) == (0, None)
    assert "0 new scored records from nothing new" in str(again)
    assert _ids(spark, tbl) == ["a/0", "a/1", "b/0"]


def test_later_calls_read_only_the_change_feed_late_and_same_millisecond_requests_once(spark, tbl):
    tbl.write(
        [
            records_row([{"x": 0}], [0], crid="first", ts=T0),
            records_row([{"x": 1}], [0], crid="a", ts=T0 + 5_000),
        ]
    )
    before = process_inference_table(tbl.payload, tbl.processed, spark=spark).last_version
    tbl.write(
        [
            records_row([{"x": 2}], [1], crid="same-ms", ts=T0 + 5_000),  # as new as the newest
            records_row([{"x": 3}], [1], crid="late", ts=T0 - 3_600_000),  # an hour late
        ]
    )
    tbl.write([records_row([{"x": 4}, {"x": 5}], [0, 0], crid="new", ts=T0 + 9_000)])
    latest = tables.files.version(tbl.payload, home=tbl.home)
    step = process_inference_table(tbl.payload, tbl.processed, spark=spark)
    assert (step.new_rows, step.first_version, step.last_version) == (4, before + 1, latest)
    assert f"the change feed of versions {before + 1}..{latest}" in str(step)
    assert _ids(spark, tbl) == ["a/0", "first/0", "late/0", "new/0", "new/1", "same-ms/0"]
    assert _state(spark, tbl) == (tbl.payload, latest)
    assert process_inference_table(tbl.payload, tbl.processed, spark=spark).new_rows == 0


def test_a_starting_version_and_versions_without_a_successful_request(spark, tbl):
    """From ``next_version`` (taken before the traffic) the first call reads only what came
    after; versions that hold no successful request move the state on all the same."""
    assert next_version(tbl.payload, spark=spark) == 0  # no table yet: from its first commit
    tbl.write([records_row([{"x": 1}], [0], crid="before", ts=T0)])
    start = next_version(tbl.payload, spark=spark)
    assert start == tables.files.version(tbl.payload, home=tbl.home) + 1
    tbl.write([records_row([{"x": 2}], [0], crid="after", ts=T0 - 5)])
    got = process_inference_table(tbl.payload, tbl.processed, spark=spark, starting_version=start)
    assert (got.new_rows, got.first_version, got.full_read) == (1, start, False)
    assert _ids(spark, tbl) == ["after/0"]
    tbl.write([row({"dataframe_records": [{"x": 9}]}, [], status=400, crid="bad", ts=T0 + 1)])
    latest = tables.files.version(tbl.payload, home=tbl.home)
    got = process_inference_table(tbl.payload, tbl.processed, spark=spark)
    assert (got.new_rows, got.last_version) == (0, latest)
    assert _state(spark, tbl) == (tbl.payload, latest) and _ids(spark, tbl) == ["after/0"]
    for bad in (-1, "3", True):
        with pytest.raises(ParameterError, match="starting_version must be a version number"):
            process_inference_table(tbl.payload, tbl.processed, spark=spark, starting_version=bad)


def test_event_times_labels_merged_later_and_requests_without_an_event_time(spark, tbl):
    """An ISO 8601 event time in the records becomes a timestamp column; ``label_col`` adds
    the label, NULL until a MERGE INTO sets it, and NULL for rows appended afterwards; a
    request without an event time is kept and falls in no monitoring window."""
    frame = data.monitoring_traffic(
        8, granularity="1 hour", before=datetime(2026, 11, 18, 12, tzinfo=UTC)
    )
    sent = data.request_records(frame)
    tbl.write([records_row([r], [1], crid=f"r{i}", ts=T0 + i) for i, r in enumerate(sent[:6])])
    process_inference_table(tbl.payload, tbl.processed, spark=spark, label_col=data.LABEL)
    types = dict(spark.table(tbl.processed).dtypes)
    assert types[data.EVENT_TIME] == "timestamp" and types[data.LABEL] == types["prediction"]
    labels = spark.createDataFrame(frame[[data.KEY, data.EVENT_TIME, data.LABEL]])
    labels.createOrReplaceTempView("labels_arrived")
    merged = spark.sql(f"""
        MERGE INTO {tbl.processed} AS i USING labels_arrived AS l
        ON i.customer_id = l.customer_id AND i.transaction_ts = l.transaction_ts
        WHEN MATCHED THEN UPDATE SET i.churned = l.churned""").first()
    assert merged["num_updated_rows"] == 6
    tbl.write(
        [records_row([r], [0], crid=f"r{i}", ts=T0 + i) for i, r in enumerate(sent[6:], 6)]
        + [
            records_row(
                [{data.KEY: 1, **dict.fromkeys(data.FEATURES, 1)}], [0], crid="no-time", ts=T0 + 9
            )
        ]
    )
    assert process_inference_table(tbl.payload, tbl.processed, spark=spark).new_rows == 3
    got = _read(spark, tbl).sort_values("client_request_id")
    want = dict(zip(frame[data.KEY], frame[data.LABEL], strict=True))
    labeled = got[got["client_request_id"].isin([f"r{i}" for i in range(6)])]
    assert (labeled[data.LABEL] == labeled[data.KEY].map(want)).all()
    assert got[~got.index.isin(labeled.index)][data.LABEL].isna().all()  # not merged yet
    stamps = got.set_index("client_request_id")[data.EVENT_TIME]
    assert stamps["r0"] == frame[data.EVENT_TIME][0].tz_localize(None) and pd.isna(
        stamps["no-time"]
    )
    profile = profile_metrics(
        tables.read_table(tbl.processed, spark=spark),
        "1 hour",
        timestamp_col=data.EVENT_TIME,
        columns=["prediction"],
    )
    everyone = profile[(profile["model_version"] == "*") & (profile["column_name"] == ":table")]
    assert sorted(everyone["count"]) == [4, 4]  # two windows, the unstamped row in none
    with pytest.raises(ParameterError, match="has no label column 'label'"):
        process_inference_table(tbl.payload, tbl.processed, spark=spark, label_col="label")


def test_the_features_of_the_table_afterwards_and_tables_made_otherwise(spark, tbl):
    tbl.write(
        [
            records_row([{"x": i, "y": 10 * i}], [0], crid=f"r{i}", ts=T0 + 1000 * i)
            for i in range(4)
        ]
    )
    got = process_inference_table(tbl.payload, tbl.processed, spark=spark, features=["x"])
    assert got.new_rows == 4 and "y" not in _read(spark, tbl).columns
    tbl.write([records_row([{"y": 1}], [0], crid="no-x", ts=T0 + 9000)])
    with pytest.raises(ParameterError, match=r"\['x'\] are in no sampled request"):
        process_inference_table(tbl.payload, tbl.processed, spark=spark)  # the table's features
    assert sorted(_read(spark, tbl)["x"]) == [0, 1, 2, 3]
    other = tbl.write(
        [records_row([{"x": 1}], [0], crid="o", ts=T0)],
        name=tbl.payload.replace("_payload", "_other_payload"),
    )
    with pytest.raises(ParameterError, match=f"made from {tbl.payload}, not by"):
        process_inference_table(other, tbl.processed, spark=spark)  # another payload table
    plain = tbl.processed.replace("_processed", "_plain")
    tables.write_table(plain, _read(spark, tbl), spark=spark)
    with pytest.raises(ParameterError, match="made by another writer"):
        process_inference_table(tbl.payload, plain, spark=spark)


def test_metrics_from_the_processed_table_equal_those_from_the_payload(spark, tbl):
    tbl.write(
        [
            records_row(
                [{"x": i % 7, "z": i * 0.5}],
                [i % 2],
                crid=f"r{i}",
                version=str(1 + i % 2),
                ts=T0 + 60_000 * i,
            )
            for i in range(120)
        ]
    )
    process_inference_table(tbl.payload, tbl.processed, spark=spark)
    cols = ["x", "z", "prediction"]
    direct = profile_metrics(
        unpack_inference_table(tbl.payload, spark=spark), "1 hour", columns=cols
    )
    stored = profile_metrics(tables.read_table(tbl.processed, spark=spark), "1 hour", columns=cols)
    pd.testing.assert_frame_equal(direct, stored)
    assert set(direct["model_version"]) >= {"1", "2"}


@pytest.mark.parametrize(
    "granularity",
    ["5 minutes", "30 minutes", "1 hour", "1 day", "1 week", "3 weeks", "1 month", "1 year"],
)
def test_each_phase_of_the_traffic_fills_one_window_of_the_monitor(spark, granularity):
    """The normal and drifted phases' event times fall in two consecutive windows of the
    granularity, as the monitor cuts them (recipes.monitoring.windows)."""
    from pyspark.sql import functions as F

    from recipes.monitoring.windows import window_column

    frame = data.monitoring_traffic(
        40, granularity=granularity, before=datetime(2026, 3, 1, 7, 3, tzinfo=UTC)
    )
    df = spark.createDataFrame(frame[["phase", data.EVENT_TIME]])
    windows = (
        df.select("phase", window_column(granularity, data.EVENT_TIME).alias("w"))
        .groupBy("phase")
        .agg(
            F.countDistinct("w").alias("n"), F.min("w.start").alias("s"), F.max("w.end").alias("e")
        )
        .toPandas()
        .set_index("phase")
    )
    assert windows["n"].tolist() == [1, 1]
    assert windows.loc["normal", "e"] == windows.loc["drifted", "s"]
    assert windows.loc["drifted", "e"] <= pd.Timestamp("2026-03-01 07:03")
