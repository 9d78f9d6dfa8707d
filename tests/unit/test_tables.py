"""recipes.tables: three-level names, atomic parquet parts, reads by name and by Spark."""

from __future__ import annotations

import datetime as dt
import os
import time

import pandas as pd
import pyarrow as pa
import pytest

from recipes import tables
from recipes.errors import NotFoundError, ParameterError

NAME = "main.default.scores"


def _rows(start: int, n: int = 3) -> pa.Table:
    return pa.table(
        {"id": pa.array(range(start, start + n), pa.int64()), "label": [f"r{i}" for i in range(n)]}
    )


def _visible_parts(path) -> list[str]:
    return sorted(p for p in os.listdir(path) if not p.startswith((".", "_")))


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


def test_table_path_is_under_the_warehouse(mdk_home, tmp_path):
    assert tables.table_path("Main.Default.Scores") == mdk_home / "warehouse/main/default/scores"
    assert tables.table_path(NAME, home=tmp_path) == tmp_path / "warehouse/main/default/scores"
    assert not (mdk_home / "warehouse").exists()  # computing a path creates nothing


# --------------------------------------------------------------------------- append and read


def test_round_trip_in_append_order(mdk_home):
    assert not tables.exists(NAME)
    for start in range(0, 30, 3):  # ten parts, written faster than the clock ticks
        part = tables.append(NAME, _rows(start))
        assert part.parent == tables.table_path(NAME)
        assert part.name.startswith("part-") and part.suffix == ".parquet"
    assert tables.exists(NAME)
    df = tables.read("MAIN.default.Scores")
    assert df["id"].tolist() == list(range(30))
    assert df["label"].tolist() == ["r0", "r1", "r2"] * 10
    assert tables.row_count(NAME) == 30
    assert len(_visible_parts(tables.table_path(NAME))) == 10


def test_home_argument_points_anywhere(tmp_path, mdk_home):
    other = tmp_path / "elsewhere"
    tables.append(NAME, _rows(0), home=other)
    assert tables.exists(NAME, home=other) and not tables.exists(NAME)
    assert tables.read(NAME, home=str(other))["id"].tolist() == [0, 1, 2]
    assert tables.row_count(NAME, home=other) == 3


def test_empty_append_sets_the_schema(mdk_home):
    tables.append(NAME, _rows(0, 0))
    assert tables.exists(NAME) and tables.row_count(NAME) == 0
    assert list(tables.read(NAME).columns) == ["id", "label"]
    with pytest.raises(ParameterError):
        tables.append(NAME, pa.table({"id": [1.5]}))


def test_schema_mismatch_is_refused_in_one_line(mdk_home):
    tables.append(NAME, _rows(0))
    bad = [
        pa.table({"id": pa.array([1], pa.int32()), "label": ["x"]}),  # another type
        pa.table({"id": pa.array([1], pa.int64())}),  # a column missing
        pa.table({"label": ["x"], "id": pa.array([1], pa.int64())}),  # another order
        _rows(0).append_column("extra", pa.array([1, 2, 3])),
    ]
    for data in bad:
        with pytest.raises(ParameterError) as err:
            tables.append(NAME, data)
        assert "\n" not in str(err.value) and "does not match" in str(err.value)
    assert "'id' is int64 in the table but int32" in _message(bad[0])
    assert "missing 'label'" in _message(bad[1])
    assert "another order" in _message(bad[2])
    assert "unexpected 'extra'" in _message(bad[3])
    assert tables.row_count(NAME) == 3


def _message(data: pa.Table) -> str:
    with pytest.raises(ParameterError) as err:
        tables.append(NAME, data)
    return str(err.value)


def test_pandas_metadata_is_not_a_schema_difference(mdk_home):
    tables.append(NAME, _rows(0))
    df = tables.read(NAME)
    tables.append(NAME, pa.Table.from_pandas(df, preserve_index=False))
    assert tables.row_count(NAME) == 6


def test_append_needs_an_arrow_table(mdk_home):
    with pytest.raises(ParameterError, match="pa.Table.from_pandas"):
        tables.append(NAME, _rows(0).to_pandas())


def test_missing_table_names_the_path(mdk_home):
    path = tables.table_path(NAME)
    for call in (tables.read, tables.row_count):
        with pytest.raises(NotFoundError) as err:
            call(NAME)
        assert str(path) in str(err.value) and "\n" not in str(err.value)
    assert tables.exists(NAME) is False


# --------------------------------------------------------------------------- atomicity


