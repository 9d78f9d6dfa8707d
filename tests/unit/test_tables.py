"""recipes.tables without a JVM: three-level names, and local Delta tables through delta-rs.

Every table here lives under the test's own ``MDK_HOME`` (the ``mdk_home`` fixture) or a
``tmp_path``; no Spark session starts. What Spark does with the same tables is in
``test_tables_spark.py``.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from unittest import mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError

from recipes import delta_lake, tables
from recipes.errors import KitError, NotFoundError, ParameterError
from recipes.tables import files

NAME = "main.default.scores"
ROOT = Path(__file__).resolve().parents[2]


def _rows(start: int, n: int = 3) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(start, start + n), pa.int64()),
            "label": pa.array([f"r{i}" for i in range(start, start + n)], pa.string()),
        }
    )


def _ids(name: str = NAME, **kw) -> list[int]:
    return sorted(tables.read(name, **kw)["id"].tolist())


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("main.default.scores", ("main", "default", "scores")),
        ("Main.Default.Churn_Scores_2", ("main", "default", "churn_scores_2")),
        ("a.b.c", ("a", "b", "c")),
        ("_x.9.__", ("_x", "9", "__")),
    ],
)
def test_good_names_are_lowercased(name, parts):
    assert tables.check_table_name(name) == parts


@pytest.mark.parametrize(
    "name",
    [
        "scores",
        "default.scores",
        "a.b.c.d",
        "main..scores",
        "main.default.",
        "main.de-fault.scores",
        "main.default.sc ores",
        "main.default.`scores`",
        "main/default/scores",
        "main.default.../etc",
        "",
        None,
        42,
    ],
)
def test_bad_names_are_refused_with_the_fix(name):
    with pytest.raises(ParameterError) as err:
        tables.check_table_name(name)
    message = str(err.value)
    assert "\n" not in message
    assert "catalog.schema.table" in message and "e.g." in message


@pytest.mark.parametrize(
    ("name", "full"),
    [
        ("churn", "main.default.churn"),
        ("Predictions.Churn_Scores", "main.predictions.churn_scores"),
        ("dev.predictions.churn_scores", "dev.predictions.churn_scores"),
        ("`c`.`s`.`t`", "c.s.t"),
    ],
)
def test_qualify_table_name_reads_names_as_databricks_does(name, full):
    assert tables.qualify_table_name(name) == full


@pytest.mark.parametrize("name", ["a.b.c.d", "", "main..t", "s.t-x", None])
def test_qualify_table_name_refuses_others_in_one_line(name):
    with pytest.raises(ParameterError) as err:
        tables.qualify_table_name(name)
    assert "\n" not in str(err.value) and "schema.table" in str(err.value)


def test_schema_names(mdk_home):
    assert tables.check_schema_name("Main.Preds") == ("main", "preds")
    for bad in ("main", "main.a.b", "main.a-b", None):
        with pytest.raises(ParameterError, match="catalog.schema"):
            tables.check_schema_name(bad)


def test_table_path_is_under_the_warehouse(mdk_home, tmp_path):
    assert tables.table_path("Main.Default.Scores") == mdk_home / "warehouse/main/default/scores"
    assert tables.table_path(NAME, home=tmp_path) == tmp_path / "warehouse/main/default/scores"
    assert not (mdk_home / "warehouse").exists()  # computing a path creates nothing


# --------------------------------------------------------------------------- append and read


def test_each_append_is_one_delta_commit(mdk_home):
    assert not tables.exists(NAME)
    versions = [tables.append(NAME, _rows(start)) for start in range(0, 30, 3)]
    assert versions == list(range(10))
    path = tables.table_path(NAME)
    assert (path / "_delta_log").is_dir() and tables.exists("MAIN.default.Scores")
    assert _ids("MAIN.default.Scores") == list(range(30))
    assert tables.row_count(NAME) == 30 and files.version(NAME) == 9
    table = DeltaTable(str(path))  # a Delta table that any Delta reader opens
    assert table.version() == 9 and len(table.history()) == 10
    assert {h["operation"] for h in table.history()} <= {"WRITE", "CREATE TABLE"}


def test_home_argument_points_anywhere(tmp_path, mdk_home):
    other = tmp_path / "elsewhere"
    tables.append(NAME, _rows(0), home=other)
    assert tables.exists(NAME, home=other) and not tables.exists(NAME)
    assert _ids(home=str(other)) == [0, 1, 2]
    assert tables.row_count(NAME, home=other) == 3
    assert (other / "warehouse/main/default/scores/_delta_log").is_dir()


def test_configuration_is_set_when_the_table_is_made(mdk_home):
    assert tables.properties(NAME) == {}  # no table: no properties
    tables.append(NAME, _rows(0), configuration=tables.INFERENCE_TABLE_CONFIG)
    assert tables.properties(NAME) == {
        "delta.enableChangeDataFeed": "true",
        "delta.checkpointInterval": "10",
    }
    tables.append(NAME, _rows(3), configuration={"team": "growth"})  # exists: ignored
    assert tables.properties(NAME) == tables.INFERENCE_TABLE_CONFIG


def test_the_checkpoint_interval_is_delta_s_own(mdk_home):
    tables.append(NAME, _rows(0), configuration={"delta.checkpointInterval": "3"})
    for start in range(3, 15, 3):
        tables.append(NAME, _rows(start))
    log = tables.table_path(NAME) / "_delta_log"
    assert any(p.name.endswith(".checkpoint.parquet") for p in log.iterdir())
    assert tables.row_count(NAME) == 15 and _ids() == list(range(15))


def test_empty_append_sets_the_schema(mdk_home):
    tables.append(NAME, _rows(0, 0))
    assert tables.exists(NAME) and tables.row_count(NAME) == 0
    assert list(tables.read(NAME).columns) == ["id", "label"]
    assert tables.read_arrow(NAME).schema.field("id").type == pa.int64()


def test_delta_refuses_other_columns_and_keeps_the_table(mdk_home):
    tables.append(NAME, _rows(0))
    for bad in (
        pa.table({"id": pa.array([1], pa.int64())}).append_column("extra", pa.array([1])),
        pa.table({"other": pa.array([1], pa.int64())}),
    ):
        with pytest.raises(DeltaError):
            tables.append(NAME, bad)
    assert files.version(NAME) == 0 and _ids() == [0, 1, 2]


def test_a_write_that_fails_midway_commits_nothing(mdk_home):
    tables.append(NAME, _rows(0))
    schema = _rows(0).schema

    def batches():
        for start in range(100, 5100, 1000):
            yield _rows(start, 1000).to_batches()[0]
        raise OSError(28, "No space left on device")

    with pytest.raises(DeltaError, match="No space left"):
        tables.append(NAME, pa.RecordBatchReader.from_batches(schema, batches()))
    assert files.version(NAME) == 0
    assert _ids() == [0, 1, 2] and tables.row_count(NAME) == 3
    tables.append(NAME, _rows(3))  # and the table takes the next write
    assert files.version(NAME) == 1 and tables.row_count(NAME) == 6


def test_map_and_date_columns_read_back_as_spark_gives_them(mdk_home):
    data = pa.table(
        {
            "id": pa.array([0, 1], pa.int64()),
            "day": pa.array([dt.date(2026, 1, 1), dt.date(2026, 1, 2)], pa.date32()),
            "meta": pa.array(
                [{"model": "churn", "version": "1"}, [("model", "churn"), ("version", "2")]],
                pa.map_(pa.string(), pa.string()),
            ),
        }
    )
    tables.append(NAME, data)
    df = tables.read(NAME).sort_values("id")
    assert df["meta"].tolist() == [
        {"model": "churn", "version": "1"},
        {"model": "churn", "version": "2"},
    ]
    assert df["day"].tolist() == [dt.date(2026, 1, 1), dt.date(2026, 1, 2)]


def test_filters_run_in_the_scan(mdk_home):
    tables.append(NAME, _rows(0, 10))
    got = tables.read(NAME, filters=[("label", "in", ["r2", "r7", "nope"])])
    assert sorted(got["id"].tolist()) == [2, 7]
    rows = tables.read_rows(NAME, "label", ["r9", "r0"])  # the kit's helper, local target
    assert sorted(rows["id"].tolist()) == [0, 9]
    assert len(tables.read_rows(NAME, "label", [])) == 10  # no values: no filter


def test_a_missing_table_is_one_line_naming_the_path(mdk_home):
    path = tables.table_path(NAME)
    for call in (tables.read, tables.read_arrow, tables.row_count, files.version):
        with pytest.raises(NotFoundError) as err:
            call(NAME)
        assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert tables.exists(NAME) is False
    with pytest.raises(NotFoundError, match="does not exist"):
        tables.read_table(NAME)  # no spark: delta-rs


def test_a_folder_of_parquet_without_a_log_is_not_a_table(mdk_home):
    path = tables.table_path(NAME)
    path.mkdir(parents=True)
    pq.write_table(_rows(0), path / "part-00000.parquet")
    assert not tables.exists(NAME) and not files.is_delta(path)
    with pytest.raises(NotFoundError):
        tables.read(NAME)
    assert tables.list_tables() == []


def test_list_and_drop(mdk_home, tmp_path):
    assert tables.list_tables() == []
    for name in ("main.b.t2", "main.a.t1", "other.a.t3"):
        tables.append(name, _rows(0, 1))
    tables.table_path("main.a.empty").mkdir(parents=True)  # no log: not a table
    (tables.table_path("main.a.t1").parent / "_hidden").mkdir()
    assert tables.list_tables() == ["main.a.t1", "main.b.t2", "other.a.t3"]
    assert tables.list_tables("Main.A") == ["main.a.t1"]
    assert tables.list_tables("main.nothing") == []
    assert tables.table_exists("main.a.t1") and not tables.table_exists("main.a.empty")
    assert tables.drop_table("main.a.t1") is True
    assert tables.drop_table("main.a.t1") is False
    assert not tables.exists("main.a.t1") and tables.list_tables("main.a") == []
    assert not tables.table_path("main.a.t1").exists()  # data and log are gone
    tables.append("main.a.t1", _rows(5, 2))  # a dropped name starts again at version 0
    assert files.version("main.a.t1") == 0 and _ids("main.a.t1") == [5, 6]
    assert tables.list_tables(home=tmp_path / "nowhere") == []


# --------------------------------------------------------------------------- concurrency


def test_a_reader_never_sees_half_an_append(mdk_home):
    batch = 7
    tables.append(NAME, _rows(0, batch))
    counts, problems, done = [], [], threading.Event()

    def reader():
        while not done.is_set():
            df = tables.read(NAME)
            if len(df) % batch or len(set(df["id"])) != len(df):
                problems.append(len(df))
            counts.append(len(df))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for k in range(1, 40):
            tables.append(NAME, _rows(k * batch, batch))
            before, deadline = len(counts), time.monotonic() + 5
            while len(counts) == before and time.monotonic() < deadline:
                time.sleep(0.001)  # let the reader read between the appends
    finally:
        done.set()
        thread.join(30)
    assert not problems and len(set(counts)) > 5
    assert tables.row_count(NAME) == 40 * batch


def _counter_table() -> None:
    """The table made first, as the endpoint's capture writer does: two writers creating one
    table at once are a Delta conflict (one gets CommitFailedError), appends are not."""
    empty = pa.table({"writer": pa.array([], pa.int64()), "i": pa.array([], pa.int64())})
    assert tables.append(NAME, empty) == 0


def test_appends_from_threads_all_land(mdk_home):
    _counter_table()

    def writer(k: int):
        for i in range(8):
            rows = pa.table({"writer": pa.array([k] * 5, pa.int64()), "i": pa.array([i] * 5)})
            tables.append(NAME, rows)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    df = tables.read(NAME)
    assert len(df) == 3 * 8 * 5 and files.version(NAME) == 3 * 8
    assert df.groupby(["writer", "i"]).size().tolist() == [5] * 24  # no commit lost or torn


_APPENDER = """
import sys
import pyarrow as pa
from recipes import tables

