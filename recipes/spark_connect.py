"""A local Spark Connect server: start it on a loopback port, find it again, stop it by pid.

It is started with the pip package's own ``sbin/spark-daemon.sh submit`` of Spark Connect's
server class (what Spark's ``start-connect-server.sh``, which pyspark 4.2's wheel lacks, runs;
the ``spark-connect`` jar ships in ``pyspark/jars``), with Delta Lake and the kit's catalog
(:func:`recipes.delta_lake.spark_conf`: ``main.<schema>.<table>`` over its warehouse), its
pid file, logs, warehouse,
scratch and Derby folders all under one work folder, and its Python workers running this
interpreter (Connect UDFs need the same Python minor version on client and server).
``mdk workspace up`` starts one for the workspace double; the tests start their own.

Usage::

    with connect_server(tmp_path) as server:
        ... get_spark(remote=server.url) ...   # in a process with no classic session

``ConnectServer(port, workdir)`` describes a server started earlier (its pid is in the pid
file the script writes), so another process can stop it by that pid. Nothing here imports
pyspark.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from recipes import delta_lake, jvm_archive
from recipes.errors import KitError, MissingDependency

CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
FORBIDDEN_PORT = 15002  # Spark Connect's default: another server may hold it
HOST = "127.0.0.1"
_DIRS = ("pid", "logs", "local", "warehouse", "derby")


class ConnectServerError(KitError, RuntimeError):
    """The Spark Connect server died or did not listen in time."""


def spark_home() -> Path:
    """The pip package's folder (``SPARK_HOME``): its ``sbin`` scripts and ``jars``."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency('pyspark is not installed: run pip install -e ".[local]".')
    home = Path(next(iter(spec.submodule_search_locations))).resolve()
    if not (home / "sbin" / "spark-daemon.sh").is_file():
        raise MissingDependency(
            f"{home} has no sbin/spark-daemon.sh (a Connect-only pyspark, such as "
            'databricks-connect\'s): start the server from the local venv (pip install -e ".[local]").'
        )
    return home


def free_port() -> int:
    """A free loopback port from the ephemeral range (so never 15002)."""
    while True:
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port != FORBIDDEN_PORT:
            return port


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # a zombie is not alive
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return state != "Z"
    return True


