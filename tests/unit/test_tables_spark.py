"""Delta Lake through the kit's local Spark session: the calls practitioners write, unchanged.

One classic session serves the run (the ``spark`` fixture); its ``MDK_HOME`` is
``spark_run.home``, so ``main.<schema>.<table>`` is the Delta table at
``<spark_run.home>/warehouse/main/<schema>/<table>``. Each test writes into schemas of its
own (``schema``: a fresh ``main.s_<random>``), so no test reads another's tables and any
order passes. delta-rs reads those tables with ``home=spark_run.home``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pytest

from recipes import tables
from recipes.tables import files
from tests.homes import spark_defaults_codegen

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]


def _unique(prefix: str = "s") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def schema(spark) -> str:
    """A new schema ``main.s_<random>`` (its name without the catalog)."""
    name = _unique()
    spark.sql(f"CREATE SCHEMA main.{name}")
    return name


@pytest.fixture
def home(spark_run) -> Path:
    """The ``MDK_HOME`` whose warehouse the ``spark`` session writes."""
    return spark_run.home


def _condition(exc: BaseException) -> str | None:
    return exc.getCondition() if hasattr(exc, "getCondition") else None


def _ids(df) -> list[int]:
    return sorted(r.id for r in df.collect())


def _history(spark, name: str) -> list[tuple[int, str]]:
    rows = spark.sql(f"DESCRIBE HISTORY {name}").collect()
    return [(r.version, r.operation) for r in rows]


def _frame(spark, rows: list[tuple[int, str]]):
    return spark.createDataFrame(rows, "id bigint, v string")


# --------------------------------------------------------------------------- names


def test_sql_count_tblproperties_and_history(spark, schema, home):
    name = f"main.{schema}.t"
    _frame(spark, [(1, "a"), (2, "b"), (3, "c")]).write.format("delta").saveAsTable(name)
    _frame(spark, [(4, "d")]).write.format("delta").mode("append").saveAsTable(name)
    assert spark.sql(f"SELECT count(*) FROM {name}").collect()[0][0] == 4

    spark.sql(f"ALTER TABLE {name} SET TBLPROPERTIES ('team' = 'growth', 'tier' = 'gold')")
    props = {r.key: r.value for r in spark.sql(f"SHOW TBLPROPERTIES {name}").collect()}
    assert props["team"] == "growth" and props["tier"] == "gold"
    assert files.properties(name, home=home)["team"] == "growth"  # in Delta's own log

    assert _history(spark, name) == [
        (2, "SET TBLPROPERTIES"),
        (1, "WRITE"),
        (0, "CREATE TABLE AS SELECT"),
    ]
    assert (home / "warehouse" / "main" / schema / "t" / "_delta_log").is_dir()
    assert spark.catalog.tableExists(name) and not spark.catalog.tableExists(f"{name}_nope")
    with spark_defaults_codegen(spark):
        assert [t.name for t in spark.catalog.listTables(f"main.{schema}")] == ["t"]


def test_a_two_level_name_lands_in_catalog_main(spark, schema, home):
    predictions_df = _frame(spark, [(i, "x") for i in range(6)])
    # the study module's line, with this test's schema
    predictions_df.write.format("delta").mode("overwrite").saveAsTable(f"{schema}.churn_scores")
    full = f"main.{schema}.churn_scores"
    assert files.exists(full, home=home)
    assert _ids(spark.table(full)) == list(range(6))
    assert spark.table(f"{schema}.churn_scores").count() == 6
    assert sorted(tables.read(full, home=home)["id"]) == list(range(6))
    assert spark.sql("SELECT current_catalog()").collect()[0][0] == "main"


def test_a_one_part_name_lands_in_main_default(spark, home):
    table = _unique("t")
    _frame(spark, [(1, "a")]).write.format("delta").saveAsTable(table)
    assert files.exists(f"main.default.{table}", home=home)
    assert spark.table(f"main.default.{table}").count() == 1
    spark.sql(f"DROP TABLE {table}")
    assert not files.table_path(f"main.default.{table}", home).exists()


def test_every_catalog_starts_with_a_default_schema(spark, tmp_path):
    """On Unity Catalog every catalog has a ``default`` schema, so ``saveAsTable("t")`` works
    in a new workspace. A catalog registered now stands for a fresh ``MDK_HOME``."""
    catalog = _unique("c")
    spark.conf.set(f"spark.sql.catalog.{catalog}", "mdk.PathCatalog")
    spark.conf.set(f"spark.sql.catalog.{catalog}.root", str(tmp_path / catalog))
    try:
        assert spark.catalog.databaseExists(f"{catalog}.default")
        assert not spark.catalog.databaseExists(f"{catalog}.other")
        schemas = [r[0] for r in spark.sql(f"SHOW SCHEMAS IN {catalog}").collect()]
        assert schemas == ["default"]
        _frame(spark, [(1, "a")]).write.format("delta").saveAsTable(f"{catalog}.default.t")
        assert spark.table(f"{catalog}.default.t").count() == 1
        assert (tmp_path / catalog / "default" / "t" / "_delta_log").is_dir()
    finally:
        spark.conf.unset(f"spark.sql.catalog.{catalog}")
        spark.conf.unset(f"spark.sql.catalog.{catalog}.root")


def test_a_missing_schema_is_schema_not_found_and_write_table_creates_it(spark, home):
    missing = _unique()
    name = f"main.{missing}.t"
    with pytest.raises(Exception) as err:
        _frame(spark, [(1, "a")]).write.format("delta").saveAsTable(name)
    assert _condition(err.value) == "SCHEMA_NOT_FOUND", err.value
    assert not (home / "warehouse" / "main" / missing).exists()
    made = tables.write_table(name, _frame(spark, [(1, "a")]))
    assert made.rows == 1 and made.version == 0
    assert spark.catalog.databaseExists(f"main.{missing}")
    assert spark.table(name).count() == 1


def test_tables_are_delta_by_default_and_only_delta(spark, schema, home):
    from delta.tables import DeltaTable

    name = f"main.{schema}.t"
    _frame(spark, [(1, "a")]).write.saveAsTable(name)  # no format: Delta, as on Databricks
    assert DeltaTable.isDeltaTable(spark, str(files.table_path(name, home)))
    spark.sql(f"CREATE TABLE main.{schema}.made (id bigint)")
    assert files.exists(f"main.{schema}.made", home=home)
    with pytest.raises(Exception) as err:
        _frame(spark, [(1, "a")]).write.format("parquet").saveAsTable(f"main.{schema}.pq")
    message = str(err.value).splitlines()[0]
    assert "Delta tables only" in message and "parquet" in message
    assert not files.table_path(f"main.{schema}.pq", home).exists()


# --------------------------------------------------------------------------- time travel, CDF


def test_time_travel_reads_version_zero(spark, schema):
    name = f"main.{schema}.t"
    _frame(spark, [(0, "a"), (1, "b"), (2, "c")]).write.format("delta").saveAsTable(name)
    _frame(spark, [(10, "x"), (11, "y")]).write.format("delta").mode("overwrite").saveAsTable(name)
    assert _ids(spark.table(name)) == [10, 11]
    assert _ids(spark.read.option("versionAsOf", 0).table(name)) == [0, 1, 2]
    assert _ids(spark.read.format("delta").option("versionAsOf", 1).table(name)) == [10, 11]
    assert _ids(spark.sql(f"SELECT id FROM {name} VERSION AS OF 0")) == [0, 1, 2]
    with pytest.raises(Exception) as err:
        spark.read.option("versionAsOf", 5).table(name).collect()
    assert _condition(err.value) == "DELTA_VERSION_NOT_FOUND", err.value


def test_change_data_feed_after_a_merge(spark, schema, home):
    name = f"main.{schema}.t"
    _frame(spark, [(1, "a"), (2, "b")]).write.format("delta").saveAsTable(name)
    spark.sql(f"ALTER TABLE {name} SET TBLPROPERTIES (delta.enableChangeDataFeed = true)")
    _frame(spark, [(2, "B"), (3, "c")]).createOrReplaceTempView("cdf_updates")
    spark.sql(
        f"MERGE INTO {name} AS t USING cdf_updates AS s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
    )
    _frame(spark, [(4, "d")]).write.format("delta").mode("append").saveAsTable(name)
    changes = spark.read.option("readChangeFeed", "true").option("startingVersion", 2).table(name)
    got = sorted((r._commit_version, r.id, r.v, r._change_type) for r in changes.collect())
    assert got == [
        (2, 2, "B", "update_postimage"),
        (2, 2, "b", "update_preimage"),
        (2, 3, "c", "insert"),
        (3, 4, "d", "insert"),
    ]
    assert files.properties(name, home=home)["delta.enableChangeDataFeed"] == "true"


# --------------------------------------------------------------------------- MERGE


def test_merge_in_sql_and_with_delta_table(spark, schema):
    from delta.tables import DeltaTable

    name = f"main.{schema}.t"
    _frame(spark, [(1, "a"), (2, "b")]).write.format("delta").saveAsTable(name)
    _frame(spark, [(2, "B"), (3, "c")]).createOrReplaceTempView("merge_updates")
    counts = spark.sql(
        f"MERGE INTO {name} AS t USING merge_updates AS s ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
    ).collect()[0]
    assert (counts.num_updated_rows, counts.num_inserted_rows) == (1, 1)

    target = DeltaTable.forName(spark, name)
    updates = _frame(spark, [(3, "C"), (4, "d")])
    (
        target.alias("t")
        .merge(updates.alias("s"), "t.id = s.id")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )
    rows = sorted((r.id, r.v) for r in spark.table(name).collect())
    assert rows == [(1, "a"), (2, "B"), (3, "C"), (4, "d")]
    assert [op for _, op in _history(spark, name)] == ["MERGE", "MERGE", "CREATE TABLE AS SELECT"]
    assert DeltaTable.forName(spark, name).toDF().count() == 4


def test_a_merge_with_a_duplicate_source_key_fails(spark, schema):
    from delta.tables import DeltaTable

    name = f"main.{schema}.t"
    _frame(spark, [(1, "a"), (2, "b")]).write.format("delta").saveAsTable(name)
    duplicates = _frame(spark, [(1, "x"), (1, "y")])
    with pytest.raises(Exception) as err:
        (
            DeltaTable.forName(spark, name)
            .alias("t")
            .merge(duplicates.alias("s"), "t.id = s.id")
            .whenMatchedUpdateAll()
            .execute()
        )
    assert _condition(err.value) == "DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE"
    assert sorted((r.id, r.v) for r in spark.table(name).collect()) == [(1, "a"), (2, "b")]
    assert len(_history(spark, name)) == 1  # nothing committed


# --------------------------------------------------------------------------- maintenance


def test_optimize_and_schema_evolution(spark, schema, home):
    from deltalake import DeltaTable as DeltaLake

    name = f"main.{schema}.t"
    _frame(spark, [(0, "a")]).write.format("delta").saveAsTable(name)
    for i in range(1, 4):
        _frame(spark, [(i, "a")]).write.format("delta").mode("append").saveAsTable(name)
    path = str(files.table_path(name, home))
    live = lambda: len(DeltaLake(path).file_uris())  # noqa: E731  (the files in the version)
    before = live()
    assert before >= 4
    metrics = spark.sql(f"OPTIMIZE {name}").collect()[0].metrics
    assert metrics.numFilesAdded == 1 and metrics.numFilesRemoved == before
    assert live() == 1 and _ids(spark.table(name)) == [0, 1, 2, 3]

    wider = spark.createDataFrame([(4, "b", 1.5)], "id bigint, v string, score double")
    with pytest.raises(Exception) as err:
        wider.write.format("delta").mode("append").saveAsTable(name)
    assert _condition(err.value) == "DELTA_METADATA_MISMATCH"
    wider.write.format("delta").mode("append").option("mergeSchema", "true").saveAsTable(name)
    df = spark.table(name)
    assert df.columns == ["id", "v", "score"]
    assert sorted((r.id, r.score) for r in df.collect()) == [
        (0, None),
        (1, None),
        (2, None),
        (3, None),
        (4, 1.5),
    ]
    assert list(tables.read(name, home=home).columns) == ["id", "v", "score"]


# --------------------------------------------------------------------------- delta-rs and Spark


def test_spark_and_delta_rs_read_each_others_tables(spark, schema, home):
    from delta.tables import DeltaTable

    by_spark = f"main.{schema}.by_spark"
    _frame(spark, [(1, "a"), (2, "b")]).write.format("delta").saveAsTable(by_spark)
    path = files.table_path(by_spark, home)
    assert DeltaTable.isDeltaTable(spark, str(path))
    assert sorted(tables.read(by_spark, home=home)["id"]) == [1, 2]
    assert files.version(by_spark, home=home) == 0

    by_rs = f"main.{schema}.by_rs"
    rows = pa.table({"id": pa.array([7, 8], pa.int64()), "v": ["x", "y"]})
    assert tables.append(by_rs, rows, home=home, configuration=tables.INFERENCE_TABLE_CONFIG) == 0
    assert DeltaTable.isDeltaTable(spark, str(files.table_path(by_rs, home)))
    assert _ids(spark.table(by_rs)) == [7, 8]
    assert spark.table(by_rs).schema.simpleString() == "struct<id:bigint,v:string>"
    _frame(spark, [(9, "z")]).write.format("delta").mode("append").saveAsTable(by_rs)
    tables.append(by_rs, rows.slice(0, 1), home=home)  # delta-rs after Spark
    assert sorted(tables.read(by_rs, home=home)["id"]) == [7, 7, 8, 9]
    assert _ids(spark.table(by_rs)) == [7, 7, 8, 9]
    assert [op for _, op in _history(spark, by_rs)][:2] == ["WRITE", "WRITE"]
    assert len(_history(spark, by_rs)) == 3

    plain = home / "warehouse" / "main" / schema / "plain"
    spark.range(2).write.parquet(str(plain))
    assert not DeltaTable.isDeltaTable(spark, str(plain))
    assert not spark.catalog.tableExists(f"main.{schema}.plain")


def test_a_spark_commit_never_replaces_one_delta_rs_made(spark, schema, home):
    """Delta's commits for local files go through mdk.LinkLogStore: version N is put only if
    absent (a hard link, as delta-rs commits), so a Spark commit racing a delta-rs append to
    the same version fails with FileAlreadyExistsException and Delta retries at N+1, where
    its default store checks and then renames over the other writer's commit."""
    from py4j.protocol import Py4JJavaError

    assert spark.conf.get("spark.delta.logStore.file.impl") == "mdk.LinkLogStore"
    name = f"main.{schema}.raced"
    rows = pa.table({"id": pa.array([1], pa.int64()), "v": ["rs"]})
    tables.append(name, rows, home=home)
    tables.append(name, rows, home=home)  # delta-rs made versions 0 and 1
    log = files.table_path(name, home) / "_delta_log"
    commit = log / f"{1:020d}.json"
    before = commit.read_bytes()
    jvm = spark._jvm
    store = jvm.mdk.LinkLogStore(spark._jsc.hadoopConfiguration())
    actions = jvm.java.util.ArrayList()
    actions.add('{"commitInfo":{"operation":"RACED"}}')
    target = jvm.org.apache.hadoop.fs.Path(commit.as_uri())
    with pytest.raises(Py4JJavaError) as caught:  # version 1 is taken: refused, not replaced
        store.write(target, actions.iterator(), False, spark._jsc.hadoopConfiguration())
    assert "FileAlreadyExistsException" in str(caught.value.java_exception.getClass())
    assert commit.read_bytes() == before
    assert not [p.name for p in log.iterdir() if p.name.endswith(".tmp")]  # nothing left
    fresh = jvm.org.apache.hadoop.fs.Path((log / f"{2:020d}.json").as_uri())
    store.write(fresh, actions.iterator(), False, spark._jsc.hadoopConfiguration())
    assert (log / f"{2:020d}.json").read_text() == '{"commitInfo":{"operation":"RACED"}}\n'


