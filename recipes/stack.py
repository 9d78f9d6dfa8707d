"""Start, stop and report the local stack's background services.

Each service is a detached process (its own session, so its own process group) whose pid,
port and command are recorded in ``$MDK_HOME/run/<name>.json`` and whose output goes to
``$MDK_HOME/logs/<name>.log``. Only recorded processes are ever signalled, and only after
checking that the pid still runs our command. A new service is one more :data:`SERVICES`
entry; a service of another stack (``mdk workspace``) passes its own :class:`ServiceSpec` to
:func:`start` and its own ``home``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from recipes import spark_connect
from recipes.errors import KitError, MissingDependency
from recipes.jsonfile import write_json
from recipes.target import mdk_home

HOST = "127.0.0.1"
START_TIMEOUT = 60.0
POLL_INTERVAL = 0.2
STOP_TIMEOUT = 10.0


class ServiceError(KitError):
    """A local service failed to start, or its port is taken."""


@dataclass(frozen=True)
class ServiceSpec:
    """How to run one background service.

    Attributes:
        name: the service name, used for the record, the log and ``mdk`` output.
        command: builds the argv from ``(port, home)``; may create the folders it needs.
        marker: a string that must appear in the process's command line before we signal it.
        health_path: the path that answers 200 once the service is ready; None for a
            service that is not HTTP (Spark Connect's gRPC): ready once its port accepts
            connections.
        env: extra environment variables for the process.
        environment: builds more of them from ``(port, home)`` (None removes a variable).
        scheme: its URL's scheme (``sc`` for Spark Connect).
    """

    name: str
    command: Callable[[int, Path], list[str]]
    marker: str
    health_path: str | None = "/health"
    env: dict[str, str] = field(default_factory=dict)
    environment: Callable[[int, Path], Mapping[str, str | None]] | None = None
    scheme: str = "http"


@dataclass(frozen=True)
class Service:
    """A running service as recorded in ``$MDK_HOME/run/<name>.json``."""

    name: str
    pid: int
    port: int
    url: str
    started_at: str
    cmd: list[str]
    create_time: float | None = None
    marker: str | None = None  # None: the marker of SERVICES[name]


@dataclass(frozen=True)
class ServiceStatus:
    """One row of :func:`status`; ``pid``/``port``/``url`` are None when nothing is recorded."""

    name: str
    pid: int | None
    port: int | None
    url: str | None
    alive: bool
    healthy: bool


def _bin_dir() -> Path:
    return Path(sys.executable).parent


def mlflow_command(port: int, home: Path, *, default_artifact_root: str | None = None) -> list[str]:
    """``mlflow server`` on ``port`` over ``home/mlflow.db``, one worker, artifacts proxied
    into ``home/mlartifacts``; new experiments' artifact root is ``default_artifact_root``
    (default: that folder as a ``file://`` URI)."""
    exe = _bin_dir() / "mlflow"
    if not exe.exists():
        raise MissingDependency(f"{exe} not found: install the kit with `pip install -e .`.")
    # The same store as the embedded default (recipes.target), so `mdk up` after `mdk run`
    # shows the runs and models the notebooks made, and both can be used side by side. New
    # experiments get a file:// artifact root, not mlflow-artifacts:/ (which only a client
    # talking to the server can use), so either kind of client can log into any experiment.
    artifacts = home / "mlartifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    return [
        str(exe),
        "server",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{home / 'mlflow.db'}",
        "--default-artifact-root",
        default_artifact_root or artifacts.as_uri(),
        "--artifacts-destination",
        str(artifacts),
    ]


def _serving_command(port: int, home: Path) -> list[str]:
    # MDK_HOME is set for the child by start(); models come from the caller's tracking URI.
    return [sys.executable, "-m", "recipes.endpoint", "--host", HOST, "--port", str(port)]


def spark_spec(
    *,
    master: str = spark_connect.DEFAULT_MASTER,
    warehouse: Path | None = None,
    catalogs: list[str] | None = None,
    extra_env: Mapping[str, str | None] | None = None,
) -> ServiceSpec:
    """A Spark Connect server (see :mod:`recipes.spark_connect`) as a service: ready once its
    gRPC port accepts connections, its URL ``sc://127.0.0.1:<port>``. The defaults are the
    ``spark`` service ``mdk run`` shares between its kernels: Delta tables under
    ``$MDK_HOME/warehouse``, where a classic session over the same ``MDK_HOME`` finds them.
    """

    def command(port: int, home: Path) -> list[str]:
        return spark_connect.server_command(
            port, home, master=master, warehouse=warehouse, catalogs=catalogs
        )

    return ServiceSpec(
        "spark",
        command,
        marker=spark_connect.CLASS,
        health_path=None,
        environment=lambda port, home: spark_connect.server_environment(home, extra_env),
        scheme="sc",
    )


#: The known services, in start order (`mdk up`); stopped in reverse order. ``spark`` is
#: the Spark Connect server ``mdk run`` shares between its notebooks' kernels.
SERVICES: dict[str, ServiceSpec] = {
    "mlflow": ServiceSpec(
        "mlflow",
        mlflow_command,
        marker="mlflow",
        env={
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"
        },  # 2 processes, not 15 (MLflow 3's job runner)
    ),
    "serving": ServiceSpec("serving", _serving_command, marker="recipes.endpoint"),
    "spark": spark_spec(),
}


UP = ("mlflow", "serving")
"""The services ``mdk up`` starts; ``spark`` is started by ``mdk run`` for its notebooks."""


def _spec(name: str) -> ServiceSpec:
    if name not in SERVICES:
        raise KitError(f"Unknown service {name!r}: use one of {', '.join(SERVICES)}.")
    return SERVICES[name]


def _home(home: Path | str | None) -> Path:
    return Path(home).expanduser().resolve() if home is not None else mdk_home()


def _paths(name: str, home: Path | str | None) -> tuple[Path, Path]:
    """The service's record and log files."""
    return _home(home) / "run" / f"{name}.json", _home(home) / "logs" / f"{name}.log"


def log_path(name: str = "mlflow", home: Path | str | None = None) -> Path:
    """Where the service's output goes: ``$MDK_HOME/logs/<name>.log``."""
    return _paths(name, home)[1]


def free_port(host: str = HOST) -> int:
    """A TCP port on ``host`` that was free a moment ago (the OS picks it; never 15002,
    Spark Connect's default, which another server may claim)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port != spark_connect.FORBIDDEN_PORT:
            return port


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def port_in_use(port: int, host: str = HOST) -> bool:
    """Whether something accepts connections on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex((host, port)) == 0


def _healthy(url: str, path: str = "/health", timeout: float = 1.0) -> bool:
    """True when ``GET url+path`` answers 200 (never through an HTTP proxy)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url + path, timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def read_record(name: str = "mlflow", home: Path | None = None) -> Service | None:
    """The recorded service, or None when there is no (readable) record."""
    record, _ = _paths(name, home)
    try:
        return Service(**json.loads(record.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _ours(svc: Service):
    """The psutil process if ``svc.pid`` still runs our command, else None."""
    import psutil

    try:
        proc = psutil.Process(svc.pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        if svc.create_time is not None and abs(proc.create_time() - svc.create_time) > 1.0:
            return None  # the pid was reused by another process
        if (svc.marker or _spec(svc.name).marker) not in " ".join(proc.cmdline()):
            return None
        return proc
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b.*")


def _tail(log: Path, offset: int, lines: int = 5) -> str:
    """The log's last exception line since ``offset``, else its last lines, as one line."""
    try:
        with log.open("rb") as f:
            f.seek(offset)
            text = [ln.strip() for ln in f.read().decode(errors="replace").splitlines()]
    except OSError:
        return "(no log)"
    errors = [ln for ln in text if _ERROR_LINE.match(ln)]
    return errors[-1] if errors else " | ".join(ln for ln in text[-lines:] if ln)


def start(
    name: str = "mlflow",
    port: int | None = None,
    home: Path | None = None,
    timeout: float = START_TIMEOUT,
    *,
    spec: ServiceSpec | None = None,
    env: Mapping[str, str | None] | None = None,
) -> Service:
    """Start a service in the background and wait until it is healthy (idempotent).

    Args:
        name: a key of :data:`SERVICES`, or the name of ``spec``.
        port: the port to listen on; None picks a free one.
        home: the state folder; defaults to :func:`recipes.target.mdk_home`.
        timeout: seconds to wait for the health check.
        spec: how to run it, for a service that is not in :data:`SERVICES`.
        env: environment for the process on top of ``spec.env``; None removes a variable.

    Returns:
        The running service: the recorded one if it is alive and healthy.

    Raises:
        ServiceError: the port is taken, or the process died or never became healthy.
    """
    import psutil

    spec = spec or _spec(name)
    home = _home(home)
    record, log = _paths(name, home)
    current = read_record(name, home)
    if current is not None and _ours(current) is not None:
        still_ours = lambda: _ours(current) is not None  # noqa: E731
        if _wait_ready(spec, current.port, timeout, still_ours):
            return current
        stop(name, home)
    record.unlink(missing_ok=True)
    if port is None:
        port = free_port()
    elif port_in_use(port):
        raise ServiceError(f"Port {port} is in use: pick another with --port, or omit it.")
    cmd = spec.command(port, home)
    record.parent.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    built = spec.environment(port, home) if spec.environment else {}
    env = {**os.environ, **spec.env, **built, **(env or {}), "MDK_HOME": str(home)}
    env = {k: v for k, v in env.items() if v is not None}
    env["PATH"] = os.pathsep.join([str(_bin_dir()), env.get("PATH", "")])
    offset = log.stat().st_size if log.exists() else 0
    with log.open("ab") as out:
        popen = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=home,
            start_new_session=True,
        )
    url = f"{spec.scheme}://{HOST}:{port}"
    svc = Service(
        name=name,
        pid=popen.pid,
        port=port,
        url=url,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        cmd=cmd,
        create_time=psutil.Process(popen.pid).create_time(),
        marker=spec.marker,
    )
    write_json(record, asdict(svc))
    if _wait_ready(spec, port, timeout, lambda: popen.poll() is None):
        return svc
    died = popen.poll() is not None
    stop(name, home)
    what = f"exited with code {popen.returncode}" if died else f"not healthy after {timeout:.0f}s"
    raise ServiceError(f"{name} server {what}; see {log}: {_tail(log, offset)}")


