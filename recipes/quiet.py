"""Keep library chatter out of notebook outputs: it goes to log files under ``$MDK_HOME/logs/``.

What a learner would otherwise scroll past, and where it goes instead:

- MLflow's ``logging`` records (``WARNING mlflow.pyfunc: Calling spark_udf() with
  env_manager="local" ...``, ``INFO ... Selected backend for flavor``) and those of py4j and
  pyspark: to ``logs/notebook-warnings.log``. ERROR and above still show.
- Python ``warnings`` *issued by* mlflow, pyspark or py4j code (FutureWarnings and the like):
  to the same file. Warnings issued by anything else, the kit's own ``recipes.*`` included,
  show as before.
- MLflow's "Downloading artifacts" progress widgets: off (``MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR``
  is set to ``false`` unless the user set it), and so is the "If you are using MLflow
  Tracing ..." advert ``set_experiment`` prints on a Databricks tracking URI.
- The classic Spark JVM's stdout/stderr and log4j output: to ``logs/spark-driver.log``
  (:func:`log4j_properties` and :func:`spark_log`, used by :mod:`recipes.spark` when it
  launches the JVM).

:func:`quiet_outputs` does the Python side; :func:`recipes.target.use_target` and
:func:`recipes.spark.get_spark` call it. It is idempotent, and :func:`loud_outputs` undoes
it. Nothing happens at import time.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import warnings
from pathlib import Path

LOG_DIR = "logs"
WARNINGS_LOG = "notebook-warnings.log"
SPARK_LOG = "spark-driver.log"
LOG4J = "log4j2.properties"
QUIET_ENV = {
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    # set_experiment on a Databricks tracking URI prints an advert for trace storage
    "_MLFLOW_ENABLE_UC_TRACE_UPSELL": "false",
}
"""Environment that keeps MLflow's progress widgets and adverts out of a kernel's outputs."""
QUIET_PACKAGES = ("mlflow", "pyspark", "py4j")
"""Top-level packages whose warnings and log records go to the log file."""
_LOGGERS = ("mlflow", "pyspark", "py4j", "alembic", "sqlalchemy.engine", "huey")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_lock = threading.RLock()


class _State:
    path: Path | None = None
    handler: logging.FileHandler | None = None
    stderr: logging.Handler | None = None
    previous_showwarning = None
    loggers: dict[str, bool] = {}  # name -> its propagate flag before
    muted: list[logging.Handler] = []  # existing handlers given the errors-only filter
    env: dict[str, str | None] = {}  # variables set here -> their value before


class _ErrorsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


_ERRORS_ONLY = _ErrorsOnly()


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (a kernel swaps it)."""

    def __init__(self) -> None:
        super().__init__()
        self.setLevel(logging.ERROR)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it
        pass


def logs_dir(home: Path) -> Path:
    """``<home>/logs``, created."""
    path = Path(home) / LOG_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def spark_log(home: Path) -> Path:
    """Where the classic Spark JVM's output goes: ``<home>/logs/spark-driver.log``."""
    return logs_dir(home) / SPARK_LOG


def log4j_properties(home: Path) -> Path:
    """Write (if changed) a log4j2 configuration that sends Spark's WARN and above to
    :func:`spark_log` and nothing to the console; returns its path (under ``<home>/logs``).

    Pass it to the driver JVM as ``-Dlog4j2.configurationFile=<path>``.
    """
    target = logs_dir(home) / LOG4J
    log = str(spark_log(home)).replace("\\", "/")
    text = "\n".join(
        [
            "# Written by recipes.quiet: Spark's log goes to a file, never to the notebook.",
            "rootLogger.level = warn",
            "rootLogger.appenderRef.file.ref = file",
            "appender.file.type = File",
            "appender.file.name = file",
            f"appender.file.fileName = {log}",
            "appender.file.append = true",
            "appender.file.layout.type = PatternLayout",
            "appender.file.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex",
            # Spark's own defaults keep these two quieter still
            "logger.jetty.name = org.sparkproject.jetty",
            "logger.jetty.level = warn",
            "logger.parquet.name = org.apache.parquet",
            "logger.parquet.level = error",
            "",
        ]
    )
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
    return target


