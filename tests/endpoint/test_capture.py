"""recipes.endpoint.capture: the AI Gateway inference table's schema and name, the
``system.serving.served_entities`` rows that name its served entities, and the buffered writer
that appends to Delta tables with delta-rs."""

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
from recipes.endpoint.capture import (
    PAYLOAD_SCHEMA,
    SERVED_ENTITIES_SCHEMA,
    SERVED_ENTITIES_TABLE,
    CaptureWriter,
    make_row,
    served_entity_id,
    served_entity_row,
)
from recipes.endpoint.config import EntitySpec
from recipes.endpoint.gateway import parse_inference_table
from recipes.errors import ApiError, KitError, ParameterError
from recipes.formats import encode

TABLE = "main.serving.churn_payload"
SPEC = EntitySpec(name="churn-predictor-2", entity_name="churn-predictor", entity_version="2")
ENTITY_ID = served_entity_id("e" * 32, SPEC)
NO_ENTITY = dict(  # a request no served entity answered (e.g. a 404)
    request_id="r",
    client_request_id=None,
    status_code=404,
    execution_duration_ms=0,
    request="{}",
    response="{}",
    served_entity_id=None,
)
T2026 = 1_767_225_600  # 2026-01-01T00:00:00Z, epoch seconds
# Databricks' "AI Gateway-enabled inference table schema", in its order, as Delta types
# (https://docs.databricks.com/aws/en/ai-gateway/inference-tables)
DOCUMENTED = [
    ("request_date", "date"),
    ("databricks_request_id", "string"),
    ("client_request_id", "string"),
    ("request_time", "timestamp"),
    ("status_code", "integer"),
    ("sampling_fraction", "double"),
    ("execution_duration_ms", "long"),
    ("request", "string"),
    ("response", "string"),
    ("served_entity_id", "string"),
    ("logging_error_codes", "array<string>"),
    ("requester", "string"),
]
# Databricks' system.serving.served_entities (system tables reference), in its order
SERVED_ENTITIES_COLUMNS = [
    "served_entity_id",
    "account_id",
    "workspace_id",
    "created_by",
    "endpoint_name",
    "endpoint_id",
    "served_entity_name",
    "entity_type",
    "entity_name",
    "entity_version",
    "endpoint_config_version",
    "task",
    "external_model_config",
    "foundation_model_config",
    "custom_model_config",
    "feature_spec_config",
    "change_time",
    "endpoint_delete_time",
]


def _row(i: int, **over) -> dict:
    values = NO_ENTITY | {
        "request_id": f"req-{i}",
        "status_code": 200,
        "execution_duration_ms": 3,
        "request": json.dumps(encode([{"x": i}], "dataframe_records")),
        "response": json.dumps({"predictions": [i % 2]}),
        "served_entity_id": ENTITY_ID,
        "request_time": T2026 + i / 1000,
    }
    return make_row(**(values | over))


def _delta_types(name: str, home=None) -> list[tuple[str, str]]:
    """The table's (column, type) from its Delta log, read with delta-rs, as Spark names them."""

    def spark_type(t):
        if isinstance(t, str):
            return t
        if t["type"] == "array":
            return f"array<{spark_type(t['elementType'])}>"
        return (
            "struct<" + ",".join(f"{f['name']}:{spark_type(f['type'])}" for f in t["fields"]) + ">"
        )

    fields = json.loads(tables.files.delta_schema(name, home=home).to_json())["fields"]
    return [(f["name"], spark_type(f["type"])) for f in fields]


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


def test_payload_schema_is_databricks_ai_gateway_table():
    assert [(f.name, str(f.type)) for f in PAYLOAD_SCHEMA] == [
        ("request_date", "date32[day]"),
        ("databricks_request_id", "string"),
        ("client_request_id", "string"),
        ("request_time", "timestamp[us, tz=UTC]"),
        ("status_code", "int32"),
        ("sampling_fraction", "double"),
        ("execution_duration_ms", "int64"),
        ("request", "string"),
        ("response", "string"),
        ("served_entity_id", "string"),
        ("logging_error_codes", "list<item: string>"),
        ("requester", "string"),
    ]
    assert all(f.nullable for f in PAYLOAD_SCHEMA)  # as in the tables Databricks makes
    assert SERVED_ENTITIES_SCHEMA.names == SERVED_ENTITIES_COLUMNS