def test_crash_mid_write_leaves_the_old_table(mdk_home, monkeypatch):
    tables.append(NAME, _rows(0))
    path = tables.table_path(NAME)
    before = _visible_parts(path)

    def crash(data, tmp):
        with open(tmp, "xb") as f:
            f.write(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tables.local, "write_part", crash)
    with pytest.raises(OSError, match="No space left"):
        tables.append(NAME, _rows(100))
    assert _visible_parts(path) == before
    assert os.listdir(path) == before  # the temp file is removed too
    assert tables.read(NAME)["id"].tolist() == [0, 1, 2]
    assert tables.row_count(NAME) == 3


def test_leftovers_of_a_killed_writer_are_ignored(mdk_home):
    tables.append(NAME, _rows(0))
    path = tables.table_path(NAME)
    (path / ".part-20990101T000000000000Z-dead.parquet.tmp").write_bytes(b"PAR1 torn")
    (path / "_SUCCESS").write_bytes(b"")
    (path / "_tmp.parquet").write_bytes(b"junk")
    assert tables.read(NAME)["id"].tolist() == [0, 1, 2]
    assert tables.row_count(NAME) == 3
    tables.append(NAME, _rows(3))
    assert tables.read(NAME)["id"].tolist() == [0, 1, 2, 3, 4, 5]


def test_a_table_with_only_a_torn_write_does_not_exist(mdk_home):
    path = tables.table_path(NAME)
    path.mkdir(parents=True)
    (path / ".part-x.parquet.tmp").write_bytes(b"PAR1 torn")
    assert not tables.exists(NAME)
    with pytest.raises(NotFoundError):
        tables.read(NAME)


# --------------------------------------------------------------------------- Spark


def _with_map(start: int) -> pa.Table:
    return pa.table(
        {
            "id": pa.array([start, start + 1], pa.int64()),
            "day": pa.array([dt.date(2026, 1, 1), dt.date(2026, 1, 2)], pa.date32()),
            "meta": pa.array(
                [{"model": "churn", "version": "1"}, [("model", "churn"), ("version", "2")]],
                pa.map_(pa.string(), pa.string()),
            ),
        }
    )


def test_map_column_reads_back_as_dicts(mdk_home):
    tables.append(NAME, _with_map(0))
    df = tables.read(NAME)
    assert df["meta"].tolist() == [
        {"model": "churn", "version": "1"},
        {"model": "churn", "version": "2"},
    ]


@pytest.mark.spark
def test_spark_reads_the_table_by_path(spark, mdk_home):
    tables.append(NAME, _with_map(0))
    tables.append(NAME, _with_map(2))
    path = tables.table_path(NAME)
    (path / ".part-torn.parquet.tmp").write_bytes(b"PAR1 torn")  # a killed writer's leftover
    df = spark.read.parquet(str(path))
    assert [f.name for f in df.schema.fields] == ["id", "day", "meta"]
    assert df.schema["meta"].dataType.simpleString() == "map<string,string>"
    rows = sorted(df.collect(), key=lambda r: r.id)
    assert [r.id for r in rows] == [0, 1, 2, 3]
    assert rows[1].meta == {"model": "churn", "version": "2"}
    assert rows[0].day == dt.date(2026, 1, 1)
    assert df.count() == tables.row_count(NAME)


# --------------------------------------------------------------------------- write_table


def _frame(version: int, n: int):
    import pandas as pd

    return pd.DataFrame(
        {
            "id": pd.Series(range(n), dtype="int64"),
            "version": pd.Series([version] * n, dtype="int32"),
            "score": [i / 2 for i in range(n)],
        }
    )


def _versions(name: str) -> list[str]:
    folder = tables.table_path(name)
    return sorted(os.listdir(folder.parent / f".{folder.name}.versions"))


def test_overwrite_and_append_with_pandas_and_arrow(mdk_home):
    first = tables.write_table(NAME, _frame(1, 5))
    assert first.name == NAME and first.mode == "overwrite" and first.rows == 5
    assert first.seconds >= 0 and first.version in first.location
    assert tables.table_path(NAME).is_symlink()
    assert tables.table_path(NAME).resolve() == tables.version_folder(NAME)
    df = tables.read_table(NAME)
    assert df["id"].tolist() == [0, 1, 2, 3, 4] and str(df["version"].dtype) == "int32"
    more = tables.write_table(NAME, pa.Table.from_pandas(_frame(1, 2)), mode="append")
    assert more.rows == 2 and more.location == first.location  # same version, one more part
    assert tables.row_count(NAME) == 7
    tables.append(NAME, pa.Table.from_pandas(_frame(1, 1), preserve_index=False))
    assert tables.read_table(NAME)["id"].tolist() == [0, 1, 2, 3, 4, 0, 1, 0]
    again = tables.write_table(NAME, pa.table({"other": ["x"]}))  # a new schema is fine
    assert again.version != first.version
    assert tables.read_table(NAME).to_dict("list") == {"other": ["x"]}


