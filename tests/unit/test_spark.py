"""recipes.spark: the classic local session, Spark Connect, and the errors that name the fix."""

from __future__ import annotations

import sys
import textwrap
import uuid

import pandas as pd
import psutil
import pytest

from recipes.errors import KitError, MissingDependency, ParameterError
from recipes.spark import (
    classic_conf,
    classic_env,
    describe_session,
    get_spark,
    redact,
)
from tests.fakes import fake_java_home
from tests.spark_connect import FORBIDDEN_PORT, connect_server, pid_alive, run_client, run_python

# --------------------------------------------------------------------------- classic


@pytest.mark.spark
def test_pandas_udf_runs_in_this_interpreter(spark):
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")
    def worker_python(x: pd.Series) -> pd.Series:
        import sys as worker_sys

        return pd.Series([worker_sys.executable] * len(x))

    @pandas_udf("double")
    def double(x: pd.Series) -> pd.Series:
        return x * 2.0

    df = spark.createDataFrame(pd.DataFrame({"a": [1, 2, 3]}))
    rows = df.select(double("a").alias("d"), worker_python("a").alias("py")).collect()
    assert [r.d for r in rows] == [2.0, 4.0, 6.0]
    assert {r.py for r in rows} == {sys.executable}  # not `python3` from PATH


@pytest.mark.spark
def test_settings_applied(spark, spark_run):
    conf = spark.conf
    assert conf.get("spark.master") == "local[2]"
    assert conf.get("spark.sql.session.timeZone") == "UTC"
    assert conf.get("spark.ui.enabled") == "false"
    assert conf.get("spark.sql.shuffle.partitions") == "4"
    assert conf.get("spark.log.level") == "WARN"
    assert "-XX:+UseParallelGC" in conf.get("spark.driver.extraJavaOptions")
    warehouse = conf.get("spark.sql.warehouse.dir")
    assert warehouse.removeprefix("file:") == str(spark_run.home / "spark-warehouse")
    # the Java options reached the JVM, and scratch space is under MDK_HOME
    jvm = spark._jvm  # classic only; the recipe itself never touches it
    assert jvm.java.lang.System.getProperty("derby.system.home") == str(spark_run.home / "derby")
    assert list((spark_run.home / "spark-local").glob("blockmgr-*"))
    assert describe_session(spark) == {
        "kind": "classic",
        "version": spark.version,
        "master": "local[2]",
        "remote": None,
    }
    assert spark.version.startswith("4.")


