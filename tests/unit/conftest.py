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

from recipes.target import scoped_env

_SPARK_ENV = ("MDK_HOME", "MDK_SPARK_REMOTE", "SPARK_REMOTE", "MDK_SPARK_MASTER", "MDK_TARGET")


@dataclass
class SparkRun:
    """Where the session-scoped classic session keeps its files."""

    home: Path  # its MDK_HOME
    launch_dir: Path  # the (empty) working directory the JVM was started from


@pytest.fixture(scope="session")
def spark_run(tmp_path_factory) -> SparkRun:
    root = tmp_path_factory.mktemp("spark")
    home, launch = root / "mdk", root / "cwd"
    home.mkdir()
    launch.mkdir()
    return SparkRun(home, launch)


@pytest.fixture(scope="session")
def spark(spark_run):
    """The classic ``local[2]`` SparkSession from ``get_spark("local")``, stopped at the end."""
    from recipes.spark import get_spark, stop_spark

    cwd = os.getcwd()
    cleared = dict.fromkeys(_SPARK_ENV) | {"MDK_HOME": str(spark_run.home)}
    with scoped_env(**cleared):
        try:
            os.chdir(spark_run.launch_dir)
            session = get_spark("local")
        finally:
            os.chdir(cwd)
    yield session
    stop_spark()
