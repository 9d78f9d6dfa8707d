"""The environment of a test's own ``MDK_HOME``: its sqlite store, no workspace, no remote.

Shared by the root conftest (every test), the exam lab and its lifecycle test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

# Every local Spark JVM a test starts runs with C1 only (recipes.java.extra_jvm_options): its
# jobs take seconds on small data, where C2's compiling costs more CPU than it saves. In the
# core tiers it halved the JVMs' CPU (304 -> 160 CPU-s) and took 13 % off the wall.
# For the same reason Spark evaluates expressions interpreted, not generated and compiled
# with Janino (Spark's own test mode; a JVM reads `spark.*` system properties into its
# SparkConf, classic and Spark Connect alike): on 2,000 rows, code generation was 40 % of the
# JVM's samples in a monitor refresh, and without it three refreshes took 32-37 CPU-s
# instead of 45-47. C1 alone also shrinks the JVM's default code cache from 240 MB to 48 MB,
# which Spark and Delta's code fills: the sweeper thread then flushes compiled methods and C1
# compiles them again. With the tiered default size back, a Delta-heavy slice of the tests
# (test_tables_spark, test_features, test_processed) took 79 JVM CPU-s instead of 95: the
# sweeper's 6.6 CPU-s gone, C1's 15.4 down to 8.4 (per-thread CPU from /proc). Users' JVMs
# keep Java's and Spark's defaults.
TEST_JVM_OPTIONS = (
    "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"
    " -Dspark.sql.codegen.wholeStage=false -Dspark.sql.codegen.factoryMode=NO_CODEGEN"
)
_CODEGEN = {"spark.sql.codegen.wholeStage": "true", "spark.sql.codegen.factoryMode": "FALLBACK"}


@contextmanager
def spark_defaults_codegen(spark) -> Iterator[None]:
    """Spark's own expression evaluation (generated code) in ``spark`` for a call that
    interpreted mode breaks: Spark 4.0's classic ``spark.catalog.listTables`` then fails to
    decode its rows (``EXPRESSION_DECODING_FAILED``). Users' sessions run like this always."""
    before = {key: spark.conf.get(key) for key in _CODEGEN}
    for key, value in _CODEGEN.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)


def local_env(home, **extra: str | None) -> dict[str, str | None]:
    """Variables to set (a string) or remove (None) for ``home``, then ``extra``."""
    return {
        "MDK_HOME": str(home),
        "MDK_TARGET": "local",
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
        "MLFLOW_REGISTRY_URI": None,
        "SPARK_REMOTE": None,
        "MDK_SPARK_REMOTE": None,
        # what `eval "$(mdk workspace env)"` or a workspace's names leave in a shell
        "MDK_WORKSPACE_DOUBLE": None,
        "MDK_CATALOG": None,
        "MDK_SCHEMA": None,
        "MDK_EXPERIMENT_DIR": None,
        # use_target/connection point the SDK at the local endpoint; each test starts clean
        "DATABRICKS_HOST": None,
        "DATABRICKS_TOKEN": None,
        "DATABRICKS_CONFIG_FILE": None,
        "DATABRICKS_CONFIG_PROFILE": None,
        "MDK_JVM_OPTIONS": TEST_JVM_OPTIONS,
        **extra,
    }


def apply_env(monkeypatch, env: dict[str, str | None]) -> None:
    """Set or remove each variable through ``monkeypatch``, which restores them after."""
    for key, value in env.items():
        # setenv first, so that monkeypatch records even an absent variable and removes
        # whatever the test (or MLflow, which exports its URIs) sets there
        monkeypatch.setenv(key, value if value is not None else "")
        if value is None:
            monkeypatch.delenv(key)


def session_shared_dir(tmp_path_factory, worker_id: str, name: str):
    """A folder every pytest-xdist worker of this session shares (the controller's base
    temporary folder; the session's own without xdist), made if missing: what is built there
    under :func:`recipes.locks.locked` is built once per session, not once per worker."""
    base = tmp_path_factory.getbasetemp()
    shared = (base if worker_id == "master" else base.parent) / name
    shared.mkdir(parents=True, exist_ok=True)
    return shared
