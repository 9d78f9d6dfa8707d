"""A real endpoint process for tests (:class:`Server`), and the request helpers that the
endpoint's tests (tests/endpoint/) and the serving client's (tests/serving/) share.

Each server gets its own MDK_HOME and port and reads the MLflow store it is given (the
session's trained store, with 'churn-predictor' v1/v2, for the ``server`` fixture of
tests/endpoint/conftest.py and the session's ``shared_server`` of tests/conftest.py). It is
the kit's ``serving`` service, started and stopped by recipes.stack as ``mdk up`` and ``mdk
down`` do: its pid and port recorded in ``<home>/run/serving.json``, its output in
``<home>/logs/serving.log``, stopped by a SIGTERM to its process group (SIGKILL after 10 s)
with the model workers it leaves.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import psutil
import requests

from recipes import stack
from recipes.auth import token as read_token
from tests.endpoint.calls import EndpointCalls

SERVICE = "serving"  # the name of its record and log under its home, as for `mdk up`
START_TIMEOUT = 60.0
TERMINATE_TIMEOUT = 40.0  # a SIGTERM's graceful exit: requests in flight, the last flush
MODEL = "churn-predictor"
RECORD = {"total_purchases": 15, "avg_session_duration": 320, "days_since_last_visit": 7}

# the environment a server must not inherit from the test process or a workspace
_SCRUB = (
    "MLFLOW_REGISTRY_URI",
    "MDK_SERVING_TOKEN",
    "MDK_SERVING_IDLE_SECONDS",
    "SPARK_REMOTE",
    "MDK_SPARK_REMOTE",
)


class Server(EndpointCalls):
    """One ``python -m recipes.endpoint`` process on 127.0.0.1 (see the ``server`` fixture).

    Attributes:
        url: ``http://127.0.0.1:<port>`` (the same port after a restart).
        token: the bearer token kept in ``home``.
        home: the server's ``MDK_HOME``.
        pid: the running server's pid (None while stopped).
        log: its output, ``<home>/logs/serving.log``.
    """

    def __init__(
        self,
        home: Path,
        store: Path,
        *,
        idle_seconds: float = 2,
        seed: int = 7,
        env: dict[str, str] | None = None,
    ):
        self.extra_env = dict(env or {})
        self.home = home
        self.store = store
        self.port = stack.free_port()
        self.url = f"http://{stack.HOST}:{self.port}"
        self.idle_seconds = idle_seconds
        self.seed = seed
        self.token = read_token(home)
        self.log = stack.log_path(SERVICE, home)

    @property
    def pid(self) -> int | None:
        status = stack.service_status(SERVICE, self.home)
        return status.pid if status.alive else None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _command(self, port: int, home: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            "recipes.endpoint",
            "--host",
            stack.HOST,
            "--port",
            str(port),
            "--idle-seconds",
            str(self.idle_seconds),
            "--seed",
            str(self.seed),
        ]

    def start(self) -> None:
        """Start it and wait for ``/health`` (``stack.ServiceError`` with the log's last error
        if it exits or is not healthy within :data:`START_TIMEOUT`)."""
        env: dict[str, str | None] = dict.fromkeys(_SCRUB)
        env.update(dict.fromkeys(k for k in os.environ if k.startswith("DATABRICKS_")))
        env.update(
            MDK_TARGET="local",
            MLFLOW_TRACKING_URI=f"sqlite:///{self.store / 'mlflow.db'}",
            MLFLOW_DISABLE_TELEMETRY="true",  # the tests talk to 127.0.0.1 only
            DO_NOT_TRACK="true",
            **self.extra_env,
        )
        spec = stack.ServiceSpec(
            SERVICE, self._command, marker="recipes.endpoint", health_path="/health"
        )
        stack.start(
            SERVICE, port=self.port, home=self.home, timeout=START_TIMEOUT, spec=spec, env=env
        )

    def children(self) -> list[psutil.Process]:
        """The processes under the running server: its worker zygote, workers, monitor jobs."""
        pid = self.pid
        with contextlib.suppress(psutil.NoSuchProcess):
            return psutil.Process(pid).children(recursive=True) if pid else []
        return []

    def stop(self) -> int | None:
        """``stack.stop``: SIGTERM to the server's process group, SIGKILL to what is left after
        10 s; the pid it stopped (None when nothing was running)."""
        return stack.stop(SERVICE, self.home)

    def terminate(self) -> int | None:
        """SIGTERM to the server alone, as a platform stops a process; its exit code once it
        has exited (within :data:`TERMINATE_TIMEOUT`), then :meth:`stop` for its record and
        anything it left. ``stack.stop`` reports no exit code: psutil's ``wait`` gives it,
        the server being this process's child (``stack.start`` ran it)."""
        pid = self.pid
        if pid is None:
            return None
        proc = psutil.Process(pid)
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(TERMINATE_TIMEOUT)
        finally:
            self.stop()

    def restart(self) -> None:
        """Stop, and start again on the same home and port."""
        self.stop()
        self.start()

    def client(self):
        """The official databricks-sdk client for this server."""
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.config import Config

        cfg = Config(host=self.url, token=self.token, auth_type="pat", retry_timeout_seconds=10)
        return WorkspaceClient(config=cfg)

    def tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return "(no log)"

    # -- raw REST helpers --------------------------------------------------------------
    def api(self, method: str, path: str = "", **kwargs) -> requests.Response:
        kwargs.setdefault("headers", self.headers)
        kwargs.setdefault("timeout", 30)
        return requests.request(method, f"{self.url}/api/2.0/serving-endpoints{path}", **kwargs)

    def post(self, path: str, body, **kwargs):
        kwargs.setdefault("timeout", 30)
        if isinstance(body, bytes | str):
            return requests.post(self.url + path, data=body, **kwargs)
        return requests.post(self.url + path, json=body, **kwargs)


def entity(name: str, version: str | int = 1, *, scale_to_zero: bool = False) -> dict:
    """A served-entity JSON object for churn-predictor."""
    return {
        "name": name,
        "entity_name": MODEL,
        "entity_version": str(version),
        "workload_size": "Small",
        "scale_to_zero_enabled": scale_to_zero,
    }


def routes(**percent: int) -> dict:
    return {
        "routes": [{"served_model_name": n, "traffic_percentage": p} for n, p in percent.items()]
    }


def capture(prefix: str, *, catalog: str = "main", schema: str = "serving") -> dict:
    return {
        "catalog_name": catalog,
        "schema_name": schema,
        "table_name_prefix": prefix,
        "enabled": True,
    }


def read_payload(home: Path, table: str, expect: int, timeout: float = 5.0):
    """The inference table once it holds ``expect`` rows (or whatever it holds at ``timeout``)."""
    from recipes import tables

    deadline = time.monotonic() + timeout
    while True:
        rows = tables.read(table, home=home) if tables.exists(table, home=home) else None
        n = 0 if rows is None else len(rows)
        if n >= expect or time.monotonic() >= deadline:
            return rows
        time.sleep(0.1)


def start_server(tmp_path_factory, store: Path, **kwargs) -> Server:
    """A started :class:`Server` over ``store`` with a fresh MDK_HOME of its own."""
    home = tmp_path_factory.mktemp("serving") / "mdk"
    home.mkdir()
    srv = Server(home, store, **kwargs)
    srv.start()
    return srv