def test_make_row_fills_every_column():
    row = _row(0, client_request_id="mine", request_time=T2026 - 0.001)
    assert list(row) == PAYLOAD_SCHEMA.names
    assert row["databricks_request_id"] == "req-0" and row["client_request_id"] == "mine"
    assert row["request_time"] == dt.datetime(2025, 12, 31, 23, 59, 59, 999000, tzinfo=dt.UTC)
    assert row["request_date"] == dt.date(2025, 12, 31)  # the UTC day of the request time
    assert row["sampling_fraction"] == 1.0 and row["logging_error_codes"] == []
    assert row["served_entity_id"] == ENTITY_ID and row["requester"] == "mdk"
    now = make_row(**NO_ENTITY)
    assert abs(now["request_time"].timestamp() - time.time()) < 60
    assert now["served_entity_id"] is None


def test_bodies_too_large_to_log_are_null_with_databricks_error_codes(monkeypatch):
    monkeypatch.setattr(capture, "MAX_LOGGED_BYTES", 40)
    big = json.dumps({"dataframe_records": [{"x": "y" * 30}]})  # more than 40 bytes
    row = _row(0, request=big)
    assert row["request"] is None and row["logging_error_codes"] == ["MAX_REQUEST_SIZE_EXCEEDED"]
    assert row["response"] is not None
    both = _row(0, request=big, response=big)
    assert (both["request"], both["response"]) == (None, None)
    assert both["logging_error_codes"] == [
        "MAX_REQUEST_SIZE_EXCEEDED",
        "MAX_RESPONSE_SIZE_EXCEEDED",
    ]


def test_served_entity_ids_are_stable_and_distinct():
    again = EntitySpec(
        name=SPEC.name, entity_name=SPEC.entity_name, entity_version=2, workload_size="Large"
    )
    assert served_entity_id("e" * 32, again) == ENTITY_ID  # same endpoint, entity and version
    assert len(ENTITY_ID) == 32 and int(ENTITY_ID, 16) >= 0
    others = {
        served_entity_id("f" * 32, SPEC),  # another endpoint
        served_entity_id("e" * 32, EntitySpec("churn-predictor-2", "churn-predictor", "3")),
        served_entity_id("e" * 32, EntitySpec("challenger", "churn-predictor", "2")),
        served_entity_id("e" * 32, EntitySpec("churn-predictor-2", "other-model", "2")),
    }
    assert len(others) == 4 and ENTITY_ID not in others
    row = served_entity_row(
        endpoint_name="churn", endpoint_id="e" * 32, spec=SPEC, config_version=3, change_time=T2026
    )
    assert list(row) == SERVED_ENTITIES_COLUMNS
    assert row["served_entity_id"] == ENTITY_ID and row["entity_type"] == "CUSTOM_MODEL"
    assert (
        row["endpoint_name"],
        row["served_entity_name"],
        row["entity_name"],
        row["entity_version"],
        row["endpoint_config_version"],
    ) == ("churn", "churn-predictor-2", "churn-predictor", "2", 3)
    assert row["change_time"] == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert row["custom_model_config"] == {
        "min_concurrency": 1,
        "max_concurrency": 4,
        "compute_type": "CPU",
    }


@pytest.mark.parametrize(
    ("config", "endpoint", "expected"),
    [
        (
            {
                "catalog_name": "main",
                "schema_name": "serving",
                "table_name_prefix": "churn",
                "enabled": True,
            },
            "x",
            "main.serving.churn_payload",
        ),
        (
            {
                "catalog_name": "Main",
                "schema_name": "Serving",
                "table_name_prefix": "Churn",
                "enabled": True,
            },
            "x",
            "main.serving.churn_payload",
        ),
        (
            {"catalog_name": "main", "schema_name": "serving", "enabled": True},
            "churn-endpoint",
            "main.serving.churn_endpoint_payload",
        ),
        (
            {
                "catalog_name": "main",
                "schema_name": "serving",
                "table_name_prefix": None,
                "enabled": True,
            },
            "ep",
            "main.serving.ep_payload",
        ),
    ],
)
def test_payload_table_name(config, endpoint, expected):
    assert parse_inference_table(config, endpoint=endpoint).payload_table == expected


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
    if isinstance(config, dict):
        config = config | {"enabled": True}
    with pytest.raises(ApiError) as err:
        parse_inference_table(config, endpoint=endpoint)
    message = str(err.value)
    assert err.value.status == 400 and err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "\n" not in message and "ai_gateway.inference_table_config" in message


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
        "delta.enableChangeDataFeed": "true",
        "delta.checkpointInterval": "10",
        "created_by": "mdk",
    }
    assert tables.properties(TABLE) == delta.metadata().configuration
    assert [(f.name, f.nullable) for f in delta.schema().fields] == [
        (f.name, f.nullable) for f in PAYLOAD_SCHEMA
    ]
    assert _delta_types(TABLE) == DOCUMENTED  # Databricks' columns and types, from the log
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