# --------------------------------------------------------------------------- recipes.tables


def test_write_table_returns_rows_and_version_and_marks_created_by(spark, schema, home):
    name = f"main.{schema}.scores"
    first = tables.write_table(name, spark.range(4))
    assert (first.name, first.mode, first.rows, first.version) == (name, "overwrite", 4, 0)
    assert first.seconds > 0
    assert tables.properties(name, home=home) == {"created_by": "mdk"}
    more = tables.write_table(name, spark.range(10, 12), mode="append")
    assert (more.mode, more.rows, more.version) == ("append", 2, 1)
    assert _ids(tables.read_table(name, spark=spark)) == [0, 1, 2, 3, 10, 11]
    again = tables.write_table(name, spark.range(20, 21))
    assert (again.rows, again.version) == (1, 2)
    assert _ids(spark.table(name)) == [20]
    assert [op for _, op in _history(spark, name)] == [
        "CREATE OR REPLACE TABLE AS SELECT",
        "WRITE",
        "CREATE OR REPLACE TABLE AS SELECT",
    ]
    assert tables.properties(name, home=home) == {"created_by": "mdk"}  # kept by the replace

    import pandas as pd

    pdf = tables.write_table(f"main.{schema}.pdf", pd.DataFrame({"id": [1, 2]}), spark=spark)
    arrow = tables.write_table(f"main.{schema}.arrow", pa.table({"id": [3]}), spark=spark)
    assert (pdf.rows, arrow.rows) == (2, 1)
    assert spark.table(f"main.{schema}.arrow").first().id == 3


