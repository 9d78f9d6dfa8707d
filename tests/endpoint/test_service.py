"""The serving endpoint as a stack service (`mdk up`, `mdk token`): start, health, stop."""

from __future__ import annotations

import os
import shutil
import time

import psutil
import requests
from typer.testing import CliRunner

from recipes import auth, stack
from recipes.tooling.cli import app
from tests.endpoint.server import entity


def test_serving_service_starts_answers_and_stops_with_its_workers(mdk_home, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    svc = stack.start("serving")
    try:
        assert svc.url.startswith("http://127.0.0.1:")
        assert stack.start("serving").pid == svc.pid  # idempotent
        health = requests.get(svc.url + "/health", timeout=5).json()
        assert health["tracking_uri"] == f"sqlite:///{mdk_home / 'mlflow.db'}"
        assert health["home"] == str(mdk_home)
        r = requests.get(
            svc.url + "/api/2.0/serving-endpoints",
            timeout=5,
            headers={"Authorization": f"Bearer {auth.token()}"},
        )
        assert r.status_code == 200 and r.json() == {"endpoints": []}
        assert requests.get(svc.url + "/api/2.0/serving-endpoints", timeout=5).status_code == 401
        row = next(s for s in stack.status() if s.name == "serving")
        assert row.alive and row.healthy and row.pid == svc.pid
        # one request at a time per worker: one OpenMP thread unless the environment says else
        # the warm spare is forked from the zygote, which did the imports once
        zygote, spares = _workers(svc.pid)
        assert zygote.ppid() == svc.pid and [s.ppid() for s in spares] == [zygote.pid]
        assert [w.environ().get("OMP_NUM_THREADS") for w in [zygote, *spares]] == ["1", "1"]
        children = psutil.Process(svc.pid).children(recursive=True)
    finally:
        assert stack.stop("serving") == svc.pid
    assert not psutil.pid_exists(svc.pid) or psutil.Process(svc.pid).status() == "zombie"
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []
    assert stack.read_record("serving") is None


def _workers(pid: int, timeout: float = 30.0) -> tuple[psutil.Process, list[psutil.Process]]:
    """The endpoint's worker zygote and the workers it forked, once there is one."""
    deadline = time.monotonic() + timeout
    while True:
        zygotes = [
            c
            for c in psutil.Process(pid).children()
            if "recipes.endpoint.zygote" in " ".join(c.cmdline())
        ]
        spares = zygotes[0].children() if len(zygotes) == 1 else []
        if spares or time.monotonic() > deadline:
            assert len(zygotes) == 1, zygotes
            return zygotes[0], spares
        time.sleep(0.1)


def test_mdk_token_prints_the_token_file(mdk_home):
    result = CliRunner().invoke(app, ["token"])
    assert result.exit_code == 0
    assert result.stdout.strip() == auth.token() == auth.token_path().read_text().strip()
    assert auth.token_path().stat().st_mode & 0o077 == 0


def test_mdk_token_prefers_the_environment(mdk_home, monkeypatch):
    monkeypatch.setenv("MDK_SERVING_TOKEN", "mdk-from-env")
    assert CliRunner().invoke(app, ["token"]).stdout.strip() == "mdk-from-env"


def test_a_signal_to_the_service_group_stops_the_front_which_stops_its_workers(
    mdk_home, _trained_store
):
    """`mdk down` signals the service's process group. Workers have groups of their own, so
    the signal reaches the front alone: it closes their sockets and none is restarted."""
    shutil.copy(_trained_store / "mlflow.db", mdk_home / "mlflow.db")
    svc = stack.start("serving")
    try:
        hdrs = {"Authorization": f"Bearer {auth.token()}"}
        api = svc.url + "/api/2.0/serving-endpoints"
        body = {"name": "grp", "config": {"served_entities": [entity("champion", 1)]}}
        assert requests.post(api, json=body, headers=hdrs, timeout=30).status_code == 200
        deadline = time.monotonic() + 90
        while (ep := requests.get(f"{api}/grp", headers=hdrs, timeout=10).json())["state"][
            "ready"
        ] != "READY":
            assert time.monotonic() < deadline, ep
            time.sleep(0.2)
        worker = ep["config"]["served_entities"][0]["mdk"]["worker_pid"]
        assert os.getpgid(worker) not in (svc.pid, os.getpgid(0))
        children = psutil.Process(svc.pid).children(recursive=True)
        assert worker in {c.pid for c in children}
    finally:
        assert stack.stop("serving") == svc.pid
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []
    log = (mdk_home / "logs" / "serving.log").read_text()
    assert "restarting it" not in log and "died" not in log, log[-2000:]
