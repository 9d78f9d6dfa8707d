"""``export_metrics`` in process: Databricks' series and the kit's own, from ``Metrics.text``
and through the app's route (Starlette's TestClient, no server process, no model worker).

The real-process check, through ``WorkspaceClient``, is in ``test_openapi.py``
(``test_sdk_sees_databricks_metrics_and_a_valid_openapi``), sharing one server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from recipes.endpoint.metrics import DBX_BUCKETS_MS, WINDOW_S, Metrics
from tests.endpoint.fakes import app_client, dbx, fake_endpoint, fake_entity, parse


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_databricks_series_count_the_last_minute_by_status():
    clock = Clock()
    m = Metrics(clock=clock)
    for ms in (3.0, 40.0, 700.0):
        m.observe("ep", "a", 200, ms)
    m.observe("ep", "a", 400, 1.0)
    m.observe("ep", "a", 429, 2.0)
    m.observe("ep", "a", 503, 9000.0)
    m.observe("ep", "", 404, 0.5)  # no entity picked (an unknown served model)
    m.observe("other", "a", 200, 1.0)
    entities = {"a": fake_entity("a"), "b": fake_entity("b")}
    types, s = parse(m.text("ep", entities))

    for family in ("request_count_total", "request_4xx_count_total", "request_5xx_count_total"):
        assert types[family] == "gauge"  # Databricks' per-minute counts, despite _total
    assert types["request_latency_ms"] == "histogram"
    assert s[("request_count_total", dbx("ep", "a"))] == 6
    assert s[("request_4xx_count_total", dbx("ep", "a"))] == 2
    assert s[("request_5xx_count_total", dbx("ep", "a"))] == 1
    assert s[("request_count_total", dbx("ep", "b"))] == 0  # every entity has a sample
    no_entity = frozenset({"endpoint_name": "ep"}.items())
    assert s[("request_4xx_count_total", no_entity)] == 1
    assert not any(dict(k[1]).get("endpoint_name") == "other" for k in s)

    def bucket(le):
        return s[("request_latency_ms_bucket", dbx("ep", "a", le=le))]

    assert DBX_BUCKETS_MS[0] == 5 and DBX_BUCKETS_MS[-1] == 600000
    assert bucket("5") == 3  # 1, 2 and 3 ms
    assert bucket("50") == 4 and bucket("1000") == 5 and bucket("10000") == 6
    assert bucket("+Inf") == 6 == s[("request_latency_ms_count", dbx("ep", "a"))]
    assert s[("request_latency_ms_sum", dbx("ep", "a"))] == pytest.approx(9746.0)

    # a minute later the gauges are back to zero; the kit's own counters are not
    clock.now += WINDOW_S + 1
    _, later = parse(m.text("ep", entities))
    assert later[("request_count_total", dbx("ep", "a"))] == 0
    assert later[("request_latency_ms_count", dbx("ep", "a"))] == 0
    assert ("request_count_total", no_entity) not in later  # gone once it has no request
    own = frozenset({"endpoint": "ep", "served_entity": "a", "status": "200"}.items())
    assert later[("mdk_requests_total", own)] == 3


def test_the_minute_slides_second_by_second():
    clock = Clock(500.0)
    m = Metrics(clock=clock)
    m.observe("ep", "a", 200, 1.0)
    clock.now += 30
    m.observe("ep", "a", 200, 1.0)
    clock.now += WINDOW_S - 30  # the first request is now a minute old
    _, s = parse(m.text("ep", {"a": fake_entity("a")}))
    assert s[("request_count_total", dbx("ep", "a"))] == 1


def test_kit_series_keep_their_names():
    m = Metrics()
    m.observe("ep", "a", 200, 0.4)
    ent = fake_entity("a", running=True, pid=os.getpid())
    ent.stats.restarts, ent.stats.batches = 2, 5
    types, s = parse(m.text("ep", {"a": ent}))
    assert types["mdk_requests_total"] == "counter"
    assert types["mdk_request_latency_ms"] == "histogram"
    labels = frozenset({"endpoint": "ep", "served_entity": "a"}.items())
    assert s[("mdk_request_latency_ms_bucket", labels | {("le", "1")})] == 1
    assert s[("mdk_worker_up", labels)] == 1
    assert s[("mdk_worker_restarts_total", labels)] == 2
    assert s[("mdk_batches_total", labels)] == 5


def test_cpu_and_memory_are_the_workers_own():
    """A busy worker shows CPU, an idle one about none; a stopped one has no sample."""
    code = "import time\nt = time.time()\nwhile time.time() - t < 30: pass"
    busy = subprocess.Popen([sys.executable, "-c", code])
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        m = Metrics()
        entities = {
            "busy": fake_entity("busy", running=True, pid=busy.pid),
            "idle": fake_entity("idle", running=True, pid=idle.pid),
            "stopped": fake_entity("stopped", running=False, pid=None),
        }
        time.sleep(1.5)
        types, s = parse(m.text("ep", entities))
        assert types["cpu_usage_percentage"] == types["mem_usage_percentage"] == "gauge"
        cpu = {n: s.get(("cpu_usage_percentage", dbx("ep", n))) for n in entities}
        mem = {n: s.get(("mem_usage_percentage", dbx("ep", n))) for n in entities}
        # % of the machine's cores: a spinning process has its share (less when others
        # load the machine), a sleeping one about none
        assert cpu["busy"] > max(2.0, 4 * cpu["idle"]) and cpu["idle"] < 5, cpu
        assert cpu["busy"] <= 100.0
        assert 0 < mem["busy"] < 100 and 0 < mem["idle"] < 100
        assert cpu["stopped"] is None and mem["stopped"] is None
    finally:
        for proc in (busy, idle):
            proc.kill()
            proc.wait(10)


def test_metrics_route_answers_text_and_404s_an_unknown_endpoint(tmp_path):
    ep = fake_endpoint("ep", {"a": fake_entity("a")})
    with app_client(tmp_path, {"ep": ep}) as (client, manager):
        manager.metrics.observe("ep", "a", 200, 1.0)
        manager.metrics.observe("ep", "a", 400, 1.0)
        resp = client.get("/api/2.0/serving-endpoints/ep/metrics")
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
        _, s = parse(resp.text)
        assert s[("request_count_total", dbx("ep", "a"))] == 2
        assert s[("request_4xx_count_total", dbx("ep", "a"))] == 1
        missing = client.get("/api/2.0/serving-endpoints/nowhere/metrics")
        assert missing.status_code == 404
        assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
        anonymous = client.get(
            "/api/2.0/serving-endpoints/ep/metrics", headers={"Authorization": ""}
        )
        assert anonymous.status_code == 401
