"""process_inference_table: the payload table unpacked once, then only what is new appended."""

from __future__ import annotations

import pandas as pd
import pytest

from recipes import tables
from recipes.errors import ParameterError
from recipes.monitoring import process_inference_table, profile_metrics, unpack_inference_table
from recipes.monitoring import processed as processed_module
from tests.monitoring.payloads import T0, records_row, row, split_row

pytestmark = pytest.mark.spark


def _read(spark, tbl) -> pd.DataFrame:
    """The processed table as pandas, read back through the session that wrote it."""
    return tables.read_table(tbl.processed, spark=spark).toPandas()


def _ids(spark, tbl) -> list[str]:
    got = _read(spark, tbl)
    return sorted(got["client_request_id"] + "/" + got["row_index"].astype(str))


def test_first_call_unpacks_everything_and_a_rerun_appends_nothing(spark, tbl):
    tbl.write([
        records_row([{"x": 1}, {"x": 2}], [0, 1], crid="a", ts=T0),
        split_row(["x"], [[3]], [1], crid="b", ts=T0 + 10),
        row({"dataframe_records": [{"x": 9}]}, [], status=400, crid="bad", ts=T0 + 20),
    ])  # fmt: skip
    first = process_inference_table(tbl.payload, tbl.processed, spark=spark)
    assert first.new_rows == 3 and first.cutoff_ms is None
    assert _ids(spark, tbl) == ["a/0", "a/1", "b/0"]  # the 400 is left out, as unpack leaves it
    again = process_inference_table(tbl.payload, tbl.processed, spark=spark)
    assert again.new_rows == 0 and again.cutoff_ms == T0  # the lookback stops at the oldest
    assert _ids(spark, tbl) == ["a/0", "a/1", "b/0"]
    assert "0 new scored records" in str(again)


def test_late_and_same_millisecond_requests_are_appended_once(spark, tbl):
    tbl.write([records_row([{"x": 0}], [0], crid="first", ts=T0),
                    records_row([{"x": 1}], [0], crid="a", ts=T0 + 5_000)])  # fmt: skip
    process_inference_table(tbl.payload, tbl.processed, spark=spark)
    tbl.write([
        records_row([{"x": 2}], [1], crid="same-ms", ts=T0 + 5_000),  # as new as the newest
        records_row([{"x": 3}], [1], crid="late", ts=T0 + 1_000),  # captured after it
        records_row([{"x": 4}, {"x": 5}], [0, 0], crid="new", ts=T0 + 9_000),
    ])  # fmt: skip
    step = process_inference_table(tbl.payload, tbl.processed, spark=spark)
    assert step.new_rows == 4
    assert _ids(spark, tbl) == ["a/0", "first/0", "late/0", "new/0", "new/1", "same-ms/0"]
    assert process_inference_table(tbl.payload, tbl.processed, spark=spark).new_rows == 0


def test_a_request_older_than_the_lookback_is_not_read_again(spark, tbl, monkeypatch):
    monkeypatch.setattr(processed_module, "LOOKBACK_MS", 1_000)
    tbl.write([records_row([{"x": 1}], [0], crid="a", ts=T0 + 10_000)])
    process_inference_table(tbl.payload, tbl.processed, spark=spark)
    tbl.write([records_row([{"x": 2}], [0], crid="too-late", ts=T0 + 8_000)])
    assert process_inference_table(tbl.payload, tbl.processed, spark=spark).new_rows == 0
    assert _ids(spark, tbl) == ["a/0"]


def test_since_on_the_first_call_and_the_features_of_the_table_afterwards(spark, tbl):
    tbl.write([records_row([{"x": i, "y": 10 * i}], [0], crid=f"r{i}", ts=T0 + 1000 * i)
                    for i in range(4)])  # fmt: skip
    got = process_inference_table(tbl.payload, tbl.processed, spark=spark, since=(T0 + 1500) / 1000,
                                  features=["x"])  # fmt: skip
    assert got.new_rows == 2 and got.cutoff_ms == T0 + 1500
    table = _read(spark, tbl)
    assert "y" not in table.columns and sorted(table["x"]) == [2, 3]
    tbl.write([records_row([{"y": 1}], [0], crid="no-x", ts=T0 + 9000)])
    with pytest.raises(ParameterError, match=r"\['x'\] are in no sampled request"):
        process_inference_table(tbl.payload, tbl.processed, spark=spark)  # the table's features
    assert sorted(_read(spark, tbl)["x"]) == [2, 3]  # r0, r1 stay out


def test_metrics_from_the_processed_table_equal_those_from_the_payload(spark, tbl):
    tbl.write([records_row([{"x": i % 7, "z": i * 0.5}], [i % 2], crid=f"r{i}",
                                version=str(1 + i % 2), ts=T0 + 60_000 * i)
                    for i in range(120)])  # fmt: skip
    process_inference_table(tbl.payload, tbl.processed, spark=spark)
    cols = ["x", "z", "prediction"]
    direct = profile_metrics(
        unpack_inference_table(tbl.payload, spark=spark), "1 hour", columns=cols
    )
    stored = profile_metrics(tables.read_table(tbl.processed, spark=spark), "1 hour", columns=cols)
    pd.testing.assert_frame_equal(direct, stored)
    assert set(direct["model_version"]) >= {"1", "2"}
