"""A real endpoint process for tests (:class:`Server`), and the request helpers that the
endpoint's tests (tests/endpoint/) and the serving client's (tests/serving/) share.

Each server gets its own MDK_HOME and port and reads the MLflow store it is given (the
session's trained store, with 'churn-predictor' v1/v2, for the ``server`` fixture of
tests/endpoint/conftest.py and the session's ``shared_server`` of tests/conftest.py); it is
stopped, with its model workers, by whoever started it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import requests

from recipes.auth import token as read_token
from recipes.stack import free_port
from tests.endpoint.calls import EndpointCalls

START_TIMEOUT = 60.0
STOP_TIMEOUT = 40.0
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
        url: ``http://127.0.0.1:<port>``.
        token: the bearer token kept in ``home``.
        home: the server's ``MDK_HOME``.
        pid: the running server's pid (None while stopped).
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
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.idle_seconds = idle_seconds
        self.seed = seed
        self.proc: subprocess.Popen | None = None
        self.token = read_token(home)
        self.log = home / "server.log"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def start(self) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in _SCRUB and not k.startswith("DATABRICKS_")
        }
        env.update(
            MDK_HOME=str(self.home),
            MDK_TARGET="local",
            MLFLOW_TRACKING_URI=f"sqlite:///{self.store / 'mlflow.db'}",
            MLFLOW_DISABLE_TELEMETRY="true",  # the tests talk to 127.0.0.1 only
            DO_NOT_TRACK="true",
        )
        env.update(self.extra_env)
        cmd = [
            sys.executable,
            "-m",
            "recipes.endpoint",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--idle-seconds",
            str(self.idle_seconds),
            "--seed",
            str(self.seed),
        ]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.tail()}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not healthy within {START_TIMEOUT}s: {self.tail()}")

    def children(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except (psutil.NoSuchProcess, AttributeError):
            return []

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        """Signal the server, wait for it, then kill any child it left; its exit code."""
        proc = self.proc
        if proc is None:
            return None
        kids = self.children()
        if proc.poll() is None:
            proc.send_signal(sig)
        try:
            code = proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            kids += self.children()
            proc.kill()
            code = proc.wait(10)
        _, alive = psutil.wait_procs(kids, timeout=10)
        for child in alive:  # only our own children, by pid
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()
        psutil.wait_procs(alive, timeout=5)
        return code

    def restart(self) -> None:
        """SIGTERM, wait, and start again on the same home and port."""
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