def test_columns_round_trip_with_their_types(mdk_home):
    with CaptureWriter() as writer:
        writer.add(TABLE, _row(0, client_request_id="abc"))
        writer.add(TABLE, make_row(**NO_ENTITY, request_time=T2026 + 1))  # no entity answered
    df = tables.read(TABLE).sort_values("request_time", ignore_index=True)
    assert df["client_request_id"].tolist() == ["abc", None]
    assert df["served_entity_id"].tolist() == [ENTITY_ID, None]
    assert df["request_date"].tolist() == [dt.date(2026, 1, 1)] * 2
    assert df["request_time"][1] == dt.datetime(2026, 1, 1, 0, 0, 1, tzinfo=dt.UTC)
    assert df["status_code"].tolist() == [200, 404] and df["requester"].tolist() == ["mdk"] * 2
    assert [list(c) for c in df["logging_error_codes"]] == [[], []]
    assert json.loads(df["request"][0]) == {"dataframe_records": [{"x": 0}]}


def test_served_entities_are_written_once_per_id_across_writers(mdk_home):
    """A served entity's row is written the first time; a later writer (a restarted endpoint)
    and a second add leave it alone; another entity gets its own row."""
    other = EntitySpec(name="challenger", entity_name="churn-predictor", entity_version="3")
    first = served_entity_row(
        endpoint_name="churn", endpoint_id="e" * 32, spec=SPEC, config_version=1, change_time=T2026
    )
    with CaptureWriter() as writer:
        writer.add_served_entity(first)
        writer.add_served_entity(first)
        assert writer.has_served_entity(ENTITY_ID)
    with CaptureWriter() as restarted:
        assert not restarted.has_served_entity(ENTITY_ID)
        restarted.add_served_entity(first | {"endpoint_config_version": 2})
        restarted.add_served_entity(
            served_entity_row(
                endpoint_name="churn", endpoint_id="e" * 32, spec=other, config_version=2
            )
        )
    assert restarted.stats()["rows_written"] == 1
    rows = tables.read(SERVED_ENTITIES_TABLE).sort_values("change_time", ignore_index=True)
    assert rows["served_entity_id"].tolist() == [ENTITY_ID, served_entity_id("e" * 32, other)]
    assert rows["endpoint_config_version"].tolist() == [1, 2]  # the first row was kept
    assert rows["entity_version"].tolist() == ["2", "3"]
    types = dict(_delta_types(SERVED_ENTITIES_TABLE))
    assert list(types) == SERVED_ENTITIES_COLUMNS
    assert (types["change_time"], types["endpoint_config_version"]) == ("timestamp", "long")
    assert types["custom_model_config"] == (
        "struct<min_concurrency:long,max_concurrency:long,compute_type:string>"
    )
    assert tables.properties(SERVED_ENTITIES_TABLE)["created_by"] == "mdk"
    with pytest.raises(ParameterError, match="system table"):
        CaptureWriter().add(SERVED_ENTITIES_TABLE, _row(0))
    with pytest.raises(ParameterError, match="served_entity_row"):
        CaptureWriter().add_served_entity({"served_entity_id": "x"})


@pytest.mark.parametrize(
    "row",
    [
        {"databricks_request_id": "x"},
        _row(0) | {"extra": 1},
        _row(0) | {"status_code": "200"},
        _row(0) | {"status_code": 2**40},
        _row(0) | {"request": {"not": "json text"}},
        _row(0) | {"request_date": "2026-01-01"},
        _row(0) | {"request_date": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)},
        _row(0) | {"request_time": dt.datetime(2026, 1, 1)},  # naive: which zone?
        _row(0) | {"request_time": T2026},
        _row(0) | {"logging_error_codes": [1]},
        _row(0) | {"served_entity_id": 7},
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
