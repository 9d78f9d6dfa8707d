"""``get_spark()``: one call that returns the right SparkSession for the target.

- **databricks**: ``DatabricksSession`` (Databricks Connect), from its own venv.
- **local, Spark Connect**: when ``remote=``, ``MDK_SPARK_REMOTE`` or ``SPARK_REMOTE`` gives an
  ``sc://host:port`` URL.
- **local, classic**: an in-process ``local[2]`` JVM (``MDK_SPARK_MASTER`` overrides), whose
  Python workers run this interpreter and whose files (warehouse, scratch, Derby) live
  under ``MDK_HOME``, never in the current directory. Its stdout, stderr and log4j output
  go to ``$MDK_HOME/logs/spark-driver.log``, never into a notebook (:mod:`recipes.quiet`).

Locally every session runs Delta Lake (:mod:`recipes.delta_lake`): the classic session starts
with Delta's jars, session extension and catalog, and ``main.<schema>.<table>`` (``main`` the
default catalog) names the Delta table under ``$MDK_HOME/warehouse``; a local Spark Connect
server is started with the same settings (:mod:`recipes.spark_connect`). So
``df.write.format("delta")...saveAsTable(name)``, ``spark.table``, ``spark.sql``, MERGE,
history, time travel and ``DeltaTable`` are Spark's and Delta's own, with no kit code between.

Only ``spark.conf`` and ``spark.version`` are used on a session: Databricks Connect and
Spark Connect have no ``sparkContext`` or RDDs. Nothing happens at import time.

One process holds one kind of session: pyspark routes ``pyspark.sql.functions`` by a
process-wide flag, so classic and Connect sessions cannot be mixed. Switch with
:func:`stop_spark` (or restart the kernel).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

from recipes import delta_lake, jvm_archive, quiet
from recipes.errors import KitError, MissingDependency, ParameterError
from recipes.java import MIN_JAVA, require_java
from recipes.target import mdk_home, resolve

DEFAULT_MASTER = "local[2]"
LOCAL_INSTALL = 'pip install -e ".[local]"'
DATABRICKS_INSTALL = (
    "Databricks Connect is not installed: in a separate venv (never the one with pyspark: "
    "databricks-connect bundles its own pyspark and the two break each other) run "
    'pip install -e ".[databricks]".'
)

_lock = threading.RLock()
# Sessions made here -> (kind, remote URL), for describe_session().
_made: weakref.WeakKeyDictionary[Any, tuple[str, str | None]] = weakref.WeakKeyDictionary()


# --------------------------------------------------------------------------- sessions


def _remote_url(remote: str | None) -> str | None:
    url = remote or os.environ.get("MDK_SPARK_REMOTE") or os.environ.get("SPARK_REMOTE")
    if url and not (url.startswith("sc://") or url.startswith("local")):
        raise ParameterError(
            f"Spark Connect URL {redact(url)!r} must look like sc://host:port "
            "(parameter `remote`, env MDK_SPARK_REMOTE or SPARK_REMOTE)."
        )
    return url or None


def redact(url: str | None) -> str | None:
    """``url`` with any ``token=`` parameter hidden."""
    return re.sub(r"(token=)[^;&]*", r"\1***", url, flags=re.I) if url else url


def _import_pyspark():
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise MissingDependency(
            f"pyspark is not installed ({exc}): run {LOCAL_INSTALL} (needs Java {MIN_JAVA}+)."
        ) from exc
    return SparkSession


def _classic_active(SparkSession) -> Any | None:
    s = SparkSession._instantiatedSession
    return s if s is not None and s._sc._jsc is not None else None


def _connect_active() -> Any | None:
    mod = sys.modules.get("pyspark.sql.connect.session")
    if mod is None:
        return None
    cls = mod.SparkSession
    return cls.getActiveSession() or cls._get_default_session()


def _databricks(url: str | None):
    try:
        from databricks.connect import DatabricksSession
    except ImportError as exc:
        raise MissingDependency(DATABRICKS_INSTALL) from exc
    builder = DatabricksSession.builder
    spark = (builder.remote(url) if url else builder).getOrCreate()
    _remember(spark, "databricks", url)
    return spark


def _connect(SparkSession, url: str):
    try:
        from pyspark.sql.connect.utils import (
            require_minimum_grpc_version,
            require_minimum_grpcio_status_version,
            require_minimum_zstandard_version,
        )
        from pyspark.sql.pandas.utils import (
            require_minimum_pandas_version,
            require_minimum_pyarrow_version,
        )

        for check in (
            require_minimum_pandas_version,
            require_minimum_pyarrow_version,
            require_minimum_grpc_version,
            require_minimum_grpcio_status_version,
            require_minimum_zstandard_version,
        ):
            check()
    except ImportError as exc:
        raise MissingDependency(
            f"Spark Connect needs grpcio, grpcio-status, zstandard, pandas and pyarrow ({exc}): "
            f"run {LOCAL_INSTALL}."
        ) from exc
    if _classic_active(SparkSession) is not None:
        raise KitError(
            "A classic local Spark session is running in this process, and pyspark cannot mix "
            "it with Spark Connect: call recipes.spark.stop_spark() first or restart the kernel."
        )
    existing = _connect_active()
    if existing is not None:
        with contextlib.suppress(TypeError):
            if _made.get(existing, ("", url))[1] != url:
                raise KitError(
                    f"A Spark Connect session to {redact(_made[existing][1])} is open: call "
                    f"recipes.spark.stop_spark() before connecting to {redact(url)}."
                )
        return existing
    spark = SparkSession.builder.remote(url).getOrCreate()
    _remember(spark, "connect", url)
    return spark


def classic_conf(app_name: str = "mdk", home: Path | None = None) -> dict[str, str]:
    """The configuration of the classic local session (everything under ``home``), with
    Delta Lake and the catalogs over ``<home>/warehouse`` (:func:`recipes.delta_lake.spark_conf`).

    Raises:
        MissingDependency: Delta's jars are not fetched (``make setup``).
        KitError: the warehouse holds tables in the kit's old layout.
    """
    home = home or mdk_home()
    master = os.environ.get("MDK_SPARK_MASTER") or DEFAULT_MASTER
    java_opts = jvm_archive.spark_java_options(
        home / "derby", f"-Dlog4j2.configurationFile={home / quiet.LOG_DIR / quiet.LOG4J}"
    )
    conf = {
        "spark.master": master,
        "spark.app.name": app_name,
        "spark.pyspark.python": sys.executable,
        "spark.pyspark.driver.python": sys.executable,
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.driver.extraJavaOptions": java_opts,
        "spark.sql.warehouse.dir": str(home / "spark-warehouse"),
        "spark.log.level": "WARN",
        **delta_lake.spark_conf(home / "warehouse"),
    }
    if master.startswith("local"):
        conf |= {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
    return conf


def classic_env(home: Path | None = None) -> dict[str, str]:
    """Environment for the classic session's JVM and Python workers.

    Scratch space goes through ``SPARK_LOCAL_DIRS`` rather than ``spark.local.dir``, which
    makes Spark warn on every start. A value the user set already is kept.
    """
    home = home or mdk_home()
    env = {
        # Workers run `python3` from PATH unless told otherwise, which may not be this venv's.
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_DIRS": _users("SPARK_LOCAL_DIRS") or str(home / "spark-local"),
    }
    master = os.environ.get("MDK_SPARK_MASTER") or DEFAULT_MASTER
    if master.startswith("local"):  # silences "hostname resolves to a loopback address"
        env["SPARK_LOCAL_IP"] = _users("SPARK_LOCAL_IP") or "127.0.0.1"
    return env


_env_set: dict[str, str] = {}  # what _classic() wrote into os.environ


def _users(name: str) -> str | None:
    """``os.environ[name]`` unless it is a value this module set there itself."""
    value = os.environ.get(name)
    return None if value is None or _env_set.get(name) == value else value


def _classic(SparkSession, app_name: str):
    existing = _classic_active(SparkSession)
    if existing is not None:
        return existing
    if _connect_active() is not None:
        raise KitError(
            "A Spark Connect session is open in this process, and pyspark cannot mix it with a "
            "classic session: call recipes.spark.stop_spark() first or restart the kernel."
        )
    from pyspark.util import is_remote_only

    if is_remote_only():
        raise MissingDependency(
            "This venv's pyspark is Connect-only (databricks-connect's or pyspark-client): use "
            f"the local venv ({LOCAL_INSTALL}), set MDK_SPARK_REMOTE=sc://host:port, or "
            "MDK_TARGET=databricks."
        )
    os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)  # left by a stopped Connect session
    require_java()
    conf = classic_conf(app_name)
    env = classic_env()
    os.environ.update(env)  # read by the JVM launch and by pandas UDF workers
    _env_set.update(env)
    Path(conf["spark.sql.warehouse.dir"]).mkdir(parents=True, exist_ok=True)
    for d in env["SPARK_LOCAL_DIRS"].split(","):
        Path(d).mkdir(parents=True, exist_ok=True)
    home = mdk_home()
    quiet.log4j_properties(home)  # named in the driver's Java options by classic_conf
    _launch_jvm(conf, quiet.spark_log(home))
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    _remember(spark, "classic", None)
    return spark


def _launch_jvm(conf: dict[str, str], log: Path) -> None:
    """Start the driver JVM with its stdout and stderr appended to ``log``, not inherited.

    A kernel forwards its own file descriptors 1 and 2 into the notebook, and the JVM (and
    the Python workers it forks) would otherwise write there: "Using incubator modules",
    log4j's start-up lines, task warnings. pyspark keeps one JVM per process, also across
    ``stop()``, so this runs once; the context it makes is the one ``getOrCreate`` returns.
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    if SparkContext._gateway is not None or "PYSPARK_GATEWAY_PORT" in os.environ:
        return  # a JVM is up already (pyspark reuses it), or someone else launched it
    spark_conf = SparkConf(loadDefaults=False).setAll(list(conf.items()))
    with open(log, "ab") as out:  # the JVM keeps its own copy of the descriptor
        gateway = launch_gateway(spark_conf, popen_kwargs={"stdout": out, "stderr": out})
    SparkContext(gateway=gateway, conf=spark_conf)


