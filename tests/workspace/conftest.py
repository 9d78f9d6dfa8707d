"""A real ``mlflow server`` and the workspace double in front of it, once per test module
(``double``, ``uc``); or the whole ``mdk workspace up`` stack, once per module that asks for
it (``stack``, ``client_env``), stopped by ``mdk workspace down``.

The double runs in a thread of the test process (uvicorn on a free 127.0.0.1 port), so a
test reads its request log directly. MLflow's real clients reach it through the environment
only: ``DATABRICKS_HOST``/``DATABRICKS_TOKEN``, tracking ``databricks``, registry
``databricks-uc``, and ``DATABRICKS_CONFIG_FILE`` pointing at an empty file under the test's
tmp folder, so ``~/.databrickscfg`` is never read. Both servers are stopped at teardown.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from recipes.stack import pid_alive
from tests.workspace.stack import Stack, mdk_cli, parse_env, status_pids

TOKEN = "dapi-local-double-test"
START_TIMEOUT = 30.0


@dataclass
class Double:
    """The running double: its URL, state folder and ASGI app (``app.entries`` is the log)."""

    url: str
    home: Path
    app: object
    tracking_url: str
    artifacts: Path  # the tracking server's --artifacts-destination

    def mark(self) -> int:
        """The request log's length now: pass it to :meth:`calls_since`."""
        return len(self.app.entries)

    def calls_since(self, mark: int) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of every request after ``mark``, metadata probes left out."""
        return [
            (e["method"], e["path"], e["status"])
            for e in self.app.entries[mark:]
            if e["path"] != "/.well-known/databricks-config"
        ]


def databricks_env(monkeypatch: pytest.MonkeyPatch, url: str, config_file: Path) -> None:
    """Point MLflow's Databricks clients (and the databricks-sdk) at the double, env only."""
    from recipes.target import reset_mlflow_uris

    for key in list(os.environ):
        if key.startswith("DATABRICKS_") or key.startswith("MLFLOW_USE_DATABRICKS_SDK"):
            monkeypatch.delenv(key)
    config_file.write_text("")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config_file))
    monkeypatch.setenv("DATABRICKS_HOST", url)
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "databricks")
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "databricks-uc")
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    reset_mlflow_uris()  # a URI set in-process by an earlier test would win over the env
    # reset_mlflow_uris drops MLFLOW_REGISTRY_URI from the environment: set it again
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", "databricks-uc")


@pytest.fixture(scope="module")
def double(tmp_path_factory):
    """The workspace double over its own home, in a thread, and its real ``mlflow server``
    (sqlite, one worker) as ``mdk workspace up`` starts it: new experiments keep their
    artifacts behind the double (``/mdk/run-artifacts/...``), so the double's port is picked
    first. The tracking server is stopped by pid at the end."""
    import uvicorn

    from recipes import stack
    from recipes.workspace.app import create_app
    from recipes.workspace.services import start_tracking

    port = stack.free_port()
    url = f"http://127.0.0.1:{port}"
    tracking_home = tmp_path_factory.mktemp("uc-mlflow")
    tracking = start_tracking(tracking_home, url)
    home = tmp_path_factory.mktemp("uc-double")
    app = create_app(home, tracking.url, token=TOKEN)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="workspace-double", daemon=True)
    try:
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the workspace double did not start on port {port}")
            time.sleep(0.05)
        yield Double(url, home, app, tracking.url, tracking_home / "mlartifacts")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        stack.stop("mlflow", home=tracking_home)


@pytest.fixture
def uc(double, mdk_home, monkeypatch, tmp_path):
    """This test's environment: MLflow's Databricks clients on the double."""
    databricks_env(monkeypatch, double.url, tmp_path / "databrickscfg")
    return double


# ------------------------------------------------------------- the `mdk workspace up` stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """``mdk workspace up`` in a fresh MDK_HOME; ``mdk workspace down`` at the end, after
    which none of the parts' pids may run."""
    home = tmp_path_factory.mktemp("ws") / "mdk"
    started = time.monotonic()
    try:
        out = mdk_cli(home, "workspace", "up")
        pids = status_pids(out)
        exports, unset = parse_env(mdk_cli(home, "workspace", "env"))
        print(f"\nmdk workspace up: {time.monotonic() - started:.1f}s")
        yield Stack(home, exports, unset, pids)
    finally:
        left = status_pids(mdk_cli(home, "workspace", "status"))
        down = mdk_cli(home, "workspace", "down")
        survivors = {name: pid for name, pid in left.items() if pid_alive(pid)}
        for pid in survivors.values():
            os.kill(pid, 9)
        assert not survivors, f"still running after `mdk workspace down`: {survivors}\n{down}"
        for name, pid in left.items():
            assert f"{name}: stopped pid {pid}" in down


@pytest.fixture
def client_env(stack, monkeypatch):
    """This process as a client of the double: ``eval "$(mdk workspace env)"``."""
    for key in [*stack.unset, *[k for k in os.environ if k.startswith("DATABRICKS_")]]:
        monkeypatch.delenv(key, raising=False)
    for key in ("MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID", "MDK_EXPERIMENT_DIR"):
        monkeypatch.setenv(key, "")  # recorded, so monkeypatch removes what the test sets
        monkeypatch.delenv(key)
    for key, value in stack.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    yield stack
    from recipes.target import reset_mlflow_uris

    reset_mlflow_uris()