def test_write_table_appends_to_a_table_it_did_not_make_without_marking_it(spark, schema, home):
    name = f"main.{schema}.theirs"
    spark.range(2).write.format("delta").saveAsTable(name)
    tables.write_table(name, spark.range(2, 3), mode="append")
    assert "created_by" not in tables.properties(name, home=home)
    tables.mark_created(name, spark=spark)
    assert tables.properties(name, home=home)["created_by"] == "mdk"
    assert spark.table(name).count() == 3


def test_list_exists_and_drop_through_spark(spark, schema, home):
    for t in ("b", "a"):
        tables.write_table(f"main.{schema}.{t}", spark.range(1))
    with spark_defaults_codegen(spark):  # list_tables calls spark.catalog.listTables
        listed = tables.list_tables(f"main.{schema}", spark=spark)
    assert listed == [f"main.{schema}.a", f"main.{schema}.b"]
    assert tables.table_exists(f"main.{schema}.a", spark=spark)
    assert tables.drop_table(f"main.{schema}.a", spark=spark) is True
    assert tables.drop_table(f"main.{schema}.a", spark=spark) is False
    assert not files.table_path(f"main.{schema}.a", home).exists()
    with spark_defaults_codegen(spark):
        assert tables.list_tables(f"main.{schema}", spark=spark) == [f"main.{schema}.b"]


