"""The class-data-sharing archive of Spark's classes (``recipes.jvm_archive``): named only when
it exists, keyed by the java that runs, and mapped by the kit's real JVMs (the classic
session and the Spark Connect server), which the JVM itself reports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from recipes import jvm_archive
from recipes.java import java_executable
from recipes.tooling.doctor import check_jvm_archive


def test_no_archive_names_nothing_and_an_archive_is_named_quietly(tmp_path, monkeypatch):
    archive = tmp_path / "spark-x.jsa"
    monkeypatch.setattr(jvm_archive, "archive_path", lambda java=None: archive)
    # a missing file would turn off the JDK's own sharing too: nothing is named
    assert jvm_archive.java_options() == ""
    archive.write_bytes(b"x")
    options = jvm_archive.java_options().split()
    assert options == [f"-XX:SharedArchiveFile={archive}", "-Xlog:cds*=off"]
    monkeypatch.setattr(jvm_archive, "archive_path", lambda java=None: None)
    assert jvm_archive.java_options() == ""
    assert jvm_archive.dump_options() == ""  # only build()'s child process dumps


@pytest.mark.spark  # runs java -version
def test_the_archive_is_the_venvs_and_keyed_by_java(tmp_path, monkeypatch):
    java = java_executable()
    assert java, "these tests need the java local Spark uses"
    path = jvm_archive.archive_path(java)
    assert path.parent == Path(jvm_archive.sys.prefix) / "share" / "mdk"
    assert re.fullmatch(r"spark-\d+\.\d+\.\d+-[0-9a-f]{12}\.jsa", path.name)
    other = tmp_path / "bin" / "java"  # another JDK, the same version text
    other.parent.mkdir()
    other.write_text("#!/bin/sh\necho 'openjdk version \"17.0.99\"' >&2\n")
    other.chmod(0o755)
    assert jvm_archive.archive_path(str(other)) != path
    # other Delta jars on the class path (another delta-spark): another archive
    monkeypatch.setattr(jvm_archive, "_delta_class_path", lambda: "/elsewhere/delta.jar")
    assert jvm_archive.archive_path(java) != path
    monkeypatch.setattr(jvm_archive, "_pyspark_version", lambda: None)
    assert jvm_archive.archive_path(java) is None


def test_doctor_reports_the_archive_or_the_command_that_makes_it(tmp_path):
    missing = check_jvm_archive(tmp_path / "spark-x.jsa")
    assert not missing.ok and not missing.required
    assert "-m recipes.jvm_archive" in missing.fix
    (tmp_path / "spark-x.jsa").write_bytes(b"\0" * 2_000_000)
    present = check_jvm_archive(tmp_path / "spark-x.jsa")
    assert present.ok and "(2 MB)" in present.detail
    assert check_jvm_archive(None).ok  # no local Spark here: nothing to make


def _jcmd(pid: int, command: str) -> str:
    jcmd = Path(java_executable()).resolve().parent / "jcmd"
    return subprocess.run(
        [str(jcmd), str(pid), command], capture_output=True, text=True, timeout=60, check=True
    ).stdout


def _mapped_bytes(pid: int) -> int:
    """The size of the CDS archives the JVM ``pid`` mapped, by its own ``VM.info``."""
    out = _jcmd(pid, "VM.info")
    m = re.search(r"CDS archive\(s\) mapped at: \[[^\]]*\), size (\d+)", out)
    assert m, f"VM.info of {pid} names no mapped CDS archive"
    return int(m.group(1))


def _assert_test_flags(pid: int) -> None:
    """The JVM ``pid`` runs with the tests' MDK_JVM_OPTIONS (tests/homes.py), by its own flags:
    C1 only, with the tiered code cache's 240 MB rather than the 48 MB C1 alone would get."""
    flags = _jcmd(pid, "VM.flags").split()
    assert "-XX:TieredStopAtLevel=1" in flags
    assert "-XX:ReservedCodeCacheSize=251658240" in flags


@pytest.fixture
def archive() -> Path:
    path = jvm_archive.archive_path()
    assert path is not None and path.is_file(), (
        f"no JVM archive at {path}: make setup makes it (python -m recipes.jvm_archive)"
    )
    return path


def test_the_archive_holds_deltas_classes_and_the_catalog(archive):
    """The archive's workload wrote, merged and time-travelled a Delta table, so the classes
    every Delta session loads are in it (their names are in its symbol table)."""
    import mmap

    with open(archive, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for name in (
            b"io/delta/sql/DeltaSparkSessionExtension",
            b"org/apache/spark/sql/delta/catalog/DeltaCatalog",
            b"org/apache/spark/sql/delta/commands/MergeIntoCommand",
            b"mdk/PathCatalog",
        ):
            assert data.find(name) >= 0, f"{name.decode()} is not in {archive.name}"


@pytest.mark.spark
def test_the_classic_session_maps_the_archive(spark, archive):
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    # the JDK's own archive is ~13 MB; with Spark's classes it is the whole file more
    assert _mapped_bytes(pid) > archive.stat().st_size
    # and it runs with the tests' JVM options, whose system properties reached its SparkConf
    # (expressions interpreted, tests/homes.py)
    _assert_test_flags(pid)
    assert spark.conf.get("spark.sql.codegen.factoryMode") == "NO_CODEGEN"


@pytest.mark.spark
def test_the_spark_connect_server_maps_the_archive(spark_connect, archive):
    assert _mapped_bytes(spark_connect.pid) > archive.stat().st_size
    _assert_test_flags(spark_connect.pid)
    props = _jcmd(spark_connect.pid, "VM.system_properties").splitlines()
    assert "spark.sql.codegen.factoryMode=NO_CODEGEN" in props
