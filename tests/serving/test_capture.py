"""recipes.endpoint.capture: the inference-table schema, its name, and the buffered writer
that appends to a Delta table with delta-rs."""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess
import sys
import textwrap
import threading
import time

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from recipes import tables
from recipes.endpoint import capture
from recipes.endpoint.capture import PAYLOAD_SCHEMA, CaptureWriter, make_row
from recipes.endpoint.config import parse_config
from recipes.errors import ApiError, KitError, ParameterError

TABLE = "main.serving.churn_payload"
NO_ENTITY = dict(  # a request no served entity answered (e.g. a 404)
    request_id="r", client_request_id=None, status_code=404, execution_time_ms=0, request="{}",
    response="{}", endpoint_name="churn", model_name=None, model_version=None,
    served_entity_name=None,
)  # fmt: skip
METADATA = {"endpoint_name": "churn", "model_name": "churn-predictor", "model_version": "2",
            "served_entity_name": "churn-predictor-2"}  # fmt: skip


def _row(i: int, **over) -> dict:
    values = NO_ENTITY | METADATA | {
        "request_id": f"req-{i}", "status_code": 200, "execution_time_ms": 3,
        "request": json.dumps({"dataframe_records": [{"x": i}]}),
        "response": json.dumps({"predictions": [i % 2]}),
        "timestamp_ms": 1_767_225_600_000 + i,  # 2026-01-01T00:00:00Z
    }  # fmt: skip
    return make_row(**(values | over))


def _wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.02)
    return predicate()


def _count() -> int:
    return tables.row_count(TABLE) if tables.exists(TABLE) else 0


def _appends(name: str = TABLE) -> int:
    """The table's append commits (one per flush that had rows), from Delta's history."""
    history = DeltaTable(str(tables.table_path(name))).history()
    return sum(h["operation"] == "WRITE" for h in history)


def _ids() -> list[str]:
    """The request ids in the order they were committed: by commit version (the change
    feed's ``_commit_version``), then as written within the commit's one file. A plain scan
    of a Delta table gives no order across files."""
    feed = DeltaTable(str(tables.table_path(TABLE))).load_cdf(starting_version=0)
    rows = pa.RecordBatchReader.from_stream(feed).read_all()
    assert set(rows["_change_type"].to_pylist()) <= {"insert"}
    order = sorted(range(rows.num_rows), key=rows["_commit_version"].to_pylist().__getitem__)
    return [rows["databricks_request_id"][i].as_py() for i in order]


# --------------------------------------------------------------------------- schema and names


def test_payload_schema_columns_exactly():
    assert [(f.name, str(f.type)) for f in PAYLOAD_SCHEMA] == [
        ("databricks_request_id", "string"), ("client_request_id", "string"),
        ("date", "date32[day]"), ("timestamp_ms", "int64"), ("status_code", "int32"),
        ("execution_time_ms", "int64"), ("sampling_fraction", "double"),
        ("request", "string"), ("response", "string"),
        ("request_metadata", "map<string, string>"),
    ]  # fmt: skip
    assert PAYLOAD_SCHEMA.field("client_request_id").nullable


def test_make_row_fills_every_column():
    row = _row(0, client_request_id="mine", timestamp_ms=1_767_225_599_999)
    assert list(row) == PAYLOAD_SCHEMA.names
    assert row["databricks_request_id"] == "req-0" and row["client_request_id"] == "mine"
    assert row["date"] == dt.date(2025, 12, 31)  # the UTC day of the timestamp
    assert row["sampling_fraction"] == 1.0 and row["request_metadata"] == METADATA
    assert abs(make_row(**NO_ENTITY)["timestamp_ms"] - time.time() * 1000) < 60_000


@pytest.mark.parametrize(
    ("config", "endpoint", "expected"),
    [
        ({"catalog_name": "main", "schema_name": "serving", "table_name_prefix": "churn"}, "x",
         "main.serving.churn_payload"),
        ({"catalog_name": "Main", "schema_name": "Serving", "table_name_prefix": "Churn"}, "x",
         "main.serving.churn_payload"),
        ({"catalog_name": "main", "schema_name": "serving", "enabled": True}, "churn-endpoint",
         "main.serving.churn_endpoint_payload"),
        ({"catalog_name": "main", "schema_name": "serving", "table_name_prefix": None}, "ep",
         "main.serving.ep_payload"),
    ],
)  # fmt: skip
def test_payload_table_name(config, endpoint, expected):
    assert payload_table(config, endpoint_name=endpoint) == expected


def payload_table(config, *, endpoint_name: str) -> str:
    """The server's one naming rule: ``auto_capture_config`` as parsed with an endpoint."""
    entity = {"entity_name": "churn-predictor", "entity_version": "1"}
    raw = {"served_entities": [entity], "auto_capture_config": config}
    return parse_config(raw, endpoint=endpoint_name).capture.payload_table