# --------------------------------------------------------------------------- a killed write

_SLOW_OVERWRITE = """
import os, sys, time
from pyspark.sql.functions import udf
from recipes.spark import get_spark

name, marker = sys.argv[1], sys.argv[2]
spark = get_spark("local")
print("rows before:", spark.table(name).count(), flush=True)

@udf("bigint")
def slow(i):
    if i == 13:  # this task hangs; the others finish and leave their files
        with open(marker + ".tmp", "w") as f:
            f.write(str(os.getpgid(0)))
        os.replace(marker + ".tmp", marker)
        time.sleep(3600)
    return i * 100

df = spark.range(0, 40, 1, numPartitions=4).select(slow("id").alias("id"))
df.write.format("delta").mode("overwrite").saveAsTable(name)
print("overwrote", flush=True)
"""


def _kill_group(pgid: int, timeout: float = 30) -> bool:
    """SIGKILL a process group this test started; True once no process of it is left (a
    killed child is gone once its parent, or init, has reaped it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _data_files(path: Path) -> set[str]:
    return {p.name for p in path.glob("*.parquet")}


@pytest.mark.slow
def test_a_write_killed_midway_leaves_the_previous_version_whole(spark, mdk_home, tmp_path):
    """The overwrite's driver, JVM and Python workers are SIGKILLed while one task sleeps and
    the others have written their files: no commit, so every reader sees the old table."""
    name = "main.crash.t"
    old = pa.table({"id": pa.array(range(10), pa.int64())})
    tables.append(name, old.slice(0, 5), home=mdk_home)
    tables.append(name, old.slice(5), home=mdk_home)  # version 1: the previous version
    path = files.table_path(name, mdk_home)
    committed = _data_files(path)
    marker, log = tmp_path / "hanging", tmp_path / "child.log"
    env = {**os.environ, "MDK_HOME": str(mdk_home), "PYTHONPATH": str(ROOT)}
    env.pop("SPARK_CONNECT_MODE_ENABLED", None)
    with open(log, "wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-c", _SLOW_OVERWRITE, name, str(marker)],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the driver and its JVM
        )
    workers = None
    try:
        deadline = time.monotonic() + 240
        while not (marker.exists() and _data_files(path) - committed):
            assert child.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the slow job never got halfway"
            time.sleep(0.2)
        workers = int(marker.read_text())  # pyspark's worker daemon has a group of its own
        half_written = _data_files(path) - committed
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the driver and its JVM, at once
        child.wait(30)
        gone = _kill_group(child.pid)
        if workers is not None and workers != child.pid:
            gone = _kill_group(workers) and gone
    assert gone, "a process of the killed job is still running"
    assert child.returncode == -signal.SIGKILL
    assert "rows before: 10" in log.read_text() and "overwrote" not in log.read_text()
    assert half_written and half_written <= _data_files(path)  # left behind, never committed

    assert files.version(name, home=mdk_home) == 1
    assert sorted(tables.read(name, home=mdk_home)["id"]) == list(range(10))
    by_path = spark.read.format("delta").load(str(path))
    assert _ids(by_path) == list(range(10))
    history = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").collect()
    assert [r.version for r in history] == [1, 0]
    assert tables.append(name, old.slice(0, 1), home=mdk_home) == 2  # and it takes new commits
    assert tables.row_count(name, home=mdk_home) == 11


def test_require_table_reads_it_or_names_the_fix_in_one_line(spark, schema):
    from recipes.errors import NotFoundError

    name = f"main.{schema}.t"
    with pytest.raises(NotFoundError) as caught:
        tables.require_table(name, fix="write it first.", spark=spark)
    assert str(caught.value) == (
        f"Table '{name}' does not exist in this Spark session's catalog: write it first."
    )
    spark.range(3).write.saveAsTable(name)
    assert tables.require_table(name, fix="unused", spark=spark).count() == 3
