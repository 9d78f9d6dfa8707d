"""recipes.stack against a real ``mlflow server`` process (one per module, stopped last)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import psutil
import pytest

from recipes import stack
from recipes.errors import KitError

pytestmark = pytest.mark.server  # every test here runs real server processes


@pytest.fixture(scope="module")
def server_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("stack") / "mdk"
    svc = stack.start_mlflow_server(home=home)
    yield home, svc
    stack.stop("mlflow", home=home)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_free_port_can_be_bound():
    port = stack.free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
    assert 1024 < port < 65536


def test_server_answers_health_and_is_recorded(server_home):
    home, svc = server_home
    with urllib.request.urlopen(f"{svc.url}/health", timeout=5) as resp:
        assert resp.status == 200
    record = json.loads((home / "run" / "mlflow.json").read_text())
    assert record["pid"] == svc.pid and record["port"] == svc.port
    assert record["url"] == f"http://127.0.0.1:{svc.port}" and record["started_at"]
    assert record["cmd"][1:4] == ["server", "--host", "127.0.0.1"]
    assert "--workers" in record["cmd"] and (home / "mlflow.db").exists()
    assert (home / "logs" / "mlflow.log").stat().st_size > 0


def test_server_runs_in_its_own_process_group(server_home):
    _, svc = server_home
    assert psutil.Process(svc.pid).is_running()
    assert os.getpgid(svc.pid) == svc.pid != os.getpgid(0)


def test_status_shows_it_alive_and_healthy(server_home):
    home, svc = server_home
    (row, serving, spark) = stack.status(home)
    assert (serving.name, serving.alive, spark.name, spark.alive) == (
        "serving",
        False,
        "spark",
        False,
    )
    assert (row.name, row.pid, row.port, row.alive, row.healthy) == (
        "mlflow",
        svc.pid,
        svc.port,
        True,
        True,
    )


def test_server_shares_the_embedded_store(server_home):
    """Notebooks on the embedded default and on `mdk up` use one store, in both directions."""
    import mlflow
    from mlflow import MlflowClient

    home, svc = server_home
    embedded = MlflowClient(f"sqlite:///{home / 'mlflow.db'}")
    served = MlflowClient(tracking_uri=svc.url, registry_uri=svc.url)
    embedded.create_registered_model("made-embedded", tags={"via": "sqlite"})
    assert served.get_registered_model("made-embedded").tags == {"via": "sqlite"}
    # An experiment made through the server must take artifacts from an embedded client too.
    exp_id = served.create_experiment("made-by-server")
    assert served.get_experiment(exp_id).artifact_location.startswith("file://")
    run = embedded.create_run(exp_id)
    with tempfile.TemporaryDirectory() as tmp:
        note = Path(tmp) / "note.txt"
        note.write_text("hi")
        embedded.log_artifact(run.info.run_id, str(note))
    assert [f.path for f in served.list_artifacts(run.info.run_id)] == ["note.txt"]
    assert mlflow.artifacts.load_text(f"{run.info.artifact_uri}/note.txt") == "hi"


def test_second_start_returns_the_same_server(server_home):
    home, svc = server_home
    again = stack.start_mlflow_server(home=home)
    assert again.pid == svc.pid and again.url == svc.url


def test_start_on_a_taken_port_is_a_one_line_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(KitError, match=f"Port {port} is in use"):
            stack.start_mlflow_server(port=port, home=tmp_path)
    assert not (tmp_path / "run" / "mlflow.json").exists()


def test_stop_kills_the_server_and_removes_the_record(tmp_path):
    home = tmp_path / "mdk"  # a server of its own: the module's stays up for the others
    svc = stack.start_mlflow_server(home=home)
    children = [p.pid for p in psutil.Process(svc.pid).children(recursive=True)]
    assert stack.stop("mlflow", home=home) == svc.pid
    assert _gone(svc.pid) and all(_gone(c) for c in children)
    assert not (home / "run" / "mlflow.json").exists()
    (row, serving, spark) = stack.status(home)
    assert (serving.name, serving.alive, spark.name, spark.alive) == (
        "serving",
        False,
        "spark",
        False,
    )
    assert row.pid is None and not row.alive and not row.healthy


def test_stop_when_nothing_runs_is_a_no_op(mdk_home):
    assert stack.stop("mlflow") is None
    assert stack.stop("mlflow") is None


def test_stop_never_signals_a_process_that_is_not_ours(mdk_home):
    """A record whose pid runs something else (pid reuse) is dropped, the process spared."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        run = mdk_home / "run"
        run.mkdir()
        record = {
            "name": "mlflow",
            "pid": sleeper.pid,
            "port": 1,
            "url": "http://127.0.0.1:1",
            "started_at": "2026-01-01T00:00:00+00:00",
            "cmd": ["x"],
        }
        (run / "mlflow.json").write_text(json.dumps(record))
        row = stack.status()[0]  # mlflow, then serving and spark
        assert row.pid == sleeper.pid and not row.alive
        assert stack.stop("mlflow") is None
        assert sleeper.poll() is None
        assert not (run / "mlflow.json").exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_server_that_dies_at_start_raises_with_its_log(tmp_path, monkeypatch):
    """Also: a relative home is resolved once, not again under the server's cwd."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rel").mkdir(parents=True)
    (tmp_path / "rel" / "mlflow.db").write_text("not a sqlite database\n" * 100)
    with pytest.raises(KitError) as info:
        stack.start_mlflow_server(home="rel")
    assert re.fullmatch(
        r"mlflow server exited with code \d+; see \S+mlflow.log: .+", str(info.value)
    )
    assert "file is not a database" in str(info.value)
    assert not (tmp_path / "rel" / "run" / "mlflow.json").exists()


_LISTENER = """
import os, socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
time.sleep(float(os.environ["DELAY"]))  # not ready at once: start() must wait for the port
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
print("listening", os.environ["WHERE"], flush=True)
while True:
    s.accept()[0].close()
