"""Unit-test fixtures: one classic local Spark session for the whole run.

The session is made by ``recipes.spark.get_spark("local")`` with its own ``MDK_HOME``
(warehouse, scratch, Derby) and with the JVM launched from an empty folder, so tests can
prove that nothing lands in the working directory. Per-test MLflow stores (the autouse
``mdk_home``) are unaffected: Spark keeps its folders from start-up.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

_SPARK_ENV = ("MDK_HOME", "MDK_SPARK_REMOTE", "SPARK_REMOTE", "MDK_SPARK_MASTER", "MDK_TARGET")


@dataclass
class SparkRun:
    """Where the session-scoped classic session keeps its files."""

    home: Path  # its MDK_HOME
    launch_dir: Path  # the (empty) working directory the JVM was started from
    startup_seconds: float


@pytest.fixture(scope="session")
def spark_run(tmp_path_factory) -> SparkRun:
    root = tmp_path_factory.mktemp("spark")
    home, launch = root / "mdk", root / "cwd"
    home.mkdir()
    launch.mkdir()
    return SparkRun(home, launch, 0.0)


@pytest.fixture(scope="session")
def spark(spark_run):
    """The classic ``local[2]`` SparkSession from ``get_spark("local")``, stopped at the end."""
    import time

    from recipes.spark import get_spark, stop_spark

    saved = {k: os.environ.get(k) for k in _SPARK_ENV}
    cwd = os.getcwd()
    for k in _SPARK_ENV:
        os.environ.pop(k, None)
    os.environ["MDK_HOME"] = str(spark_run.home)
    try:
        os.chdir(spark_run.launch_dir)
        t0 = time.perf_counter()
        session = get_spark("local")
        spark_run.startup_seconds = time.perf_counter() - t0
    finally:
        os.chdir(cwd)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    yield session
    stop_spark()
