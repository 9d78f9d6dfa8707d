"""The README's own path: `mdk up`, export what it prints, register, serve, score, `mdk down`.

`mdk up` starts ``mlflow server`` over ``sqlite:///$MDK_HOME/mlflow.db`` and the serving
endpoint reading that file, and prints ``export MLFLOW_TRACKING_URI=http://127.0.0.1:<port>``.
A session with that export registers through the server's URL; the endpoint reads the same
file, so :func:`recipes.serving.client.connection` must accept it, and the model it registers
must be served. Everything runs in child processes, as it does in a shell.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from recipes import stack

pytestmark = [pytest.mark.server, pytest.mark.slow]

MDK = Path(sys.executable).parent / "mdk"
EXPORT = re.compile(r"^export MLFLOW_TRACKING_URI=(\S+)$", re.MULTILINE)
ENDPOINT = "mdk-up-endpoint"

# what a shell would not have: the test process's own store, a workspace, a foreground server
_SCRUB = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MDK_SERVING_URL", "MDK_SERVING_TOKEN")

# The notebooks' calls (01's register-during-logging, 03's connection, WorkspaceClient and
# requests.post), on a few hundred rows; prints one JSON line for the test to read.
SESSION = """
import json
import requests
from databricks.sdk import WorkspaceClient
from databricks.sdk.service.serving import EndpointCoreConfigInput, ServedEntityInput
from recipes.data import seed_record
from recipes.serving import deploy
from recipes.serving.client import connection
from recipes.target import use_target
from recipes.train import train_and_log

t = use_target("local")
result = train_and_log(200, seed=0, registered_model_name="churn-predictor")
conn = connection(start=False)  # the endpoint `mdk up` started, or an error
w = WorkspaceClient()  # connection() pointed the SDK at it
config = EndpointCoreConfigInput(
    name=ENDPOINT,
    served_entities=[
        ServedEntityInput(
            entity_name="churn-predictor",
            entity_version=str(result.version),
            workload_size="Small",
            scale_to_zero_enabled=True,
        )
    ],
)
endpoint = deploy.ensure_endpoint(w, ENDPOINT, config)
response = requests.post(
    conn.invocations_url(ENDPOINT),
    headers=conn.headers,
    json={"dataframe_records": [seed_record()]},
    timeout=120,
)
print(json.dumps({
    "tracking_uri": t.tracking_uri,
    "host": conn.host,
    "version": result.version,
    "ready": endpoint.state.ready.value,
    "status": response.status_code,
    "body": response.json(),
}))
""".replace("ENDPOINT", repr(ENDPOINT))


def _gone(proc: psutil.Process) -> bool:
    """The process has exited (``is_running`` is False also when its pid was reused)."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _recorded(home: Path) -> dict[str, psutil.Process]:
    """Each recorded service's process and the processes it started, by name and pid."""
    procs = {}
    for name in stack.SERVICES:
        svc = stack.read_record(name, home)
        if svc is None:
            continue
        proc = psutil.Process(svc.pid)
        procs[f"{name} pid {svc.pid}"] = proc
        for child in proc.children(recursive=True):
            procs[f"{name}'s child pid {child.pid}"] = child
    return procs


def test_mdk_up_export_register_serve_and_down(mdk_home):
    # mdk_home: a fresh MDK_HOME holding an empty, already migrated mlflow.db (tests/conftest.py),
    # which spares the server MLflow's schema migrations; nothing is running there
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(MDK_HOME=str(mdk_home), MDK_TARGET="local", MLFLOW_DISABLE_TELEMETRY="true")

    def mdk(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(MDK), *args], env=env, capture_output=True, text=True, timeout=300
        )

    try:
        up = mdk("up")
        assert up.returncode == 0, up.stdout + up.stderr
        exported = EXPORT.findall(up.stdout)
        mlflow = stack.read_record("mlflow", mdk_home)
        serving = stack.read_record("serving", mdk_home)
        assert mlflow is not None and serving is not None, up.stdout
        assert exported == [mlflow.url], up.stdout
        assert f"models from sqlite:///{mdk_home / 'mlflow.db'}" in up.stdout

        session = subprocess.run(
            [sys.executable, "-c", SESSION],
            env={**env, "MLFLOW_TRACKING_URI": exported[0]},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert session.returncode == 0, session.stderr[-3000:]
        seen = json.loads(session.stdout.strip().splitlines()[-1])
        assert seen["tracking_uri"] == mlflow.url  # registered through the server's URL
        assert seen["host"] == serving.url  # and served by the endpoint `mdk up` started
        assert seen["version"] == 1 and seen["ready"] == "READY"
        assert seen["status"] == 200, seen["body"]
        assert seen["body"]["predictions"] in ([0], [1]), seen["body"]

        procs = _recorded(mdk_home)
        assert any(name.startswith("serving's child") for name in procs), procs  # its worker
        down = mdk("down")
        assert down.returncode == 0, down.stdout + down.stderr
        assert f"mlflow: stopped pid {mlflow.pid}" in down.stdout
        assert f"serving: stopped pid {serving.pid}" in down.stdout
        assert [name for name, proc in procs.items() if not _gone(proc)] == []
        assert not list((mdk_home / "run").glob("*.json"))  # no record left behind
    finally:
        for name in stack.SERVICES:  # after a failure: only what is recorded, by its pid
            stack.stop(name, mdk_home)