name, writer = sys.argv[1], int(sys.argv[2])
for i in range(15):
    tables.append(name, pa.table({"writer": pa.array([writer] * 4), "i": pa.array([i] * 4)}))
"""


@pytest.mark.slow
def test_appends_from_two_processes_all_land(mdk_home):
    _counter_table()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _APPENDER, NAME, str(k)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    df = tables.read(NAME)
    assert len(df) == 2 * 15 * 4 and files.version(NAME) == 30
    assert df.groupby(["writer", "i"]).size().tolist() == [4] * 30


# --------------------------------------------------------------------------- the old layout


def _old_layout(home: Path) -> Path:
    """A warehouse as the kit wrote it before Delta Lake: a symlink to a version folder."""
    warehouse = home / "warehouse"
    version = warehouse / "main" / "s" / ".t.versions" / "v1"
    version.mkdir(parents=True)
    pq.write_table(_rows(0), version / "part-0.parquet")
    (warehouse / "main" / "s" / "t").symlink_to(".t.versions/v1")
    return warehouse


def test_an_old_layout_warehouse_is_refused_in_one_line(mdk_home):
    warehouse = _old_layout(mdk_home)
    for call in (delta_lake.check_warehouse, delta_lake.spark_conf):
        with pytest.raises(KitError) as err:
            call(warehouse)
        message = str(err.value)
        assert "\n" not in message
        assert f"rm -rf {warehouse}" in message and "s.t" in message
        assert "old parquet layout" in message
    assert (warehouse / "main" / "s" / ".t.versions" / "v1").is_dir()  # nothing deleted


def test_a_delta_warehouse_passes_the_check(mdk_home, tmp_path):
    tables.append("main.s.t", _rows(0))
    tables.append("dev.s.t", _rows(0))
    delta_lake.check_warehouse(mdk_home / "warehouse")
    delta_lake.check_warehouse(tmp_path / "no-warehouse-yet")


# --------------------------------------------------------------------------- write_table


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: tables.write_table("scores", _rows(0)), "catalog.schema.table"),
        (lambda: tables.write_table(NAME, _rows(0), mode="merge"), "'overwrite' or 'append'"),
        (lambda: tables.write_table(NAME, [1, 2]), "Spark DataFrame, a pandas DataFrame"),
        (lambda: tables.read_table("a.b"), "catalog.schema.table"),
        (lambda: tables.list_tables("main"), "catalog.schema"),
        (lambda: tables.drop_table("a.b.c.d"), "catalog.schema.table"),
    ],
)
def test_bad_calls_are_one_line_errors_before_any_spark(mdk_home, call, match):
    no_session = mock.patch("recipes.tables.io.get_spark", side_effect=AssertionError("a JVM"))
    with no_session, pytest.raises(ParameterError) as err:
        call()
    assert match in str(err.value) and "\n" not in str(err.value)


# --------------------------------------------------------------------------- databricks


def test_databricks_writes_through_spark_by_name(monkeypatch):
    monkeypatch.setenv("MDK_TARGET", "databricks")
    df = mock.MagicMock()
    session = df.sparkSession
    session.catalog.tableExists.return_value = False
    made = tables.write_table("Main.Preds.Scores", df)
    session.sql.assert_called_once_with("CREATE SCHEMA IF NOT EXISTS main.preds")
    df.writeTo.assert_called_once_with("main.preds.scores")
    writer = df.writeTo.return_value.using
    writer.assert_called_once_with("delta")
    writer.return_value.tableProperty.assert_called_once_with("created_by", "mdk")
    writer.return_value.tableProperty.return_value.createOrReplace.assert_called_once_with()
    writer.return_value.append.assert_not_called()
    assert (made.name, made.mode, made.rows, made.version) == (
        "main.preds.scores",
        "overwrite",
        None,
        None,
    )

    df.reset_mock()
    session.catalog.tableExists.return_value = True
    tables.write_table("main.preds.scores", df, mode="append")  # exists: a plain append
    df.writeTo.return_value.using.return_value.append.assert_called_once_with()
    df.writeTo.return_value.using.return_value.tableProperty.assert_not_called()

    df.reset_mock()
    session.catalog.tableExists.return_value = False
    tables.write_table("main.preds.new", df, mode="append")  # an append that creates it
    df.writeTo.return_value.using.return_value.tableProperty.assert_called_once_with(
        "created_by", "mdk"
    )


def test_databricks_reads_lists_and_drops_through_spark(monkeypatch, mdk_home):
    from types import SimpleNamespace

    monkeypatch.setenv("MDK_TARGET", "databricks")
    spark = mock.MagicMock()
    monkeypatch.setattr("recipes.tables.io.get_spark", lambda *a, **k: spark)
    monkeypatch.setattr(
        "recipes.tables.files.read", mock.Mock(side_effect=AssertionError("a local read"))
    )
    assert tables.read_table("main.preds.scores", spark=spark) is spark.table.return_value
    spark.table.assert_called_once_with("main.preds.scores")

    spark.reset_mock()
    got = tables.read_rows("main.mdk.payload", "client_request_id", ["a"])
    spark.table.assert_called_once_with("main.mdk.payload")
    assert got is spark.table.return_value.where.return_value.toPandas.return_value

    spark.catalog.listTables.return_value = [
        SimpleNamespace(name="b", isTemporary=False),
        SimpleNamespace(name="tmp", isTemporary=True),
        SimpleNamespace(name="a", isTemporary=False),
    ]
    assert tables.list_tables("Main.Preds") == ["main.preds.a", "main.preds.b"]
    spark.catalog.listTables.assert_called_once_with("main.preds")
    spark.catalog.tableExists.return_value = True
    assert tables.table_exists("main.preds.scores") is True
    assert tables.drop_table("main.preds.scores") is True
    spark.sql.assert_called_with("DROP TABLE IF EXISTS main.preds.scores")
    tables.mark_created("main.preds.scores", spark=spark)
    spark.sql.assert_called_with(
        "ALTER TABLE main.preds.scores SET TBLPROPERTIES ('created_by' = 'mdk')"
    )
    assert not (mdk_home / "warehouse").exists()  # the laptop's warehouse is never touched