@pytest.mark.spark
def test_no_files_land_in_the_working_directory(spark, spark_run, tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    name = f"t_{uuid.uuid4().hex[:8]}"
    df = spark.createDataFrame(pd.DataFrame({"k": [1, 1, 2], "v": [1.0, 2.0, 3.0]}))
    df.groupBy("k").sum("v").withColumnRenamed("sum(v)", "v").write.saveAsTable(name)
    assert sorted(r[0] for r in spark.table(name).collect()) == [1, 2]
    spark.sql(f"CREATE DATABASE IF NOT EXISTS db_{name}")
    assert list(cwd.iterdir()) == []
    assert list(spark_run.launch_dir.iterdir()) == []  # the JVM's own working directory
    # a one-part name is main.default.<name>, a Delta table (the default format, as on
    # Databricks) under MDK_HOME's warehouse
    assert (spark_run.home / "warehouse" / "main" / "default" / name / "_delta_log").is_dir()


@pytest.mark.spark
def test_get_spark_returns_the_running_session(spark):
    assert get_spark() is spark
    assert get_spark("local", app_name="other") is spark


@pytest.mark.spark
def test_connect_refused_while_a_classic_session_runs(spark):
    with pytest.raises(KitError, match="stop_spark"):
        get_spark(remote="sc://127.0.0.1:1")


def test_classic_conf_and_env(tmp_path, monkeypatch):
    conf = classic_conf("x", tmp_path)
    assert conf["spark.master"] == "local[2]"
    assert conf["spark.app.name"] == "x"
    assert conf["spark.pyspark.python"] == sys.executable
    assert conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert str(tmp_path) in conf["spark.driver.extraJavaOptions"]
    env = classic_env(tmp_path)
    assert env["PYSPARK_PYTHON"] == env["PYSPARK_DRIVER_PYTHON"] == sys.executable
    assert env["SPARK_LOCAL_DIRS"] == str(tmp_path / "spark-local")
    monkeypatch.setenv("MDK_SPARK_MASTER", "spark://cluster:7077")
    conf = classic_conf("x", tmp_path)
    assert conf["spark.master"] == "spark://cluster:7077"
    assert "spark.driver.bindAddress" not in conf  # loopback only for local masters
    assert "SPARK_LOCAL_IP" not in classic_env(tmp_path)
    monkeypatch.setenv("SPARK_LOCAL_DIRS", str(tmp_path / "mine"))  # the user's choice stays
    assert classic_env(tmp_path)["SPARK_LOCAL_DIRS"] == str(tmp_path / "mine")


def test_bad_remote_url():
    with pytest.raises(ParameterError, match="sc://host:port"):
        get_spark(remote="http://127.0.0.1:15002")


def test_redact_hides_tokens():
    assert redact("sc://h:443/;token=dapi123;x=1") == "sc://h:443/;token=***;x=1"
    assert redact("sc://127.0.0.1:1234") == "sc://127.0.0.1:1234"


# --------------------------------------------------------------------------- missing pieces


def test_missing_databricks_connect(monkeypatch):
    monkeypatch.setitem(sys.modules, "databricks.connect", None)
    with pytest.raises(MissingDependency) as err:
        get_spark("databricks")
    msg = str(err.value)
    assert 'pip install -e ".[databricks]"' in msg and "separate venv" in msg
    monkeypatch.setenv("MDK_TARGET", "databricks")  # the environment's choice, too
    with pytest.raises(MissingDependency, match="databricks"):
        get_spark()


def test_missing_pyspark(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(MissingDependency, match=r'pip install -e "\.\[local\]"'):
        get_spark("local")


def test_missing_connect_packages(monkeypatch):
    # pyspark.sql.connect's first import takes an xdist worker's bare __main__ for a doctest
    # run and exits when grpc is missing; load it while grpc is still there
    import pyspark.sql.connect.utils  # noqa: F401

    monkeypatch.setitem(sys.modules, "grpc", None)
    with pytest.raises(MissingDependency, match=r'grpcio.*pip install -e "\.\[local\]"'):
        get_spark(remote="sc://127.0.0.1:1")
    monkeypatch.setenv("MDK_SPARK_REMOTE", "sc://127.0.0.1:1")  # env routes to Connect too
    with pytest.raises(MissingDependency, match="grpcio"):
        get_spark()


# --------------------------------------------------------------------------- Java


def test_old_java_fails_before_any_jvm_starts(tmp_path):
    """In a fresh process, get_spark() stops at the Java check: no JVM, no files."""
    jdk = fake_java_home(tmp_path / "jdk11", 'openjdk version "11.0.2" 2019-01-15')
    env = {"JAVA_HOME": str(jdk), "MDK_HOME": str(tmp_path / "mdk")}
    env |= {"SPARK_REMOTE": "", "MDK_SPARK_REMOTE": ""}
    code = "from recipes.spark import get_spark\nget_spark('local')"
    out = run_python(code, env=env, cwd=tmp_path, timeout=60)
    assert out.returncode != 0
    assert "KitError: Spark 4 needs Java 17+" in out.stderr and "Java 11" in out.stderr
    assert "SparkContext" not in out.stderr and "log4j" not in out.stderr  # no JVM launched
    assert not (tmp_path / "mdk" / "spark-warehouse").exists()


# --------------------------------------------------------------------------- Spark Connect

_CLIENT = textwrap.dedent(
    """
    import json, os, sys
    from recipes.spark import describe_session, get_spark, stop_spark
    spark = get_spark()  # MDK_SPARK_REMOTE routes to Spark Connect
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")
    def worker_python(x: pd.Series) -> pd.Series:
        import sys as s
        return pd.Series([s.executable] * len(x))

    df = spark.createDataFrame(pd.DataFrame({"k": [1, 1, 2], "v": [1.0, 2.0, 3.0]}))
    sums = {r.k: r.total for r in df.groupBy("k").agg({"v": "sum"}).toDF("k", "total").collect()}
    python = {r.p for r in df.select(worker_python("k").alias("p")).collect()}
    try:
        get_spark(remote="sc://127.0.0.1:1")
        other_url = "no error"
    except Exception as exc:
        other_url = f"{type(exc).__name__}: {exc}"
    import recipes.spark
    described = describe_session(spark)
    recipes.spark._made.clear()  # a session made elsewhere: describe from the client itself
    out = {
        "describe": described,
        "describe_fallback": describe_session(spark),
        "other_url": other_url,
        "sums": {str(k): v for k, v in sums.items()},
        "python": sorted(python),
        "same": get_spark() is spark,
        "stopped": stop_spark(),
        "mode_flag_cleared": "SPARK_CONNECT_MODE_ENABLED" not in os.environ,
    }
    print(json.dumps(out))
    """
)


@pytest.mark.spark
@pytest.mark.timeout(300)
def test_spark_connect_end_to_end(tmp_path):
    with connect_server(tmp_path / "connect", timeout=120) as server:
        assert server.port != FORBIDDEN_PORT
        assert server.pid is not None
        result = run_client(
            _CLIENT,
            env={"MDK_SPARK_REMOTE": server.url, "MDK_HOME": str(tmp_path / "mdk")},
            timeout=180,
        )
        pid = server.pid
    assert result["describe"] == {
        "kind": "connect",
        "version": result["describe"]["version"],
        "master": None,
        "remote": server.url,
    }
    assert result["describe"]["version"].startswith("4.")
    assert result["describe_fallback"] == result["describe"]
    assert result["other_url"].startswith("KitError") and "stop_spark()" in result["other_url"]
    assert result["sums"] == {"1": 3.0, "2": 3.0}
    assert result["python"] == [sys.executable]  # the server's workers run this interpreter
    assert result["same"] and result["stopped"] and result["mode_flag_cleared"]
    # stopped: the pid is gone and its record with it. (Not "the port is
    # closed": once freed, another process on this machine may take the port at once.)
    assert not pid_alive(pid)
    assert not any(
        c.pid == pid
        for c in psutil.net_connections("tcp")
        if c.laddr and c.laddr.port == server.port
    )
    assert not (tmp_path / "connect" / "run" / "spark.json").exists()  # stop removed the record
    assert "SparkConnectServer" in (tmp_path / "connect" / "logs" / "spark.log").read_text()
