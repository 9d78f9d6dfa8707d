"""A class-data-sharing (CDS) archive of Spark's classes, so local JVMs start sooner.

Every local Spark JVM (the classic session of a kernel, a monitor refresh job, a Spark
Connect server) loads and verifies the same ~10,000 classes of Spark's jars. Java 17's
dynamic CDS archive holds them already parsed: ``-XX:SharedArchiveFile`` maps it at start.
Measured on a 2-core machine (medians of 3, ``benchmarks/jvm_start.py``): a classic session's
first result after 4.0 s with it against 6.9 s without, a Spark Connect server's 5.0 s
against 7.4 s.

Delta Lake's jars and the kit's catalog are on the same class path
(:mod:`recipes.delta_lake`), and the archive's workload writes, merges and time-travels a Delta
table, so Delta's classes are in it too.

The archive belongs to the installation, like a ``.pyc``: it is
``<venv>/share/mdk/spark-<pyspark version>-<key>.jsa`` (the key names the java, its version
and the Delta jars on the class path), made once by ``make setup``
(``python -m recipes.jvm_archive``, about 15 s). Without it, or for another ``java``, Spark
starts as before. The JVM checks the archive itself (same JVM build, same class path) and
ignores one that does not match; its CDS log lines are switched off, so nothing reaches a
notebook either way. Nothing happens at import time.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from recipes import delta_lake
from recipes.errors import KitError
from recipes.java import extra_jvm_options, java_executable, java_version

# the JVM's own CDS log lines (a class it skips, an archive it refuses) go nowhere
_QUIET = "-Xlog:cds*=off"
# a file smaller than this is not an archive of Spark (a dump cut short, say)
_MIN_BYTES = 20_000_000


def _pyspark_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyspark")
    except PackageNotFoundError:
        return None


def archive_path(java: str | None = None) -> Path | None:
    """Where this venv keeps the archive for ``java`` (default: the one Spark launches).

    Returns:
        ``<sys.prefix>/share/mdk/spark-<pyspark>-<key>.jsa``, the key naming the java
        executable, its version and the Delta class path; None without pyspark or java.
    """
    java = java or java_executable()
    spark = _pyspark_version()
    if java is None or spark is None:
        return None
    try:
        ident = f"{Path(java).resolve()}|{java_version(java)[1]}|{_delta_class_path()}"
    except (OSError, subprocess.TimeoutExpired):
        return None
    key = hashlib.sha256(ident.encode()).hexdigest()[:12]
    return Path(sys.prefix) / "share" / "mdk" / f"spark-{spark}-{key}.jsa"


def _delta_class_path() -> str:
    """The Delta class path the JVMs start with (``""`` before ``make setup`` fetched it)."""
    try:
        return delta_lake.class_path()
    except KitError:
        return ""


def java_options() -> str:
    """The JVM options that map the archive, or ``""`` when there is none for this java.

    Only an existing archive is named: for a missing file the JVM would turn off sharing
    altogether, also of the JDK's own classes.
    """
    path = archive_path()
    if path is None or not path.is_file():
        return ""
    return f"-XX:SharedArchiveFile={path} {_QUIET}"


_WORKLOAD = """
import sys
from recipes import jvm_archive
jvm_archive._dump_to = sys.argv[1]
import pandas as pd
from pyspark.sql import functions as F
from recipes.spark import get_spark
spark = get_spark("local")
df = spark.createDataFrame(pd.DataFrame({"k": [1, 2, 2], "x": [0.5, 1.5, 2.5]}))
df.groupBy("k").agg(F.avg("x"), F.count("*")).toPandas()
df.write.mode("overwrite").parquet(sys.argv[2])
spark.read.parquet(sys.argv[2]).mapInPandas(lambda it: it, df.schema).toPandas()
spark.sql("CREATE SCHEMA IF NOT EXISTS main.archive")
df.write.format("delta").mode("overwrite").saveAsTable("main.archive.t")
spark.sql("ALTER TABLE main.archive.t SET TBLPROPERTIES (delta.enableChangeDataFeed = true)")
spark.sql("MERGE INTO main.archive.t USING (SELECT 1 AS k, 9.5 AS x) s ON t.k = s.k "
          "WHEN MATCHED THEN UPDATE SET x = s.x WHEN NOT MATCHED THEN INSERT *")
