"""recipes.quiet: library chatter goes to $MDK_HOME/logs/, the kit's own warnings still show."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import warnings

import pytest

from recipes import quiet
from recipes.target import repo_root


@pytest.fixture
def quieted(mdk_home, monkeypatch):
    """quiet_outputs() for this test only, undone afterwards."""
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    quiet.loud_outputs()
    log = quiet.quiet_outputs(mdk_home)
    yield log
    quiet.loud_outputs()


def test_log_path_and_idempotence(mdk_home, quieted):
    assert quieted == mdk_home / "logs" / "notebook-warnings.log"
    mlflow_logger = logging.getLogger("mlflow")
    handlers = list(mlflow_logger.handlers)
    assert quiet.quiet_outputs(mdk_home) == quieted
    assert mlflow_logger.handlers == handlers  # nothing added twice
    assert warnings.showwarning is quiet._showwarning


def test_progress_bar_env_is_set_unless_the_user_chose(quieted, monkeypatch):
    from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR

    assert os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] == "false"
    assert MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.get() is False
    quiet.loud_outputs()
    assert "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR" not in os.environ
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "true")
    quiet.quiet_outputs(quieted.parent.parent)
    assert os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] == "true"


def test_mlflow_log_warning_goes_to_the_file_not_stderr(quieted, capfd):
    import mlflow  # noqa: F401  (configures mlflow's own stream handler)

    logging.getLogger("mlflow.pyfunc").warning("Calling spark_udf() with env_manager=local")
    logging.getLogger("mlflow.pyfunc").error("a real mlflow error")
    err = capfd.readouterr().err
    assert "env_manager" not in err
    assert "a real mlflow error" in err  # errors still show
    text = quieted.read_text()
    assert "WARNING mlflow.pyfunc: Calling spark_udf() with env_manager=local" in text
    assert "a real mlflow error" in text


def test_py4j_records_go_to_the_file(quieted, capfd):
    logging.getLogger("py4j.clientserver").warning("py4j chatter")
    assert "py4j chatter" not in capfd.readouterr().err
    assert "py4j chatter" in quieted.read_text()


def _warn_from(module_name: str, message: str, category=UserWarning) -> None:
    """Issue a warning from code whose module is ``module_name`` (as a package would)."""
    code = compile(
        "import warnings\nwarnings.warn(MESSAGE, CATEGORY, stacklevel=1)\n",
        f"/somewhere/site-packages/{module_name.replace('.', '/')}.py",
        "exec",
    )
    exec(code, {"__name__": module_name, "MESSAGE": message, "CATEGORY": category})


def test_mlflow_warnings_go_to_the_file_and_the_kits_still_show(quieted):
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        warnings.showwarning = quiet._showwarning  # catch_warnings put the original back
        _warn_from("mlflow.models.model", "artifact_path is deprecated", FutureWarning)
        _warn_from("pyspark.sql.pandas.utils", "pandas >= 3 not fully supported")
        _warn_from("py4j.java_gateway", "py4j says")
        _warn_from("recipes.registry.stages", "stages are deprecated: use aliases", FutureWarning)
        _warn_from("sklearn.base", "feature names")
    # what still reaches the learner: the kit's own warning, and other libraries'
    assert [str(w.message) for w in shown] == [
        "stages are deprecated: use aliases",
        "feature names",
    ]
    text = quieted.read_text()
    assert "FutureWarning: artifact_path is deprecated" in text
    assert "pandas >= 3 not fully supported" in text and "py4j says" in text
    assert "stages are deprecated" not in text and "feature names" not in text


def test_a_real_mlflow_warning_goes_to_the_file(quieted):
    import mlflow.utils.annotations as ann

    @ann.deprecated(alternative="something_else")
    def old_api():
        return 1

    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        warnings.showwarning = quiet._showwarning
        assert old_api() == 1
    assert shown == []
    assert "something_else" in quieted.read_text()


def test_loud_outputs_restores_everything(mdk_home, monkeypatch):
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    quiet.loud_outputs()
    import mlflow  # noqa: F401

    before = {
        n: (list(logging.getLogger(n).handlers), logging.getLogger(n).propagate)
        for n in quiet._LOGGERS
    }
    show = warnings.showwarning
    quiet.quiet_outputs(mdk_home)
    quiet.quiet_outputs(mdk_home / "other")  # moves the log
    assert (mdk_home / "other" / "logs").is_dir()
    quiet.loud_outputs()
    after = {
        n: (list(logging.getLogger(n).handlers), logging.getLogger(n).propagate)
        for n in quiet._LOGGERS
    }
    assert after == before
    for handlers, _ in after.values():
        assert all(quiet._ERRORS_ONLY not in h.filters for h in handlers)
    assert warnings.showwarning is show
    assert "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR" not in os.environ


def test_use_target_quiets(mdk_home, monkeypatch):
    from recipes.target import use_target

    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    quiet.loud_outputs()
    try:
        use_target("local")
        assert quiet._State.path == mdk_home / "logs" / "notebook-warnings.log"
        assert os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] == "false"
    finally:
        quiet.loud_outputs()


def test_log4j_properties_send_spark_to_the_file(tmp_path):
    path = quiet.log4j_properties(tmp_path)
    text = path.read_text()
    assert path == tmp_path / "logs" / "log4j2.properties"
    assert f"appender.file.fileName = {tmp_path / 'logs' / 'spark-driver.log'}" in text
    assert "Console" not in text and "rootLogger.level = warn" in text
    mtime = path.stat().st_mtime_ns
    assert quiet.log4j_properties(tmp_path) == path and path.stat().st_mtime_ns == mtime


_SPARK_SCRIPT = textwrap.dedent(
    """
    import sys
    import pandas as pd
    from pyspark.sql.functions import pandas_udf
    from recipes.spark import get_spark, stop_spark

    spark = get_spark("local")
    log = spark._jvm.org.apache.logging.log4j.LogManager.getLogger("mdk.test")
    log.warn("a WARN from the driver JVM")
    spark._jvm.java.lang.System.err.println("raw JVM stderr")

    @pandas_udf("double")
    def twice(x: pd.Series) -> pd.Series:
        print("python worker stderr", file=sys.stderr)
        return x * 2.0

    rows = spark.range(3).select(twice("id").alias("d")).collect()
    print("result", sorted(r.d for r in rows), flush=True)
    stop_spark()
    """
)


@pytest.mark.spark
@pytest.mark.timeout(300)
def test_classic_spark_writes_to_the_log_not_to_the_terminal(tmp_path, capfd):
    """In a fresh process (one JVM per process): nothing reaches fds 1 and 2 but our print."""
    home = tmp_path / "mdk"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK_", "SPARK_"))}
    env |= {"MDK_HOME": str(home), "MDK_TARGET": "local"}
    for k in ("MDK_SPARK_REMOTE", "SPARK_REMOTE", "MDK_SPARK_MASTER", "MLFLOW_TRACKING_URI"):
        env.pop(k, None)
    proc = subprocess.run(
        [sys.executable, "-c", _SPARK_SCRIPT],
        cwd=repo_root(),
        env=env,
        timeout=280,
    )  # inherits this process's fds 1 and 2, which capfd captures
    out, err = capfd.readouterr()
    assert proc.returncode == 0, err[-2000:]
    assert out.strip() == "result [0.0, 2.0, 4.0]"
    assert err.strip() == ""  # no "Using incubator modules", no log4j, no worker prints
    log = (home / "logs" / "spark-driver.log").read_text()
    assert "WARN test: a WARN from the driver JVM" in log
    assert "raw JVM stderr" in log
    assert "python worker stderr" in log
    assert "Using incubator modules" in log or "NativeCodeLoader" in log