@pytest.mark.parametrize(
    ("config", "endpoint"),
    [
        ({"schema_name": "serving", "table_name_prefix": "churn"}, "churn"),
        ({"catalog_name": "main", "table_name_prefix": "churn"}, "churn"),
        ({"catalog_name": "main", "schema_name": "serving", "table_name_prefix": "a.b"}, "churn"),
        ({"catalog_name": "my-catalog", "schema_name": "serving"}, "churn"),
        ({"catalog_name": "main", "schema_name": "", "table_name_prefix": "churn"}, "churn"),
        ({"catalog_name": "main", "schema_name": "serving"}, "churn.v2"),  # default prefix
        ("main.serving.churn", "churn"),
    ],
)
def test_payload_table_bad_config(config, endpoint):
    with pytest.raises(ApiError) as err:
        payload_table(config, endpoint_name=endpoint)
    message = str(err.value)
    assert err.value.status == 400 and err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "\n" not in message and "auto_capture_config" in message
    assert "letters, digits and underscores" in message or "must be an object" in message


# --------------------------------------------------------------------------- the writer


def test_construction_has_no_side_effects(mdk_home):
    before = {t.name for t in threading.enumerate()}
    writer = CaptureWriter(flush_interval=0.01)
    assert {t.name for t in threading.enumerate()} == before
    assert writer.stats() == dict(rows_written=0, flushes=0, last_error=None, rows_buffered=0)
    writer.close()  # closing a writer never started is fine, and writes nothing
    assert not (mdk_home / "warehouse").exists()
    for bad in ({"flush_interval": 0}, {"max_buffer_rows": 0}):
        with pytest.raises(ParameterError, match="above 0"):
            CaptureWriter(**bad)


def test_the_table_is_delta_with_the_change_feed_and_the_kit_mark(mdk_home):
    with CaptureWriter() as writer:
        writer.add(TABLE, _row(0))
    delta = DeltaTable(str(tables.table_path(TABLE)))
    assert delta.metadata().configuration == {
        "delta.enableChangeDataFeed": "true", "delta.checkpointInterval": "10",
        "created_by": "mdk",
    }  # fmt: skip
    assert tables.properties(TABLE) == delta.metadata().configuration
    assert [(f.name, f.nullable) for f in delta.schema().fields] == [
        (f.name, f.nullable) for f in PAYLOAD_SCHEMA
    ]
    assert [h["operation"] for h in delta.history()] == ["WRITE", "CREATE TABLE"]  # newest first
    assert delta.version() == 1 and tables.row_count(TABLE) == 1


def test_a_dropped_table_is_created_again(mdk_home):
    with CaptureWriter(flush_interval=3600) as writer:
        writer.add(TABLE, _row(0))
        writer.flush()
        assert tables.files.drop(TABLE)
        writer.add(TABLE, _row(1))
    assert _ids() == ["req-1"] and tables.properties(TABLE)["created_by"] == "mdk"


def test_concurrent_adds_lose_nothing(mdk_home):
    writer = CaptureWriter(flush_interval=0.01, max_buffer_rows=100)
    start = threading.Barrier(8)

    def produce(t: int) -> None:
        start.wait()
        for i in range(500):
            writer.add(TABLE, _row(i, request_id=f"t{t}-{i}"))

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    ids = _ids()
    assert len(ids) == 4000 == tables.row_count(TABLE) and len(set(ids)) == 4000
    stats = writer.stats()
    assert stats["rows_written"] == 4000 and stats["rows_buffered"] == 0
    assert stats["flushes"] == _appends()
    for t in range(8):  # each producer's rows stay in the order it added them
        assert [r for r in ids if r.startswith(f"t{t}-")] == [f"t{t}-{i}" for i in range(500)]


def test_background_flush_without_calling_flush(mdk_home):
    writer = CaptureWriter(flush_interval=0.5)
    try:
        writer.add(TABLE, _row(1))  # starts the flusher lazily
        assert _wait_for(lambda: _count() == 1, timeout=0.5 * 3)
    finally:
        writer.close()


def test_no_commit_when_nothing_is_buffered(mdk_home):
    with CaptureWriter(flush_interval=0.02) as writer:
        writer.add(TABLE, _row(1))
        assert _wait_for(lambda: _count() == 1, timeout=10)
        time.sleep(0.2)  # about ten idle ticks
        assert _appends() == 1 and writer.stats()["flushes"] == 1
    assert _appends() == 1


def test_a_full_buffer_wakes_the_flusher(mdk_home):
    with CaptureWriter(flush_interval=3600, max_buffer_rows=10) as writer:
        for i in range(9):
            writer.add(TABLE, _row(i))
        time.sleep(0.1)
        assert _count() == 0  # no tick for an hour, and the buffer is not full yet
        writer.add(TABLE, _row(9))
        assert _wait_for(lambda: _count() == 10, timeout=10)
        assert _appends() == 1