def _ready(health_path: str | None, port: int) -> bool:
    """Whether the service on ``port`` answers: ``health_path`` with 200, or, when None,
    the port accepts connections."""
    if health_path is None:
        return port_in_use(port)
    return _healthy(f"http://{HOST}:{port}", health_path)


def _wait_ready(spec: ServiceSpec, port: int, timeout: float, alive: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _ready(spec.health_path, port):
            return True
        if not alive():
            return False
        time.sleep(POLL_INTERVAL)
    return False


def start_mlflow_server(port: int | None = None, home: Path | None = None) -> Service:
    """Start (or return the running) local ``mlflow server``; see :func:`start`."""
    return start("mlflow", port=port, home=home)


def stop(name: str = "mlflow", home: Path | None = None) -> int | None:
    """Stop a recorded service: SIGTERM its process group, SIGKILL after 10 s.

    Nothing is signalled unless the recorded pid still runs our command; a stale
    record is simply removed.

    Returns:
        The pid that was stopped, or None when nothing of ours was running.
    """
    import psutil

    record, _ = _paths(name, home)
    svc = read_record(name, home)
    proc = _ours(svc) if svc is not None else None
    stopped = None
    if proc is not None:
        procs = [proc, *proc.children(recursive=True)]
        try:
            if os.getpgid(svc.pid) != svc.pid:  # not the group leader we started
                raise PermissionError
            os.killpg(svc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            for p in procs:
                with contextlib.suppress(psutil.NoSuchProcess):
                    p.terminate()
        _, alive = psutil.wait_procs(procs, timeout=STOP_TIMEOUT)
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        psutil.wait_procs(alive, timeout=STOP_TIMEOUT)
        stopped = svc.pid
    record.unlink(missing_ok=True)
    return stopped


def service_status(
    name: str, home: Path | None = None, health_path: str | None = None
) -> ServiceStatus:
    """The state of one service, recorded or not (``health_path``: default its spec's, or
    ``/health`` for a service of another stack)."""
    svc = read_record(name, home)
    if svc is None:
        return ServiceStatus(name, None, None, None, alive=False, healthy=False)
    alive = _ours(svc) is not None
    if health_path is None:
        health_path = SERVICES[name].health_path if name in SERVICES else "/health"
    healthy = alive and _ready(health_path, svc.port)
    return ServiceStatus(name, svc.pid, svc.port, svc.url, alive, healthy)


def status(home: Path | None = None) -> list[ServiceStatus]:
    """The state of every known service, recorded or not."""
    return [service_status(name, home) for name in SERVICES]


@contextlib.contextmanager
def stopping_new_services(home: Path | None = None, report: Callable[[str], None] | None = None):
    """Stop, on exit, the services that started inside the block (e.g. by a notebook).

    Services already running on entry are left alone, so ``mdk up`` keeps its stack.
    """
    home = _home(home)
    running = {s.name for s in status(home) if s.alive}
    try:
        yield
    finally:
        for svc in status(home):
            if svc.alive and svc.name not in running:
                stop(svc.name, home)
                if report is not None:
                    report(f"stopped {svc.name} (pid {svc.pid}), which this run started")
