"""A real local Spark Connect server for tests, on a free loopback port (never 15002).

It is started with the pip package's own ``sbin/start-connect-server.sh`` (the
``spark-connect`` jar ships in ``pyspark/jars``), with its pid file, logs, warehouse,
scratch and Derby folders all under one work folder, and its Python workers running this
interpreter (Connect UDFs need the same Python minor version on client and server).

Usage::

    with connect_server(tmp_path) as server:
        ... get_spark(remote=server.url) ...   # in a process with no classic session

pyspark cannot hold a classic and a Connect session in one process, so a test suite
that also uses a classic session should run its Connect client in a subprocess
(:func:`run_client`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
FORBIDDEN_PORT = 15002  # Spark Connect's default: another server may hold it


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def free_port() -> int:
    """A free loopback port from the ephemeral range (so never 15002)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port != FORBIDDEN_PORT:
            return port


def pid_alive(pid: int) -> bool:
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


@dataclass
class ConnectServer:
    """A running server. ``url`` is ``sc://127.0.0.1:<port>``."""

    port: int
    workdir: Path
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

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

    def log_tail(self, lines: int = 40) -> str:
        logs = sorted(Path(self.env["SPARK_LOG_DIR"]).glob("*.out"))
        if not logs:
            return "(no log)"
        return "\n".join(logs[-1].read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 30) -> None:
        """Stop with the stop script, then wait; SIGKILL the pid if it outlives ``timeout``."""
        pid = self.pid
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                ["bash", str(spark_home() / "sbin" / "stop-connect-server.sh")],
                env=self.env,
                cwd=self.workdir,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        if pid is None:
            return
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def start_connect_server(
    workdir: Path,
    *,
    port: int | None = None,
    master: str = "local[2]",
    timeout: float = 120,
    extra_conf: dict[str, str] | None = None,
) -> ConnectServer:
    """Start a Spark Connect server; return once its port accepts connections.

    Raises:
        RuntimeError: it died or did not listen within ``timeout`` s (the log tail is shown).
    """
    workdir = Path(workdir).resolve()
    port = port or free_port()
    if port == FORBIDDEN_PORT:
        raise ValueError("Port 15002 is Spark Connect's default: pick another.")
    dirs = {name: workdir / name for name in ("pid", "logs", "local", "warehouse", "derby")}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    home = spark_home()
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_REMOTE", "MASTER")}
    env.pop("SPARK_CONNECT_MODE_ENABLED", None)
    env.update(
        SPARK_HOME=str(home),
        SPARK_PID_DIR=str(dirs["pid"]),
        SPARK_LOG_DIR=str(dirs["logs"]),
        SPARK_IDENT_STRING=f"mdk-test-{port}",
        SPARK_LOCAL_DIRS=str(dirs["local"]),
        SPARK_LOCAL_IP="127.0.0.1",
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
    )
    conf = {
        "spark.connect.grpc.binding.port": str(port),
        "spark.connect.grpc.binding.address": "127.0.0.1",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "4",
        "spark.sql.warehouse.dir": str(dirs["warehouse"]),
        "spark.driver.extraJavaOptions": f"-XX:+UseParallelGC -Dderby.system.home={dirs['derby']}",
        "spark.log.level": "WARN",
        **(extra_conf or {}),
    }
    cmd = ["bash", str(home / "sbin" / "start-connect-server.sh"), "--master", master]
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
                raise RuntimeError(f"Spark Connect server exited:\n{server.log_tail()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                return server
            time.sleep(0.25)
        raise RuntimeError(
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


def run_python(
    code: str, *, env: dict[str, str] | None = None, cwd=None, timeout: float = 180
) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter that imports the kit from this checkout.

    The child gets this process's environment without the Spark Connect mode flag, plus ``env``.
    """
    child_env = {k: v for k, v in os.environ.items() if k != "SPARK_CONNECT_MODE_ENABLED"}
    child_env.update(env or {})
    root = str(Path(__file__).resolve().parent.parent)
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (root, child_env.get("PYTHONPATH")) if p)
    return subprocess.run(
        [sys.executable, "-c", code],
        env=child_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_client(code: str, *, env: dict[str, str] | None = None, timeout: float = 180):
    """Run ``code`` in a fresh interpreter (no classic session there); return the result.

    The child's stdout's last line must be JSON; it is parsed and returned.
    """
    import json

    out = run_python(code, env=env, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"client failed ({out.returncode}):\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