def _remember(spark, kind: str, url: str | None) -> None:
    # Not weak-referenceable: describe_session() falls back to heuristics.
    with contextlib.suppress(TypeError):
        _made[spark] = (kind, url)


def get_spark(target: str | None = None, *, app_name: str = "mdk", remote: str | None = None):
    """The SparkSession for ``target``; an existing one is returned as is.

    Args:
        target: ``"local"``, ``"databricks"`` or None for ``MDK_TARGET`` (default local).
        app_name: application name of a new classic session.
        remote: a Spark Connect URL (``sc://host:port``); else ``MDK_SPARK_REMOTE``, else
            ``SPARK_REMOTE``. On databricks it is passed to ``DatabricksSession.builder.remote``.

    Raises:
        MissingDependency: pyspark, the Spark Connect packages, databricks-connect or Java
            is missing; the message names the install command.
        KitError: Java is older than 17, or the process already holds the other kind of
            session.
    """
    with _lock:
        t = resolve(target)
        quiet.quiet_outputs(t.home)
        if t.name == "databricks":
            return _databricks(remote or os.environ.get("MDK_SPARK_REMOTE"))
        url = _remote_url(remote)
        SparkSession = _import_pyspark()
        return _connect(SparkSession, url) if url else _classic(SparkSession, app_name)


