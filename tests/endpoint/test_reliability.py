"""Reliability of a real server under load: config changes, a killed worker, restarts, SIGTERM.

Clients are threads with keep-alive ``requests.Session``s; every request carries a unique
``client_request_id`` so the inference table can be matched one row per request. Each test
is bounded (pytest-timeout) and every request has a 30 s client timeout.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import psutil
import pytest
import requests
from databricks.sdk.service.serving import (
    Route,
    ServedEntityInput,
    TrafficConfig,
)

from recipes import tables
from recipes.formats import encode
from tests.endpoint.server import RECORD, capture, entity, read_payload, routes

CLIENT_TIMEOUT = 30.0


@dataclass
class Result:
    crid: str
    status: int | None
    served: str | None
    error: str | None
    seconds: float
    at: float


class Load:
    """``clients`` threads posting one record per request until :meth:`stop`."""

    def __init__(self, server, name: str, clients: int):
        self.url = f"{server.url}/serving-endpoints/{name}/invocations"
        self.headers = server.headers
        self.clients = clients
        self.results: list[Result] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ids = itertools.count()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(clients)
        ]

    def _run(self, client: int) -> None:
        with requests.Session() as s:
            while not self._stop.is_set():
                crid = f"c{client}-{next(self._ids)}"
                body = encode([RECORD], "dataframe_records", client_request_id=crid)
                t0 = time.monotonic()
                try:
                    resp = s.post(self.url, json=body, headers=self.headers, timeout=CLIENT_TIMEOUT)
                    r = Result(
                        crid,
                        resp.status_code,
                        resp.headers.get("served-model-name"),
                        None if resp.status_code == 200 else resp.text[:300],
                        time.monotonic() - t0,
                        t0,
                    )
                except requests.RequestException as exc:
                    r = Result(
                        crid, None, None, f"{type(exc).__name__}: {exc}", time.monotonic() - t0, t0
                    )
                with self._lock:
                    self.results.append(r)

    def start(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> list[Result]:
        self._stop.set()
        for t in self._threads:
            t.join(CLIENT_TIMEOUT + 10)
        assert not any(t.is_alive() for t in self._threads), "a client thread hangs"
        return list(self.results)

    def count(self) -> int:
        with self._lock:
            return len(self.results)


def _failures(results: list[Result]) -> list[Result]:
    return [r for r in results if r.status != 200]


def _children(server) -> set[int]:
    return {p.pid for p in server.children()}


# -- load while the config changes -------------------------------------------------------
@pytest.mark.timeout(180)
def test_load_through_a_traffic_change_and_a_version_swap(server):
    name = "rel-load"
    table = "main.serving.rel_load_payload"
    acc = capture("rel_load")
    server.create(
        name,
        {
            "served_entities": [entity("champion", 1), entity("challenger", 2)],
            "traffic_config": routes(champion=90, challenger=10),
        },
        ai_gateway={"inference_table_config": acc},
    )
    server.wait_ready(name)
    w = server.client()

    def update(challenger_version: str, champion_pct: int) -> None:
        w.serving_endpoints.update_config(
            name,
            served_entities=[
                ServedEntityInput(
                    name=n,
                    entity_name="churn-predictor",
                    entity_version=v,
                    workload_size="Small",
                    scale_to_zero_enabled=False,
                )
                for n, v in (("champion", "1"), ("challenger", challenger_version))
            ],
            traffic_config=TrafficConfig(
                routes=[
                    Route(served_model_name="champion", traffic_percentage=champion_pct),
                    Route(served_model_name="challenger", traffic_percentage=100 - champion_pct),
                ]
            ),
        ).result(timeout=timedelta(seconds=90))

    load = Load(server, name, clients=8).start()
    t0 = time.monotonic()
    try:
        time.sleep(3)
        update("2", 50)  # traffic only: no new worker
        at_traffic = time.monotonic()
        time.sleep(2)
        old_pids = {
            e["name"]: e["mdk"]["worker_pid"]
            for e in server.endpoint(name)["config"]["served_entities"]
        }
        update("1", 50)  # a new challenger worker starts; pending -> active swap under load
        at_swap = time.monotonic()
        time.sleep(max(2.0, 12 - (time.monotonic() - t0)))  # and load after the swap
    finally:
        results = load.stop()

    assert len(results) > 100
    assert all(r.seconds < CLIENT_TIMEOUT for r in results)
    bad = _failures(results)
    assert not bad, f"{len(bad)} of {len(results)} failed, e.g. {bad[0]}"
    ep = server.endpoint(name)
    assert ep["config"]["config_version"] == 3
    assert ep["ai_gateway"] == {"inference_table_config": acc}  # endpoint state: updates keep it
    ents = {e["name"]: e for e in ep["config"]["served_entities"]}
    assert ents["challenger"]["entity_version"] == "1"
    assert ents["champion"]["mdk"]["worker_pid"] == old_pids["champion"]  # kept across updates
    assert ents["challenger"]["mdk"]["worker_pid"] != old_pids["challenger"]
    assert {r.served for r in results if r.at > at_swap} == {"champion", "challenger"}
    assert {r.served for r in results if at_traffic < r.at} == {"champion", "challenger"}

    rows = read_payload(server.home, table, len(results), timeout=15)
    assert rows is not None
    sent = sorted(r.crid for r in results)
    logged = sorted(rows["client_request_id"])
    assert len(logged) == len(sent) and logged == sent  # exactly one row per request
    entities = tables.read("system.serving.served_entities", home=server.home)
    joined = rows.merge(entities, on="served_entity_id", how="left", validate="many_to_one")
    versions = set(zip(joined["served_entity_name"], joined["entity_version"], strict=True))
    assert versions == {("champion", "1"), ("challenger", "2"), ("challenger", "1")}
    assert set(rows["status_code"]) == {200}


# -- a worker killed under load ----------------------------------------------------------
@pytest.mark.timeout(150)
def test_a_killed_worker_is_replaced_without_failing_requests(server):
    name = "rel-kill"
    server.create(name, {"served_entities": [entity("champion", 1)]})
    server.wait_ready(name)

    def mdk() -> tuple[dict, dict]:
        ep = server.endpoint(name)
        e = ep["config"]["served_entities"][0]
        return ep, e

    _, ent = mdk()
    pid = ent["mdk"]["worker_pid"]
    zygote = psutil.Process(pid).parent()  # the worker fork server, the server's child
    assert zygote.ppid() == server.pid and pid in _children(server)

    states: list[tuple[float, str, int | None, str]] = []
    polling = threading.Event()

    def poll() -> None:
        while not polling.is_set():
            with contextlib.suppress(requests.RequestException):
                ep, e = mdk()
                states.append(
                    (
                        time.monotonic(),
                        e["state"]["deployment"],
                        e["mdk"]["worker_pid"],
                        ep["state"]["ready"],
                    )
                )
            time.sleep(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    load = Load(server, name, clients=4).start()
    poller.start()
    try:
        deadline = time.monotonic() + 20
        while load.count() < 200:
            assert time.monotonic() < deadline, "no traffic"
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        deadline = killed_at + 90
        while True:  # recovered: a new worker that answers
            _, e = mdk()
            new_pid = e["mdk"]["worker_pid"]
            if e["state"]["deployment"] == "DEPLOYMENT_READY" and new_pid not in (None, pid):
                break
            assert time.monotonic() < deadline, f"no recovery: {e}"
            time.sleep(0.05)
        recovered_at = time.monotonic()
        time.sleep(3)
    finally:
        results = load.stop()
        polling.set()
        poller.join(10)

    assert all(r.seconds < CLIENT_TIMEOUT for r in results), "a request hung"
    assert not [r for r in results if r.status is None], "a request got no answer"
    bad = _failures(results)
    assert not bad, f"{len(bad)} of {len(results)} failed, e.g. {bad[0]}"
    assert [r for r in results if r.at > recovered_at and r.status == 200]

    _, e = mdk()
    assert e["state"]["deployment"] == "DEPLOYMENT_READY"
    assert e["mdk"]["restarts"] >= 1
    assert "signal 9" in e["mdk"]["last_failure"] and str(pid) in e["mdk"]["last_failure"]
    assert e["mdk"]["worker_pid"] == new_pid and new_pid in _children(server)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    seen = [s for t, s, _, _ in states if t >= killed_at]
    assert seen and seen[-1] == "DEPLOYMENT_READY"
    assert set(seen) <= {"DEPLOYMENT_READY", "DEPLOYMENT_RECOVERING"}, set(seen)
    server.api("DELETE", f"/{name}")


# -- restart and shutdown ----------------------------------------------------------------
def _durable(ep: dict) -> dict:
    """The endpoint without what a restart may change: states, worker facts, the pending part."""
    out = {k: v for k, v in ep.items() if k not in ("state", "mdk", "pending_config")}
    out["config"] = {
        **ep["config"],
        "served_entities": [
            {k: v for k, v in e.items() if k not in ("state", "mdk")}
            for e in ep["config"]["served_entities"]
        ],
    }
    return out


def _shape(cfg: dict) -> tuple:
    """A config's served entities and routes."""
    ents = [(e["name"], e["entity_version"]) for e in cfg["served_entities"]]
    return ents, [
        (r["served_model_name"], r["traffic_percentage"]) for r in cfg["traffic_config"]["routes"]
    ]