def _quiet_issuer(filename: str, category: type) -> bool:
    """True when the warning comes from a quiet package: the code that called
    ``warnings.warn``, the file it is attributed to, or its category's module."""
    if category.__module__.split(".")[0] in QUIET_PACKAGES:
        return True
    frame = sys._getframe(1)  # then skip _showwarning and warnings._showwarnmsg
    while frame is not None and frame.f_globals.get("__name__") in ("warnings", __name__):
        frame = frame.f_back
    if frame is not None:
        name = frame.f_globals.get("__name__") or ""
        if name.split(".")[0] in QUIET_PACKAGES:
            return True
    parts = Path(filename).parts
    where = [i for i, p in enumerate(parts) if p in ("site-packages", "dist-packages")]
    return bool(where) and parts[where[-1] + 1 : where[-1] + 2] in [(p,) for p in QUIET_PACKAGES]


def _showwarning(message, category, filename, lineno, file=None, line=None):
    handler = _State.handler
    if handler is not None and _quiet_issuer(str(filename), category):
        record = logging.LogRecord(
            "py.warnings",
            logging.WARNING,
            str(filename),
            lineno,
            "%s",
            (warnings.formatwarning(message, category, filename, lineno, line).rstrip(),),
            None,
        )
        handler.handle(record)
        return
    previous = _State.previous_showwarning or warnings._showwarning_orig  # type: ignore[attr-defined]
    previous(message, category, filename, lineno, file, line)


def quiet_outputs(home: Path) -> Path:
    """Send MLflow's, pyspark's and py4j's warnings and log records to
    ``<home>/logs/notebook-warnings.log`` and turn MLflow's progress widgets off.

    Idempotent: a second call with the same ``home`` changes nothing, another ``home``
    moves the log. The kit's own warnings and every ERROR record still show.

    Returns:
        The log file's path.
    """
    path = logs_dir(home) / WARNINGS_LOG
    with _lock:
        if _State.path != path:
            loud_outputs()
            handler = logging.FileHandler(path, encoding="utf-8", delay=True)
            handler.setFormatter(logging.Formatter(_FORMAT, "%Y/%m/%d %H:%M:%S"))
            _State.path, _State.handler, _State.stderr = path, handler, _CurrentStderr()
        for name, value in QUIET_ENV.items():
            if name not in _State.env and name not in os.environ:
                _State.env[name] = os.environ.get(name)
                os.environ[name] = value
        for name in _LOGGERS:
            logger = logging.getLogger(name)
            if _State.handler in logger.handlers:
                continue
            for h in logger.handlers:  # mlflow's own stream handler: errors only from now on
                if _ERRORS_ONLY not in h.filters:
                    h.addFilter(_ERRORS_ONLY)
                    _State.muted.append(h)
            _State.loggers.setdefault(name, logger.propagate)
            if logger.propagate:  # no handler of its own: stderr (root's last resort) for errors
                logger.addHandler(_State.stderr)
                logger.propagate = False
            logger.addHandler(_State.handler)
        if warnings.showwarning is not _showwarning:  # e.g. catch_warnings restored another
            _State.previous_showwarning = warnings.showwarning
            warnings.showwarning = _showwarning
    return path


def loud_outputs() -> None:
    """Undo :func:`quiet_outputs`: loggers, ``warnings.showwarning`` and the environment
    are as they were before."""
    with _lock:
        if _State.path is None:
            return
        for name, propagate in _State.loggers.items():
            logger = logging.getLogger(name)
            for h in (_State.handler, _State.stderr):
                if h in logger.handlers:
                    logger.removeHandler(h)
            logger.propagate = propagate
        for h in _State.muted:
            h.removeFilter(_ERRORS_ONLY)
        if warnings.showwarning is _showwarning:
            warnings.showwarning = _State.previous_showwarning or warnings._showwarning_orig  # type: ignore[attr-defined]
        for name, value in _State.env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if _State.handler is not None:
            _State.handler.close()
        _State.path = _State.handler = _State.stderr = _State.previous_showwarning = None
        _State.loggers, _State.muted, _State.env = {}, [], {}