def test_flush_writes_now_and_close_writes_the_rest(mdk_home):
    writer = CaptureWriter(flush_interval=3600).start()
    other = "main.serving.other_payload"
    for i in range(5):
        writer.add(TABLE, _row(i))
    writer.flush()
    writer.flush()  # nothing buffered: no new commit
    assert _count() == 5 and _appends() == 1
    writer.add(TABLE, _row(5))
    writer.add(other.upper(), _row(99))
    assert writer.stats()["rows_buffered"] == 2 and not tables.exists(other)
    writer.close()
    assert _ids() == [f"req-{i}" for i in range(6)] and tables.row_count(other) == 1
    assert writer.stats() == dict(rows_written=7, flushes=3, last_error=None, rows_buffered=0)
    writer.close()  # idempotent
    with pytest.raises(KitError, match="closed"):
        writer.add(TABLE, _row(8))


def test_rows_left_at_exit_are_written(mdk_home):
    script = f"""
        from recipes.endpoint.capture import CaptureWriter, make_row
        writer = CaptureWriter(flush_interval=3600)
        writer.add({TABLE!r}, make_row(**{NO_ENTITY!r}))
    """  # the process ends without close()
    subprocess.run([sys.executable, "-c", textwrap.dedent(script)], check=True, timeout=120)
    assert _ids() == ["r"]


def _flaky_append(monkeypatch, failures: int) -> list[int]:
    real, calls = tables.append, []

    def flaky(name, data, *, home=None, configuration=None):
        calls.append(data.num_rows)
        if len(calls) <= failures:
            raise OSError(5, "Input/output error")
        return real(name, data, home=home, configuration=configuration)

    monkeypatch.setattr(tables, "append", flaky)
    return calls


class _Records(logging.Handler):
    """Keeps the records of one logger, whatever other tests did to the root's handlers."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def capture_records():
    """The capture logger's INFO+ records, kept by a handler of its own (not the root's,
    which other tests' libraries may reconfigure); the logger is restored afterwards."""
    kept, level = _Records(), capture.log.level
    capture.log.addHandler(kept)
    capture.log.setLevel(logging.INFO)
    try:
        yield kept.records
    finally:
        capture.log.removeHandler(kept)
        capture.log.setLevel(level)


def test_failing_append_loses_nothing(mdk_home, monkeypatch, capture_records):
    calls = _flaky_append(monkeypatch, failures=2)
    with CaptureWriter(flush_interval=0.05) as writer:
        writer.add(TABLE, _row(0))
        assert _wait_for(lambda: len(calls) >= 2, timeout=10)
        for i in range(1, 5):
            writer.add(TABLE, _row(i))
        assert _wait_for(lambda: _count() == 5, timeout=10)
        assert "Input/output error" in writer.stats()["last_error"]
    assert _ids() == [f"req-{i}" for i in range(5)]
    assert writer.stats()["rows_written"] == 5 and writer.stats()["rows_buffered"] == 0
    errors = [r for r in capture_records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "will retry" in errors[0].getMessage()  # once per streak
    assert any("works again" in r.getMessage() for r in capture_records)


def test_synchronous_flush_reports_failure_and_keeps_rows(mdk_home, monkeypatch):
    _flaky_append(monkeypatch, failures=2)
    writer = CaptureWriter(flush_interval=3600)
    for i in range(3):
        writer.add(TABLE, _row(i))
    with pytest.raises(KitError) as err:
        writer.flush()
    assert "\n" not in str(err.value) and "call flush() again" in str(err.value)
    writer.add(TABLE, _row(3))
    with pytest.raises(KitError):
        writer.close()  # the remainder fails again: still kept
    assert writer.stats()["rows_buffered"] == 4
    writer.flush()
    assert _ids() == [f"req-{i}" for i in range(4)]


def test_map_column_round_trips(mdk_home):
    with CaptureWriter() as writer:
        writer.add(TABLE, _row(0, client_request_id="abc"))
        writer.add(TABLE, make_row(**NO_ENTITY))  # no entity answered: null metadata values
    df = tables.read(TABLE)
    first, second = df["request_metadata"].tolist()
    assert dict(first) == METADATA
    assert dict(second) == dict.fromkeys(METADATA, None) | {"endpoint_name": "churn"}
    assert df["client_request_id"].tolist() == ["abc", None]
    assert df["date"][0] == dt.date(2026, 1, 1) and df["status_code"].tolist() == [200, 404]
    assert json.loads(df["request"][0]) == {"dataframe_records": [{"x": 0}]}


@pytest.mark.parametrize(
    "row",
    [
        {"databricks_request_id": "x"},
        _row(0) | {"extra": 1},
        _row(0) | {"status_code": "200"},
        _row(0) | {"status_code": 2**40},
        _row(0) | {"request": {"not": "json text"}},
        _row(0) | {"date": "2026-01-01"},
        _row(0) | {"request_metadata": {"endpoint_name": 1}},
        _row(0) | {"databricks_request_id": None},
    ],
)
def test_add_refuses_a_malformed_row(row, mdk_home):
    writer = CaptureWriter()
    with pytest.raises(ParameterError, match="make_row"):
        writer.add(TABLE, row)
    with pytest.raises(ParameterError, match="catalog.schema.table"):
        writer.add("payload", _row(0))
    assert writer.stats()["rows_buffered"] == 0
    writer.close()
