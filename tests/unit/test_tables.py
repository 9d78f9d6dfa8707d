"""recipes.tables: three-level names, atomic parquet parts, reads by name and by Spark."""

from __future__ import annotations

import datetime as dt
import os

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

    monkeypatch.setattr(tables, "_write_part", crash)
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