def _diff(a, b, path: str = "") -> list[str]:
    """The paths where two JSON values differ, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d
            for k in sorted(set(a) | set(b), key=str)
            for d in _diff(a.get(k), b.get(k), f"{path}.{k}")
        ]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _diff(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [f"{path}: {a!r} -> {b!r}"]


@pytest.mark.timeout(150)
def test_endpoints_come_back_after_a_restart(server):
    name = "rel-restart"
    server.create(
        name,
        {
            "served_entities": [entity("champion", 1), entity("challenger", 2)],
            "traffic_config": routes(champion=90, challenger=10),
        },
        tags=[{"key": "team", "value": "ml"}],
        ai_gateway={
            "inference_table_config": capture("rel_restart"),
            "rate_limits": [{"calls": 1000, "key": "endpoint", "renewal_period": "minute"}],
        },
        description="kept across a restart",
    )
    before = server.wait_ready(name)
    assert set(before["ai_gateway"]) == {"inference_table_config", "rate_limits"}
    assert before["description"] == "kept across a restart"
    old_workers = _children(server)
    old_pid = server.pid

    server.restart()

    assert server.pid != old_pid
    assert not [
        p
        for p in old_workers
        if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
    ]
    first = server.endpoint(name)  # answers at once, workers or not
    assert not _diff(_durable(before), _durable(first))
    after = server.wait_ready(name)
    assert not _diff(_durable(before), _durable(after))
    for served in ("champion", "challenger"):
        resp = server.invoke(name, {"dataframe_records": [RECORD]}, served=served)
        assert resp.status_code == 200 and resp.headers["served-model-name"] == served
    assert server.invoke(name, {"dataframe_records": [RECORD]}).status_code == 200
    server.api("DELETE", f"/{name}")


def test_an_update_right_after_a_restart_ends_only_when_every_entity_is_ready(server):
    """03's rerun after `mdk run` restarted the endpoint: the same config again. The kept
    entity was still starting, so NOT_UPDATING must wait for it (it once did not)."""
    name = "rel-same-again"
    config = {"served_entities": [entity("champion", 1)]}
    server.create(name, config)
    server.wait_ready(name)
    server.restart()
    resp = server.api("PUT", f"/{name}/config", json=config)
    assert resp.status_code == 200, resp.text
    [during] = resp.json()["config"]["served_entities"]
    assert during["state"]["deployment"] == "DEPLOYMENT_CREATING"  # restored, still starting
    deadline = time.monotonic() + 60
    while (ep := server.endpoint(name))["state"]["config_update"] != "NOT_UPDATING":
        assert time.monotonic() < deadline, ep["state"]
        time.sleep(0.05)
    assert ep["state"]["ready"] == "READY"
    assert [e["state"]["deployment"] for e in ep["config"]["served_entities"]] == [
        "DEPLOYMENT_READY"
    ]
    assert ep["config"]["config_version"] == 2
    server.api("DELETE", f"/{name}")


@pytest.mark.timeout(150)
def test_an_update_in_progress_survives_a_restart(server):
    """SIGTERM while new workers start: the update completes, before the stop or after."""
    name = "rel-pending"
    server.create(name, {"served_entities": [entity("champion", 1)]})
    server.wait_ready(name)
    update = {
        "served_entities": [entity("champion", 1), entity("extra1", 1), entity("extra2", 2)],
        "traffic_config": routes(champion=80, extra1=10, extra2=10),
    }  # two new workers: the second waits for a warm one, so the update takes seconds
    resp = server.api("PUT", f"/{name}/config", json=update)
    assert resp.status_code == 200, resp.text
    assert server.endpoint(name)["state"]["config_update"] == "IN_PROGRESS"

    server.restart()

    after = server.wait_ready(name)
    assert _shape(after["config"]) == (
        [("champion", "1"), ("extra1", "1"), ("extra2", "2")],
        [("champion", 80), ("extra1", 10), ("extra2", 10)],
    ), "the update was lost in the restart"
    for served in ("champion", "extra1", "extra2"):
        resp = server.invoke(name, {"dataframe_records": [RECORD]}, served=served)
        assert resp.status_code == 200 and resp.headers["served-model-name"] == served
    server.api("DELETE", f"/{name}")


@pytest.mark.timeout(120)
def test_rows_captured_just_before_sigterm_are_on_disk(server, request):
    """SIGTERM under load: every answered request is in the table once the server has exited.

    The writer flushes once a second, so rows of the last moments are still in memory when
    the signal comes. The module's server is started again afterwards, for the tests that
    run after this one in a shuffled order.
    """
    request.addfinalizer(lambda: server.pid is None and server.start())
    name = "rel-flush"
    table = "main.serving.rel_flush_payload"
    server.create(
        name,
        {"served_entities": [entity("champion", 1)]},
        ai_gateway={"inference_table_config": capture("rel_flush")},
    )
    server.wait_ready(name)
    workers = _children(server)
    load = Load(server, name, clients=4).start()
    try:
        deadline = time.monotonic() + 30
        while load.count() < 300:
            assert time.monotonic() < deadline, "no traffic"
            time.sleep(0.05)
        code = server.terminate()  # SIGTERM to the front alone
    finally:
        results = load.stop()
    assert code in (0, -signal.SIGTERM), server.tail()  # uvicorn re-raises SIGTERM when done
    assert not [
        p
        for p in workers
        if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
    ]
    answered = {r.crid for r in results if r.status == 200}
    assert len(answered) >= 300
    logged = list(tables.read(table, home=server.home)["client_request_id"])
    assert len(logged) == len(set(logged))
    assert answered <= set(logged), f"{len(answered - set(logged))} answered rows were lost"
    assert set(logged) <= {r.crid for r in results}