"""


def test_a_service_that_is_not_http_is_ready_once_its_port_accepts(tmp_path):
    """Spark Connect's gRPC has no health path: ``health_path=None`` waits for the port, the
    URL takes the spec's scheme, and ``environment`` builds the env from port and home."""
    script = tmp_path / "listener.py"
    script.write_text(_LISTENER)
    spec = stack.ServiceSpec(
        "listener",
        lambda port, home: [sys.executable, str(script), str(port)],
        marker=str(script),
        health_path=None,
        environment=lambda port, home: {"WHERE": f"{home.name}:{port}", "DELAY": "0.5"},
        scheme="sc",
    )
    home = tmp_path / "home"
    svc = stack.start("listener", home=home, spec=spec, timeout=30)
    try:
        assert svc.url == f"sc://127.0.0.1:{svc.port}"
        assert stack.port_in_use(svc.port)
        row = stack.service_status("listener", home, health_path=None)
        assert row.alive and row.pid == svc.pid
        log = (home / "logs" / "listener.log").read_text()
        assert f"listening home:{svc.port}" in log
    finally:
        assert stack.stop("listener", home) == svc.pid
    assert _gone(svc.pid) and not (home / "run" / "listener.json").exists()


def test_the_spark_service_is_spark_connect_over_the_homes_warehouse(tmp_path):
    """The ``spark`` service ``mdk run`` shares: Spark Connect's server class by
    ``spark-submit``, its catalog over ``<home>/warehouse``, scratch under ``spark-connect/``,
    workers on this interpreter, and no client variables of its own."""
    spec = stack.SERVICES["spark"]
    assert spec.scheme == "sc" and spec.health_path is None
    home = tmp_path / "mdk"
    cmd = spec.command(40123, home)
    assert cmd[0].endswith("bin/spark-submit") and cmd[1:3] == ["--class", spec.marker]
    conf = {
        cmd[i + 1].split("=", 1)[0]: cmd[i + 1].split("=", 1)[1]
        for i, a in enumerate(cmd)
        if a == "--conf"
    }
    assert conf["spark.connect.grpc.binding.port"] == "40123"
    assert conf["spark.connect.grpc.binding.address"] == "127.0.0.1"
    assert str(home / "warehouse") in " ".join(conf.values())
    assert (home / "spark-connect" / "local").is_dir()
    env = spec.environment(40123, home)
    assert env["PYSPARK_PYTHON"] == sys.executable
    assert env["SPARK_REMOTE"] is None and env["MDK_SPARK_REMOTE"] is None
    with pytest.raises(ValueError, match="15002"):
        spec.command(15002, home)


def test_free_port_is_never_spark_connects_default(monkeypatch):
    ports = iter([15002, 15002, 40555])

    class FakeSocket:
        def __init__(self, *a):
            self.port = next(ports)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def bind(self, address):
            pass

        def getsockname(self):
            return ("127.0.0.1", self.port)

    monkeypatch.setattr(stack.socket, "socket", FakeSocket)
    assert stack.free_port() == 40555