def test_old_versions_are_removed_keeping_the_previous_one(mdk_home):
    seen = [tables.write_table(NAME, _frame(v, 3)).version for v in range(5)]
    assert _versions(NAME) == sorted(seen[-2:])
    assert tables.read_table(NAME)["version"].unique().tolist() == [4]


def test_append_creates_the_table_and_checks_columns(mdk_home):
    tables.write_table(NAME, _frame(1, 2), mode="append")
    assert tables.row_count(NAME) == 2
    with pytest.raises(ParameterError) as err:
        tables.write_table(NAME, _frame(1, 2).astype({"version": "int64"}), mode="append")
    assert "'version' is int32 in the table but int64" in str(err.value)
    assert "\n" not in str(err.value)
    assert tables.row_count(NAME) == 2
    staging = tables.table_path(NAME).parent / ".scores.staging"
    assert os.listdir(staging) == []  # the refused rows were not left behind


def test_timestamps_round_trip_and_append(mdk_home):
    import pandas as pd

    df = pd.DataFrame({"ts": pd.to_datetime(["2026-01-01 01:02:03.123456"], utc=True)})
    tables.write_table(NAME, df)
    tables.write_table(NAME, df, mode="append")  # ns in pandas, us in the files: one type
    assert tables.read_table(NAME)["ts"].tolist() == df["ts"].tolist() * 2


def test_failed_overwrite_leaves_the_old_table(mdk_home, monkeypatch):
    tables.write_table(NAME, _frame(1, 4))
    before = (tables.version_folder(NAME), _versions(NAME))

    def crash(data, path):
        path.write_bytes(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tables.local, "write_part", crash)
    with pytest.raises(OSError, match="No space left"):
        tables.write_table(NAME, _frame(2, 9))
    assert (tables.version_folder(NAME), _versions(NAME)) == before
    assert tables.read_table(NAME)["version"].tolist() == [1] * 4
    assert os.listdir(tables.table_path(NAME).parent / ".scores.staging") == []


def test_plain_folder_tables_become_versioned_on_overwrite(mdk_home):
    path = tables.table_path(NAME)
    path.mkdir(parents=True)  # a table written before versions existed
    pa.parquet.write_table(_rows(0), path / "part-20260101T000000000000Z-old.parquet")
    assert tables.read(NAME)["id"].tolist() == [0, 1, 2]
    tables.append(NAME, _rows(3))
    assert tables.row_count(NAME) == 6
    tables.write_table(NAME, _rows(10))
    assert path.is_symlink() and tables.read(NAME)["id"].tolist() == [10, 11, 12]
    assert len(_versions(NAME)) == 2  # the new one and the old folder, kept as previous


def test_list_and_drop(mdk_home, tmp_path):
    assert tables.list_tables() == []
    for name in ("main.b.t2", "main.a.t1", "other.a.t3"):
        tables.write_table(name, _frame(1, 1))
    tables.table_path("main.a.empty").parent.mkdir(parents=True, exist_ok=True)
    tables.table_path("main.a.empty").mkdir()  # no parts: not a table
    assert tables.list_tables() == ["main.a.t1", "main.b.t2", "other.a.t3"]
    assert tables.list_tables("Main.A") == ["main.a.t1"]
    assert tables.list_tables("main.nothing") == []
    assert tables.drop_table("main.a.t1") is True
    assert tables.drop_table("main.a.t1") is False
    assert not tables.exists("main.a.t1") and tables.list_tables("main.a") == []
    assert sorted(os.listdir(tables.table_path("main.a.t1").parent)) == [".t1.lock", "empty"]
    tables.write_table("main.a.t1", _frame(2, 2))  # a dropped name can be written again
    assert tables.read_table("main.a.t1")["version"].tolist() == [2, 2]
    assert tables.list_tables(home=tmp_path / "nowhere") == []


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: tables.write_table("scores", _frame(1, 1)), "catalog.schema.table"),
        (lambda: tables.write_table(NAME, _frame(1, 1), mode="merge"), "'overwrite' or 'append'"),
        (lambda: tables.write_table(NAME, [1, 2]), "Spark DataFrame, a pandas DataFrame"),
        (lambda: tables.read_table("a.b"), "catalog.schema.table"),
        (lambda: tables.read_table(NAME), "does not exist"),
        (lambda: tables.list_tables("main"), "catalog.schema"),
        (lambda: tables.drop_table("a.b.c.d"), "catalog.schema.table"),
        (lambda: tables.save_as_table(_frame(1, 1), "a.b.c.d"), "schema.table"),
        (lambda: tables.save_as_table(_frame(1, 1), "t", mode="upsert"), "errorifexists"),
    ],
)
def test_bad_calls_are_one_line_errors(mdk_home, call, match):
    with pytest.raises((ParameterError, NotFoundError)) as err:
        call()
    assert match in str(err.value) and "\n" not in str(err.value)