def connect_env(workdir: Path, port: int, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The scripts' environment for the server on ``port`` under ``workdir``."""
    workdir = Path(workdir)
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_REMOTE", "MASTER")}
    env.pop("SPARK_CONNECT_MODE_ENABLED", None)
    with contextlib.suppress(MissingDependency):  # needed to start, not to find or stop
        env["SPARK_HOME"] = str(spark_home())
    env.update(
        SPARK_PID_DIR=str(workdir / "pid"),
        SPARK_LOG_DIR=str(workdir / "logs"),
        SPARK_IDENT_STRING=f"mdk-{port}",
        SPARK_LOCAL_DIRS=str(workdir / "local"),
        SPARK_LOCAL_IP=HOST,
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
    )
    env.update(extra or {})
    return env


@dataclass
class ConnectServer:
    """A server on ``port`` whose files are under ``workdir``. ``url`` is ``sc://127.0.0.1:<port>``."""

    port: int
    workdir: Path
    env: dict[str, str] | None = None

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir)
        if self.env is None:
            self.env = connect_env(self.workdir, self.port)

    @property
    def url(self) -> str:
        return f"sc://{HOST}:{self.port}"

    @property
    def pid_file(self) -> Path:
        ident = self.env["SPARK_IDENT_STRING"]
        return Path(self.env["SPARK_PID_DIR"]) / f"spark-{ident}-{CLASS}-1.pid"

    @property
    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    @property
    def alive(self) -> bool:
        pid = self.pid
        return pid is not None and pid_alive(pid)

    def listening(self, timeout: float = 1.0) -> bool:
        """Whether the port accepts connections."""
        with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), timeout):
            return True
        return False

    def log_tail(self, lines: int = 40) -> str:
        logs = sorted(Path(self.env["SPARK_LOG_DIR"]).glob("*.out"))
        if not logs:
            return "(no log)"
        return "\n".join(logs[-1].read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM the pid in the pid file (if it still runs this server), wait, and SIGKILL
        it if it outlives ``timeout``; the pid file goes too. Returns the pid that was
        running, else None."""
        pid = self.pid
        running = pid is not None and pid_alive(pid) and self._ours(pid)
        if running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return pid if running else None

    def _ours(self, pid: int) -> bool:
        """Whether ``pid`` runs this server (not a process that reused the pid)."""
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            return True  # no /proc: trust the pid file, as Spark's own stop script does
        return CLASS in args and f"spark.connect.grpc.binding.port={self.port}" in args


def start_connect_server(
    workdir: Path,
    *,
    port: int | None = None,
    master: str = "local[2]",
    timeout: float = 120,
    extra_conf: dict[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    warehouse: Path | None = None,
    catalogs: list[str] | None = None,
) -> ConnectServer:
    """Start a Spark Connect server; return once its port accepts connections.

    Args:
        workdir: its folder (pid file, logs, warehouse, scratch, Derby); made if missing.
        port: the gRPC port; None picks a free one (never 15002).
        master: Spark's master.
        timeout: seconds to wait until it listens.
        extra_conf: further ``--conf`` settings.
        extra_env: further environment for the server and its Python workers.
        warehouse: the root of its Delta tables (``<warehouse>/<catalog>/<schema>/<table>``);
            None for its own ``<workdir>/warehouse``.
        catalogs: the catalog names it resolves, the first the default; None for ``main``
            (and ``MDK_CATALOG`` when set).

    Raises:
        ConnectServerError: it died or did not listen within ``timeout`` s (the log tail is shown).
    """
    workdir = Path(workdir).resolve()
    port = port or free_port()
    if port == FORBIDDEN_PORT:
        raise ValueError("Port 15002 is Spark Connect's default: pick another.")
    dirs = {name: workdir / name for name in _DIRS}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    env = connect_env(workdir, port, extra_env)
    env["SPARK_HOME"] = str(spark_home())
    conf = {
        "spark.connect.grpc.binding.port": str(port),
        "spark.connect.grpc.binding.address": HOST,
        "spark.driver.host": HOST,
        "spark.driver.bindAddress": HOST,
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.warehouse.dir": str(dirs["warehouse"]),
        "spark.driver.extraJavaOptions": jvm_archive.spark_java_options(dirs["derby"]),
        "spark.log.level": "WARN",
        **delta_lake.spark_conf(Path(warehouse) if warehouse else dirs["warehouse"], catalogs),
        **(extra_conf or {}),
    }
    cmd = ["bash", str(Path(env["SPARK_HOME"]) / "sbin" / "spark-daemon.sh"), "submit", CLASS, "1"]
    cmd += ["--name", "Spark Connect server", "--master", master]
    for k, v in conf.items():
        cmd += ["--conf", f"{k}={v}"]
    server = ConnectServer(port=port, workdir=workdir, env=env)
    deadline = time.monotonic() + timeout
    try:
        # The script forks the JVM (nohup), writes the pid file and returns after ~3 s.
        subprocess.run(cmd, env=env, cwd=workdir, capture_output=True, timeout=60, check=False)
        while time.monotonic() < deadline:
            pid = server.pid
            if pid is not None and not pid_alive(pid):
                raise ConnectServerError(f"Spark Connect server exited:\n{server.log_tail()}")
            if server.listening():
                return server
            time.sleep(0.25)
        raise ConnectServerError(
            f"Spark Connect server not listening on {port} after {timeout:.0f} s:\n"
            f"{server.log_tail()}"
        )
    except BaseException:
        server.stop()
        raise


@contextlib.contextmanager
def connect_server(workdir: Path, **kwargs) -> Iterator[ConnectServer]:
    """:func:`start_connect_server` as a context manager that always stops it."""
    server = start_connect_server(workdir, **kwargs)
    try:
        yield server
    finally:
        server.stop()