def stop_spark(spark=None) -> bool:
    """Stop ``spark``, or every session of this process. Returns True if one was stopped.

    Afterwards :func:`get_spark` may start the other kind (classic or Connect).
    """
    with _lock:
        if spark is not None:
            sessions = [spark]
        elif "pyspark.sql" in sys.modules:
            from pyspark.sql import SparkSession

            sessions = [_classic_active(SparkSession), _connect_active(), *_made.keys()]
        else:
            return False
        stopped = False
        for s in {id(s): s for s in sessions if s is not None}.values():
            if getattr(s, "is_stopped", False) is not True:  # Connect sessions know; classic don't
                s.stop()
                stopped = True
            with contextlib.suppress(TypeError):
                _made.pop(s, None)
        if _connect_active() is None:
            os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)
        return stopped


def _connect_endpoint(spark) -> str | None:
    try:
        return f"sc://{spark.client._builder.endpoint}"
    except Exception:  # private API of the Connect client; best effort only
        return None


def describe_session(spark) -> dict[str, Any]:
    """What ``spark`` is: ``kind`` (classic/connect/databricks), ``version``, ``master``
    (classic) or ``remote`` (Connect URL, token hidden)."""
    try:
        kind, url = _made.get(spark, (None, None))
    except TypeError:  # not weak-referenceable
        kind, url = None, None
    if kind is None:
        if type(spark).__module__.startswith("pyspark.sql.connect"):
            url = _connect_endpoint(spark)
            kind = "databricks" if url and "databricks" in url else "connect"
        else:
            kind = "classic"
    classic = kind == "classic"
    return {
        "kind": kind,
        "version": spark.version,
        "master": spark.conf.get("spark.master") if classic else None,
        "remote": None if classic else redact(url or _connect_endpoint(spark)),
    }