def test_save_as_table_modes_and_names(mdk_home):
    assert tables.qualify_table_name("churn") == "main.default.churn"
    assert tables.qualify_table_name("Predictions.Churn_Scores") == "main.predictions.churn_scores"
    assert tables.qualify_table_name("`c`.`s`.`t`") == "c.s.t"
    made = tables.save_as_table(_frame(1, 2), "predictions.churn_scores")
    assert made.name == "main.predictions.churn_scores" and made.mode == "errorifexists"
    with pytest.raises(tables.TableExistsError, match="mode\\('overwrite'\\)"):
        tables.save_as_table(_frame(2, 5), "predictions.churn_scores", mode="error")
    assert tables.save_as_table(_frame(2, 5), "predictions.churn_scores", mode="ignore").rows == 0
    tables.save_as_table(_frame(3, 1), "main.predictions.churn_scores", mode="append")
    assert tables.read_table("main.predictions.churn_scores")["version"].tolist() == [1, 1, 3]
    tables.save_as_table(_frame(4, 1), "predictions.churn_scores", mode="OVERWRITE")
    assert tables.row_count("main.predictions.churn_scores") == 1


# --------------------------------------------------------------------------- concurrency


def test_a_reader_never_sees_a_half_written_table(mdk_home):
    import threading

    sizes = {v: 50 + 17 * v for v in range(25)}
    tables.write_table(NAME, _frame(0, sizes[0]))
    seen, problems, done = set(), [], threading.Event()
    reads = [0]

    def reader():
        while not done.is_set():
            df = tables.read_table(NAME)
            versions = set(df["version"].tolist())
            if len(versions) != 1 or len(df) != sizes[versions.pop()]:
                problems.append(df)
            seen.add(int(df["version"].iloc[0]))
            reads[0] += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for v in range(1, 25):
            tables.write_table(NAME, _frame(v, sizes[v]))
            # on a loaded machine the reader may lag: let it finish one more read (at most
            # 5 s) before the next write, so it reads across the writes, not after them
            before, deadline = reads[0], time.monotonic() + 5
            while reads[0] == before and time.monotonic() < deadline:
                time.sleep(0.001)
    finally:
        done.set()
        thread.join(30)
    assert not problems and len(seen) > 1
    assert tables.read_table(NAME)["version"].unique().tolist() == [24]


_READER = """
import sys
from recipes import tables

name, sizes, reads, versions = sys.argv[1], eval(sys.argv[2]), 0, set()
while not tables.exists("main.a.stop"):
    df = tables.read_table(name)
    seen = set(df["version"].tolist())
    if len(seen) != 1 or len(df) != sizes[min(seen)]:
        sys.exit(f"torn read: {len(df)} rows of versions {sorted(seen)}")
    reads, versions = reads + 1, versions | seen
print(reads, len(versions))
"""


def test_a_reader_process_never_sees_a_half_written_table(mdk_home):
    import subprocess
    import sys
    import time
    from pathlib import Path

    sizes = {v: 40 + 13 * v for v in range(40)}
    tables.write_table(NAME, _frame(0, sizes[0]))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, NAME, repr(sizes)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.5)  # let it import and start reading
        for v in range(1, 40):
            tables.write_table(NAME, _frame(v, sizes[v]))
            time.sleep(0.01)
    finally:
        tables.write_table("main.a.stop", _frame(0, 1))
        out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err[-2000:]
    reads, versions = map(int, out.split())
    assert reads > 5 and versions > 1


_WRITER = """
import sys
import pandas as pd
from recipes import tables

name, n = sys.argv[1], int(sys.argv[2])
for v in range(n):
    df = pd.DataFrame({"id": range(v + 1), "version": [v] * (v + 1)})
    tables.write_table(name, df, mode="overwrite" if v % 3 == 0 else "append")
print(tables.row_count(name))
"""


