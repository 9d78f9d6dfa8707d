"""recipes.delta_lake: Delta's jars, the catalog jar and the session settings, without a JVM.

Only ``javac`` runs here (one compile into a temporary home); no Spark JVM starts. The
sessions that use these settings are tested in ``test_tables_spark.py``.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from recipes import delta_lake
from recipes.errors import KitError, MissingDependency

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"


@pytest.fixture
def delta_home(tmp_path, monkeypatch) -> Path:
    """An empty ``delta_lake.home()`` (this venv's real one is never written by these tests)."""
    root = tmp_path / "delta-home"
    monkeypatch.setattr(delta_lake, "home", lambda: root)
    return root


def _write_manifest(root: Path, jars: list[Path]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / delta_lake.MANIFEST).write_text("".join(f"{p}\n" for p in jars))


# --------------------------------------------------------------------------- jar names


@pytest.mark.parametrize(
    ("jar", "artifact"),
    [
        ("org.apache.logging.log4j_log4j-core-2.25.3.jar", "log4j-core"),
        ("io.delta_delta-spark_4.2_2.13-4.4.0.jar", "delta-spark_4.2_2.13"),
        ("io.delta_delta-storage-4.4.0.jar", "delta-storage"),
        ("com.github.luben_zstd-jni-1.5.7-3.jar", "zstd-jni"),
        ("commons-logging_commons-logging-1.3.0.jar", "commons-logging"),
        ("org.roaringbitmap_RoaringBitmap-0.9.25.jar", "RoaringBitmap"),
        ("org.xerial.snappy_snappy-java-1.1.10.7.jar", "snappy-java"),
        # the names in Spark's own jars/ folder have no group
        ("log4j-core-2.25.3.jar", "log4j-core"),
        ("jackson-annotations-2.21.jar", "jackson-annotations"),
        ("RoaringBitmap-1.6.10.jar", "RoaringBitmap"),
    ],
)
def test_artifact_drops_the_group_and_the_version(jar, artifact):
    assert delta_lake._artifact(jar) == artifact


def _paths(*names: str) -> list[Path]:
    return [Path("/ivy/jars") / n for n in names]


def test_excludes_name_only_dependencies_this_pysparks_jars_hold():
    spark_jars = [
        "hadoop-client-api-3.4.2.jar",
        "parquet-hadoop-1.16.0.jar",
        "slf4j-api-2.0.17.jar",
    ]
    assert delta_lake._excludes(spark_jars) == [
        "org.apache.hadoop:hadoop-client-api",
        "org.apache.parquet:parquet-hadoop",
        "org.slf4j:slf4j-api",
    ]
    assert delta_lake._excludes([]) == []  # a pyspark without them: Ivy fetches them all


def test_every_excluded_dependency_is_in_this_venvs_pyspark():
    """Each artifact Ivy is told to skip is one this pyspark ships (else a pin moved)."""
    spark_jars = [p.name for p in delta_lake._spark_jars().glob("*.jar")]
    assert delta_lake._excludes(spark_jars) == list(delta_lake._SHIPPED)


def test_own_leaves_out_the_jars_spark_ships():
    resolved = _paths(
        "io.delta_delta-spark_4.2_2.13-4.4.0.jar",
        "io.delta_delta-storage-4.4.0.jar",
        "org.roaringbitmap_shims-0.9.25.jar",
        "com.fasterxml.jackson.core_jackson-core-2.13.5.jar",  # Spark ships another version
        "org.apache.logging.log4j_log4j-api-2.25.3.jar",
        "org.roaringbitmap_RoaringBitmap-0.9.25.jar",
        "commons-logging_commons-logging-1.3.0.jar",  # _SKIP: Spark has jcl-over-slf4j
    )
    shipped = [
        "jackson-core-2.21.2.jar",
        "log4j-api-2.25.3.jar",
        "RoaringBitmap-1.6.10.jar",
        "jcl-over-slf4j-2.0.17.jar",
        "spark-core_2.13-4.2.0.jar",
    ]
    kept = delta_lake._own(resolved, shipped)
    assert [p.name for p in kept] == [
        "io.delta_delta-spark_4.2_2.13-4.4.0.jar",
        "io.delta_delta-storage-4.4.0.jar",
        "org.roaringbitmap_shims-0.9.25.jar",
    ]
    assert delta_lake._own(resolved[:1], []) == resolved[:1]  # nothing shipped: all kept


def test_own_leaves_out_a_scala_jar_spark_ships():
    # Spark's jars/ names a Scala library `<artifact>_2.13-<version>.jar`, Ivy names it
    # `<group>_<artifact>_2.13-<version>.jar`: the same artifact, which Spark already loads
    resolved = _paths("org.scala-lang.modules_scala-parser-combinators_2.13-2.4.0.jar")
    assert delta_lake._own(resolved, ["scala-parser-combinators_2.13-2.4.0.jar"]) == []


def test_this_venvs_delta_jars_are_delta_s_own():
    names = [p.name for p in delta_lake.jars()]
    assert any(n.startswith("io.delta_delta-spark_") for n in names), names
    assert any(n.startswith("io.delta_delta-storage-") for n in names), names
    shipped = {p.name for p in delta_lake._spark_jars().glob("*.jar")}
    assert shipped, "pyspark's jars/ folder is empty"
    for spark_owns in ("log4j-", "hadoop-client-", "parquet-", "jackson-core-", "commons-logging-"):
        assert not [n for n in names if spark_owns in n], (spark_owns, names)


# --------------------------------------------------------------------------- jars()


def test_jars_without_a_manifest_names_make_setup(delta_home):
    with pytest.raises(MissingDependency) as err:
        delta_lake.jars()
    message = str(err.value)
    assert "\n" not in message and "make setup" in message
    assert str(delta_home) in message and "io.delta:delta-spark_" in message


def test_jars_with_a_listed_jar_gone_names_make_setup(delta_home):
    present = delta_home / "present.jar"
    _write_manifest(delta_home, [present, delta_home / "gone.jar"])
    present.write_bytes(b"PK")
    with pytest.raises(MissingDependency, match="make setup"):
        delta_lake.jars()
    _write_manifest(delta_home, [present])
    assert delta_lake.jars() == [present]


# --------------------------------------------------------------------------- the catalog jar


def test_catalog_jar_is_compiled_once_and_reused(tmp_path, monkeypatch):
    jars = delta_lake.jars()  # this venv's, listed before home() moves
    delta_home = tmp_path / "delta-home"
    monkeypatch.setattr(delta_lake, "home", lambda: delta_home)
    _write_manifest(delta_home, jars)
    stale = delta_home / "mdk-catalog-000000000000.jar"  # from older sources
    stale.write_bytes(b"PK")

    jar = delta_lake.catalog_jar()
    assert jar == delta_lake.catalog_jar_path() and jar.parent == delta_home
    assert jar.is_file() and not stale.exists()
    with zipfile.ZipFile(jar) as z:
        assert "mdk/PathCatalog.class" in z.namelist()
    assert [p.name for p in delta_home.glob("mdk-catalog-*.jar")] == [jar.name]
    assert not list(delta_home.glob(".mdk-catalog-*"))  # no partial jar left

    def no_compile():
        raise AssertionError("compiled again")

    monkeypatch.setattr(delta_lake, "_javac", no_compile)
    stamp = jar.stat().st_mtime_ns
    assert delta_lake.catalog_jar() == jar and jar.stat().st_mtime_ns == stamp
    assert delta_lake.class_path().split(os.pathsep) == [*map(str, jars), str(jar)]


def test_catalog_jar_name_follows_the_sources(tmp_path, monkeypatch):
    before = delta_lake.catalog_jar_path()
    assert before.name.startswith("mdk-catalog-") and before.parent == delta_lake.home()
    copy = tmp_path / "java_src"
    for p in delta_lake._source_files():
        target = copy / p.relative_to(delta_lake.SOURCES)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(p.read_bytes())
    monkeypatch.setattr(delta_lake, "SOURCES", copy)
    assert delta_lake.catalog_jar_path() == before  # same sources, same jar
    source = next(copy.rglob("PathCatalog.java"))
    source.write_text(source.read_text() + "\n// edited\n")
    assert delta_lake.catalog_jar_path() != before


def test_a_missing_javac_is_one_line(delta_home, monkeypatch, tmp_path):
    jre = tmp_path / "jre" / "bin"
    jre.mkdir(parents=True)
    (jre / "java").write_text("#!/bin/sh\n")  # a JRE: java without javac beside it
    monkeypatch.setattr(delta_lake, "java_executable", lambda: str(jre / "java"))
    monkeypatch.setattr(delta_lake.shutil, "which", lambda name, *a, **k: None)
    fake = delta_home / "delta.jar"
    _write_manifest(delta_home, [fake])
    fake.write_bytes(b"PK")
    with pytest.raises(MissingDependency) as err:
        delta_lake.catalog_jar()
    message = str(err.value)
    assert "\n" not in message and "javac" in message
    assert "openjdk-17-jdk-headless" in message
    assert not list(delta_home.glob("*catalog*"))  # nothing half-made


# --------------------------------------------------------------------------- spark_conf


def _catalog_names(conf: dict[str, str]) -> list[str]:
    keys = [
        k.removeprefix("spark.sql.catalog.") for k in conf if k.startswith("spark.sql.catalog.")
    ]
    return sorted({k for k in keys if "." not in k and k != "spark_catalog"})


def test_spark_conf_runs_delta_with_one_catalog_over_the_warehouse(tmp_path):
    warehouse = tmp_path / "warehouse"
    conf = delta_lake.spark_conf(warehouse)
    assert conf["spark.sql.extensions"] == DELTA_EXTENSION
    assert conf["spark.sql.catalog.spark_catalog"] == DELTA_CATALOG
    assert conf["spark.sql.defaultCatalog"] == "main"
    assert conf["spark.sql.sources.default"] == "delta"  # saveAsTable without a format
    assert _catalog_names(conf) == ["main", "system"]
    assert conf["spark.sql.catalog.main"] == "mdk.PathCatalog"
    assert conf["spark.sql.catalog.main.root"] == str(warehouse / "main")
    class_path = conf["spark.driver.extraClassPath"].split(os.pathsep)
    assert [Path(p) for p in class_path] == [*delta_lake.jars(), delta_lake.catalog_jar()]
    assert all(Path(p).is_file() for p in class_path)
    assert not warehouse.exists()  # settings only: nothing is created


def test_mdk_catalog_adds_a_catalog_after_main(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse"
    monkeypatch.setenv("MDK_CATALOG", " Dev ")
    assert delta_lake.catalogs() == ["main", "dev", "system"]
    conf = delta_lake.spark_conf(warehouse)
    assert _catalog_names(conf) == ["dev", "main", "system"]
    assert conf["spark.sql.defaultCatalog"] == "main"
    assert conf["spark.sql.catalog.dev"] == "mdk.PathCatalog"
    assert conf["spark.sql.catalog.dev.root"] == str(warehouse / "dev")
    assert conf["spark.sql.catalog.main.root"] == str(warehouse / "main")

    monkeypatch.setenv("MDK_CATALOG", "main")  # naming the default adds nothing
    assert delta_lake.catalogs() == ["main", "system"]
    assert _catalog_names(delta_lake.spark_conf(warehouse)) == ["main", "system"]
    monkeypatch.setenv("MDK_CATALOG", "")
    assert delta_lake.catalogs() == ["main", "system"]


def test_without_mdk_catalog_there_is_only_main():
    assert "MDK_CATALOG" not in os.environ  # the mdk_home fixture clears it for every test
    assert delta_lake.catalogs() == ["main", "system"]  # and Databricks' system catalog


def test_explicit_names_put_the_first_as_default(tmp_path):
    conf = delta_lake.spark_conf(tmp_path, ["dev", "main", "dev"])
    assert conf["spark.sql.defaultCatalog"] == "dev"
    assert _catalog_names(conf) == ["dev", "main"]
    assert conf["spark.sql.catalog.dev.root"] == str(tmp_path / "dev")


def test_spark_conf_refuses_an_old_warehouse_before_anything_else(tmp_path, delta_home):
    old = tmp_path / "warehouse" / "main" / "s" / ".t.versions" / "v1"
    old.mkdir(parents=True)
    # no jars in this (patched) home: the layout is what is reported, not the jars
    with pytest.raises(KitError) as err:
        delta_lake.spark_conf(tmp_path / "warehouse")
    assert not isinstance(err.value, MissingDependency)
    assert "old parquet layout" in str(err.value)