spark.sql("DESCRIBE HISTORY main.archive.t").collect()
spark.read.option("versionAsOf", 0).table("main.archive.t").count()
spark.read.option("readChangeFeed", "true").option("startingVersion", 1).table("main.archive.t").count()
jvm = spark.sparkContext._gateway.proc  # the JVM exits when its stdin closes
spark.stop()
jvm.stdin.close()
sys.exit(jvm.wait(timeout=float(sys.argv[3])))  # it writes the archive while it exits
"""

# set only in the child process of build(): its JVM writes the archive when it exits
_dump_to: str | None = None


def dump_options() -> str:
    """``-XX:ArchiveClassesAtExit`` in :func:`build`'s child process, else ``""``."""
    return f"-XX:ArchiveClassesAtExit={_dump_to} {_QUIET}" if _dump_to else ""


def spark_java_options(derby_home: Path, *more: str) -> str:
    """``spark.driver.extraJavaOptions`` of the kit's local Spark JVMs, the classic driver's
    and the Spark Connect server's: parallel GC, Derby under ``derby_home``, ``more``, this
    archive (or, in :func:`build`'s child, its dump), then ``MDK_JVM_OPTIONS`` last, so they
    win (:func:`recipes.java.extra_jvm_options`)."""
    options = (
        "-XX:+UseParallelGC",
        f"-Dderby.system.home={derby_home}",
        *more,
        dump_options() or java_options(),
        extra_jvm_options(),
    )
    return " ".join(o for o in options if o)


def build(timeout: float = 300) -> Path | None:
    """Make the archive: run a small Spark job whose JVM writes it when it exits.

    Returns:
        The archive's path, or None when this venv's pyspark has no local JVM (the
        Connect-only pyspark of databricks-connect) or there is no java.

    Raises:
        RuntimeError: the job failed, or its JVM wrote no archive.
        subprocess.TimeoutExpired: the job, with its JVM's exit, took over ``timeout`` s.
    """
    from pyspark.util import is_remote_only

    path = archive_path()
    if path is None or is_remote_only():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mdk-jvm-archive-") as tmp:
        partial = path.parent / f".{path.name}.{os.getpid()}"
        env = {**os.environ, "MDK_HOME": str(Path(tmp) / "mdk")}
        for name in ("MDK_SPARK_REMOTE", "SPARK_REMOTE", "MDK_SPARK_MASTER"):
            env.pop(name, None)
        job = subprocess.run(
            [
                sys.executable,
                "-c",
                _WORKLOAD,
                str(partial),
                str(Path(tmp) / "t.parquet"),
                str(timeout),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if job.returncode != 0:
            partial.unlink(missing_ok=True)
            tail = (job.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"the Spark job that makes the JVM archive failed: {tail}")
        if not partial.is_file() or partial.stat().st_size < _MIN_BYTES:
            partial.unlink(missing_ok=True)
            raise RuntimeError("the JVM exited without writing the archive")
        for old in path.parent.glob("spark-*.jsa"):
            old.unlink()
        os.replace(partial, path)
    return path


def main() -> int:
    """``python -m recipes.jvm_archive``: make the archive, or say why there is none."""
    started = time.monotonic()
    try:
        path = build()
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
        # Spark works without it, only slower to start: setup goes on
        print(f"JVM archive not made ({exc}); local Spark starts without it")
        return 0
    if path is None:
        print("JVM archive: not needed here (no local Spark JVM or no java)")
    else:
        mb = path.stat().st_size / 1e6
        print(f"JVM archive: {path} ({mb:.0f} MB, {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