@pytest.mark.slow
def test_two_processes_write_at_once(mdk_home):
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root}
    names = ["main.a.one", "main.a.two", "main.a.shared", "main.a.shared"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, name, "12"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
    expected = 10 + 11 + 12  # the last overwrite (v=9) and two appends
    assert [tables.row_count(n) for n in names[:2]] == [expected, expected]
    shared = tables.read_table("main.a.shared")  # two writers on one table: whole, not torn
    assert len(shared) == tables.row_count("main.a.shared") >= 10
    assert tables.list_tables("main.a") == ["main.a.one", "main.a.shared", "main.a.two"]


# --------------------------------------------------------------------------- databricks


def test_databricks_target_uses_delta_and_the_catalog(monkeypatch):
    from types import SimpleNamespace
    from unittest import mock

    monkeypatch.setenv("MDK_TARGET", "databricks")
    df, spark = mock.MagicMock(), mock.MagicMock()
    made = tables.write_table("Main.Preds.Scores", df, mode="append")
    df.write.format.assert_called_once_with("delta")
    df.write.format.return_value.mode.assert_called_once_with("append")
    saved = df.write.format.return_value.mode.return_value.saveAsTable
    saved.assert_called_once_with("main.preds.scores")
    assert (made.name, made.location, made.rows, made.version) == (
        "main.preds.scores",
        "main.preds.scores",
        None,
        None,
    )
    df.sparkSession.catalog.tableExists.assert_called_once_with("main.preds.scores")
    df.sparkSession.sql.assert_not_called()  # an append to a table that was there: not marked
    tables.save_as_table(df, "preds.scores", mode="overwrite")
    saved.assert_called_with("main.preds.scores")
    df.sparkSession.sql.assert_called_once_with(
        "ALTER TABLE main.preds.scores SET TBLPROPERTIES ('created_by' = 'mdk')"
    )
    assert tables.read_table("main.preds.scores", spark=spark) is spark.table.return_value
    spark.table.assert_called_once_with("main.preds.scores")
    spark.catalog.listTables.return_value = [
        SimpleNamespace(name="b", isTemporary=False),
        SimpleNamespace(name="tmp", isTemporary=True),
        SimpleNamespace(name="a", isTemporary=False),
    ]
    assert tables.list_tables("main.preds", spark=spark) == ["main.preds.a", "main.preds.b"]
    spark.catalog.listTables.assert_called_once_with("main.preds")
    spark.catalog.tableExists.return_value = True
    assert tables.drop_table("main.preds.scores", spark=spark) is True
    spark.sql.assert_called_once_with("DROP TABLE IF EXISTS main.preds.scores")


def test_read_rows_filters_in_spark_on_databricks_and_in_pandas_locally(monkeypatch):
    from unittest import mock

    tables.write_table("main.mdk.payload", pd.DataFrame({"client_request_id": ["a", "b", "c"]}))
    local = tables.read_rows("main.mdk.payload", "client_request_id", ["c", "a", "z"])
    assert sorted(local["client_request_id"]) == ["a", "c"]
    # on a workspace the laptop's files are never read: the table comes from Spark by name
    monkeypatch.setenv("MDK_TARGET", "databricks")
    spark = mock.MagicMock()
    monkeypatch.setattr("recipes.tables.io._databricks_spark", lambda: spark)
    monkeypatch.setattr(
        "recipes.tables.io.read", mock.Mock(side_effect=AssertionError("local read"))
    )
    got = tables.read_rows("main.mdk.payload", "client_request_id", ["a"])
    spark.table.assert_called_once_with("main.mdk.payload")
    assert got is spark.table.return_value.where.return_value.toPandas.return_value


# --------------------------------------------------------------------------- properties


def test_a_write_that_creates_or_replaces_a_table_marks_it_created_by_mdk(mdk_home):
    from recipes.tables import local

    rows = pa.table({"x": [1, 2]})
    local.write("main.s.theirs", rows, "overwrite", None)  # not through recipes.tables: unmarked
    tables.write_table("main.s.theirs", rows, mode="append")
    tables.write_table("main.s.ours", rows, mode="append")  # created by the append
    tables.write_table("main.s.replaced", rows)

    assert tables.properties("main.s.theirs") == {}
    assert tables.properties("main.s.ours") == {"created_by": "mdk"}
    assert tables.properties("main.s.replaced") == {"created_by": "mdk"}
    tables.set_properties("main.s.ours", {"team": "growth"})
    assert tables.properties("main.s.ours") == {"created_by": "mdk", "team": "growth"}
    assert tables.drop_table("main.s.ours")
    assert tables.properties("main.s.ours") == {}
    assert tables.list_tables("main.s") == ["main.s.replaced", "main.s.theirs"]
