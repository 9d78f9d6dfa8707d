"""The control and data planes of a real server, through the official databricks-sdk and REST.

One server for the module; each test uses endpoints of its own. The seed's lifecycle (create,
tag, scale to zero, query, A/B update, metrics, delete) is one step per test, each on a fresh
``api-seed-*`` endpoint brought to that step by the fixtures, so any order passes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import numpy as np
import pandas as pd
import psutil
import pytest
import requests
from databricks.sdk.config import Config
from databricks.sdk.errors import NotFound
from databricks.sdk.service.serving import (
    EndpointCoreConfigInput,
    EndpointStateConfigUpdate,
    EndpointStateReady,
    EndpointTag,
    Route,
    ServedEntityInput,
    ServedModelStateDeployment,
    TrafficConfig,
)

from recipes import tables
from recipes.data import FEATURES
from recipes.formats import FORMATS, encode
from recipes.stack import pid_alive
from tests.endpoint.server import (
    MODEL,
    RECORD,
    capture,
    entity,
    read_payload,
    routes,
)

WAIT = timedelta(seconds=180)
PAYLOAD_COLUMNS = {  # Databricks' AI Gateway inference table
    "request_date",
    "databricks_request_id",
    "client_request_id",
    "request_time",
    "status_code",
    "sampling_fraction",
    "execution_duration_ms",
    "request",
    "response",
    "served_entity_id",
    "logging_error_codes",
    "requester",
}


@pytest.fixture(scope="module")
def server(shared_server):
    """The session's shared server: this module only makes endpoints of names of its own."""
    return shared_server


def _rows(n: int = 200, seed: int = 3) -> list[dict]:
    """Random records of JSON integers (the signature says long), plus edge values."""
    rng = np.random.default_rng(seed)
    out = [
        {
            "total_purchases": int(rng.integers(0, 60)),
            "avg_session_duration": int(rng.integers(5, 900)),
            "days_since_last_visit": int(rng.integers(0, 120)),
        }
        for _ in range(n)
    ]
    out += [
        RECORD,
        dict.fromkeys(FEATURES, 0),
        {"total_purchases": 10**6, "avg_session_duration": -3, "days_since_last_visit": 2**62},
    ]
    return out


ROWS = _rows()


def _expected(model, rows: list[dict]) -> list:
    return pd.Series(model.predict(pd.DataFrame(rows))).tolist()


def _served_names(server, endpoint: str, n: int) -> list[str]:
    """The ``served-model-name`` of ``n`` seed requests sent over one keep-alive session."""
    with requests.Session() as s:
        return [
            s.post(
                f"{server.url}/serving-endpoints/{endpoint}/invocations",
                headers=server.headers,
                json={"dataframe_records": [RECORD]},
                timeout=30,
            ).headers["served-model-name"]
            for _ in range(n)
        ]


def _error(resp: requests.Response) -> dict:
    body = resp.json()
    assert set(body) == {"error_code", "message"}, body
    return body


@pytest.fixture(scope="module")
def main(server) -> str:
    """``api-main``: champion (v1) takes all traffic, challenger (v2) only the per-entity route."""
    name = "api-main"
    config = {
        "served_entities": [entity("champion", 1), entity("challenger", 2)],
        "traffic_config": routes(champion=100, challenger=0),
    }
    server.create(name, config)
    server.wait_ready(name)
    return name


@pytest.fixture
def seed(server):
    """A fresh ``api-seed-*`` endpoint, created exactly as the seed does, then waited on with
    ``.result()``: (name, waiter, endpoint). Deleted afterwards unless the test did."""
    name = f"api-seed-{uuid.uuid4().hex[:6]}"
    w = server.client()
    waiter = w.serving_endpoints.create(
        name=name,
        config=EndpointCoreConfigInput(
            name=name,
            served_entities=[
                ServedEntityInput(
                    entity_name="churn-predictor",
                    entity_version="1",
                    workload_size="Small",
                    scale_to_zero_enabled=True,
                )
            ],
        ),
    )
    yield name, waiter, waiter.result(timeout=WAIT)
    with contextlib.suppress(NotFound):
        w.serving_endpoints.delete(name)


def _update_to_ab(w, name: str):
    """The seed's A/B update: champion v1 at 90 %, challenger v2 at 10 %; returns the waiter."""
    versions, percent = {"champion": "1", "challenger": "2"}, {"champion": 90, "challenger": 10}
    return w.serving_endpoints.update_config(
        name,
        served_entities=[
            ServedEntityInput(
                name=n,
                entity_name=MODEL,
                entity_version=v,
                workload_size="Small",
                scale_to_zero_enabled=False,
            )
            for n, v in versions.items()
        ],
        traffic_config=TrafficConfig(
            routes=[Route(served_model_name=n, traffic_percentage=p) for n, p in percent.items()]
        ),
    )


@pytest.fixture
def ab_seed(server, seed) -> str:
    """The seed's endpoint after its A/B update (champion 90 %, challenger 10 %), ready."""
    name = seed[0]
    _update_to_ab(server.client(), name).result(timeout=WAIT)
    return name


# -- probes and the control plane --------------------------------------------------------
def test_well_known_probe_answers_without_auth_and_the_sdk_stays_quiet(server, caplog):
    resp = requests.get(server.url + "/.well-known/databricks-config", timeout=5)
    assert resp.status_code == 200 and resp.json() == {"oidc_endpoint": ""}
    assert resp.headers["content-type"].startswith("application/json")
    with caplog.at_level(logging.WARNING, logger="databricks.sdk"):
        config = Config(host=server.url, token=server.token)
    assert config.host == server.url and not config.discovery_url
    assert not [r.getMessage() for r in caplog.records if r.name.startswith("databricks.sdk")]


def test_seed_create_returns_a_ready_endpoint(server, seed):
    name, waiter, ep = seed
    assert waiter.response.name == name  # the POST answered at once, before the worker was up
    assert ep.name == name and ep.id
    assert ep.state.ready == EndpointStateReady.READY
    assert ep.state.config_update == EndpointStateConfigUpdate.NOT_UPDATING
    assert ep.pending_config is None
    (se,) = ep.config.served_entities
    assert (se.name, se.entity_name, se.entity_version) == ("churn-predictor-1", MODEL, "1")
    assert se.workload_size == "Small" and se.scale_to_zero_enabled is True
    assert se.state.deployment == ServedModelStateDeployment.DEPLOYMENT_READY
    (route,) = ep.config.traffic_config.routes
    assert (route.served_model_name, route.traffic_percentage) == ("churn-predictor-1", 100)


def test_get_and_list_through_the_sdk(server, seed):
    name, _, ep = seed
    w = server.client()
    got = w.serving_endpoints.get(name)
    assert got.id == ep.id and got.config.served_entities[0].entity_version == "1"
    listed = {e.name: e for e in w.serving_endpoints.list()}
    assert name in listed and listed[name].id == got.id
    assert listed[name].state.ready == EndpointStateReady.READY


def test_patch_tags_then_scale_to_zero_and_a_measured_cold_start(server, seed, pyfunc_models):
    name = seed[0]
    w = server.client()
    tags = w.serving_endpoints.patch(
        name, add_tags=[EndpointTag(key="mdk_idle_seconds", value="2")]
    )
    assert {(t.key, t.value) for t in tags.tags} == {("mdk_idle_seconds", "2")}
    assert server.endpoint(name)["tags"] == [{"key": "mdk_idle_seconds", "value": "2"}]

    def mdk() -> dict:
        return server.endpoint(name)["config"]["served_entities"][0]["mdk"]

    deadline = time.monotonic() + 30
    while not mdk()["scaled_to_zero"]:
        assert time.monotonic() < deadline, mdk()
        time.sleep(0.2)
    before = mdk()
    assert before["worker_pid"] is None and before["cold_starts"] == 0

    resp = server.invoke(name, {"dataframe_records": [RECORD]})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"predictions": _expected(pyfunc_models[1], [RECORD])}
    after = mdk()
    assert after["cold_starts"] == 1 and after["last_cold_start_ms"] > 0
    assert after["worker_pid"] is not None and after["scaled_to_zero"] is False


def test_query_through_the_sdk_reads_the_served_model_name(server, seed, pyfunc_models):
    name = seed[0]
    w = server.client()
    resp = w.serving_endpoints.query(name, dataframe_records=[RECORD])
    assert resp.predictions == _expected(pyfunc_models[1], [RECORD])
    assert resp.served_model_name == "churn-predictor-1"


def test_update_to_champion_challenger_shows_pending_config_then_swaps(server, seed):
    name = seed[0]
    w = server.client()
    w.serving_endpoints.patch(name, add_tags=[EndpointTag(key="mdk_idle_seconds", value="600")])
    warm = server.invoke(name, {"dataframe_records": [RECORD]})  # a worker up for the update
    assert warm.status_code == 200, warm.text
    waiter = _update_to_ab(w, name)
    during = server.endpoint(name)  # new workers must start, so the update is still running
    assert during["state"]["config_update"] == "IN_PROGRESS"
    pending = during["pending_config"]
    assert [e["name"] for e in pending["served_entities"]] == ["champion", "challenger"]
    assert pending["start_time"] > 0 and pending["config_version"] == 2
    assert [e["name"] for e in during["config"]["served_entities"]] == ["churn-predictor-1"]
    old = server.invoke(name, {"dataframe_records": [RECORD]})  # the old config keeps serving
    assert old.status_code == 200 and old.headers["served-model-name"] == "churn-predictor-1"

    ep = waiter.result(timeout=WAIT)
    assert ep.state.config_update == EndpointStateConfigUpdate.NOT_UPDATING
    assert ep.pending_config is None
    assert [(e.name, e.entity_version) for e in ep.config.served_entities] == [
        ("champion", "1"),
        ("challenger", "2"),
    ]
    assert [
        (r.served_model_name, r.traffic_percentage) for r in ep.config.traffic_config.routes
    ] == [
        ("champion", 90),
        ("challenger", 10),
    ]
    assert ep.config.config_version == 2


def test_traffic_follows_the_split_and_names_the_served_entity(server, ab_seed):
    names = _served_names(server, ab_seed, 200)
    counts = {n: names.count(n) for n in set(names)}
    assert set(counts) == {"champion", "challenger"}
    assert 150 <= counts["champion"] <= 199, counts  # 90 % of 200, far beyond 5 sigma


def test_per_entity_route_reaches_that_entity(server, main, pyfunc_models):
    for served, version in (("challenger", 2), ("champion", 1)):
        resp = server.invoke(main, {"dataframe_records": ROWS}, served=served)
        assert resp.status_code == 200, resp.text
        assert resp.headers["served-model-name"] == served
        assert resp.json()["predictions"] == _expected(pyfunc_models[version], ROWS)


def test_logs_return_the_worker_log(server, main):
    w = server.client()
    logs = w.serving_endpoints.logs(main, "challenger").logs
    pid = server.endpoint(main)["config"]["served_entities"][1]["mdk"]["worker_pid"]
    assert f"worker pid {pid} loading models:/{MODEL}/2" in logs
    assert "ready in" in logs and "fast_path=True" in logs
    raw = server.api("GET", f"/{main}/served-models/champion/logs")
    assert raw.status_code == 200 and f"models:/{MODEL}/1" in raw.json()["logs"]


def test_metrics_are_prometheus_text(server, ab_seed):
    name = ab_seed
    for _ in range(5):
        assert server.invoke(name, {"dataframe_records": [RECORD]}, served="champion").ok
    assert server.invoke(name, {"dataframe_records": [{}]}, served="champion").status_code == 400
    resp = server.api("GET", f"/{name}/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    text = resp.text
    assert "# TYPE mdk_requests_total counter" in text
    lines = [ln for ln in text.splitlines() if ln.startswith("mdk_requests_total{")]
    by_entity = {}
    for ln in lines:
        labels, value = ln.rsplit(" ", 1)
        assert f'endpoint="{name}"' in labels
        by_entity[labels] = int(value)
    ok = f'mdk_requests_total{{endpoint="{name}",served_entity="champion",status="200"}}'
    assert by_entity[ok] >= 5
    assert by_entity[ok.replace('"200"', '"400"')] >= 1
    assert "# TYPE mdk_request_latency_ms histogram" in text
    sdk_text = server.client().serving_endpoints.export_metrics(name).contents.read().decode()
    assert ok in sdk_text


def test_delete_removes_the_endpoint_and_stops_its_workers(server, ab_seed):
    name = ab_seed
    w = server.client()
    pids = [e["mdk"]["worker_pid"] for e in server.endpoint(name)["config"]["served_entities"]]
    assert all(pids)
    w.serving_endpoints.delete(name)
    with pytest.raises(NotFound):
        w.serving_endpoints.get(name)
    assert name not in {e.name for e in w.serving_endpoints.list()}
    resp = server.invoke(name, {"dataframe_records": [RECORD]})
    assert resp.status_code == 404 and _error(resp)["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    procs = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            procs.append(psutil.Process(pid))
    _, alive = psutil.wait_procs(procs, timeout=30)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def test_delete_while_creating_leaves_no_worker_behind(server):
    """Deleted while its three workers start (two still wait for a warm process)."""
    name = "api-short-lived"
    server.create(name, {"served_entities": [entity(f"e{i}", 1) for i in range(3)]})
    resp = server.api("DELETE", f"/{name}")
    assert resp.status_code == 200 and resp.json() == {}
    assert server.api("GET", f"/{name}").status_code == 404
    assert name not in {e["name"] for e in server.api("GET").json()["endpoints"]}
    logs = server.home / "serving" / "logs" / name
    pids: set[int] = set()
    # workers that started anyway say so in their logs: watch until no new one has appeared
    # and every one seen has been gone for 5 s (a cold start without the zygote takes ~4 s);
    # a worker still alive keeps the watch going to 20 s, and the assertion below fails
    deadline, quiet_since = time.monotonic() + 20, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - quiet_since < 5:
        seen = set(pids)
        for log in logs.glob("*.log") if logs.exists() else []:
            pids |= {int(p) for p in re.findall(r"worker pid (\d+) loading", log.read_text())}
        if pids != seen or any(pid_alive(p) for p in pids):
            quiet_since = time.monotonic()
        time.sleep(0.25)
    procs = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            procs.append(psutil.Process(pid))
    _, left = psutil.wait_procs(procs, timeout=10)
    alive = []
    for proc in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            alive.append((proc.pid, proc.status()))
    assert not alive, f"workers (pid, status) {alive} of the deleted endpoint {name} remain"


# -- the data plane: the four formats against pyfunc -------------------------------------
def _body(rows: list[dict], fmt: str) -> dict:
    """``rows`` in ``fmt`` (``dataframe_split``'s columns in an order other than the model's);
    ``inputs_records``: ``inputs`` as a list of records, which the endpoint takes too."""
    if fmt == "inputs_records":
        return {"inputs": rows}
    if fmt == "dataframe_split":
        rows = [dict(reversed(r.items())) for r in rows]
    return encode(rows, fmt)


@pytest.mark.parametrize("fmt", [*FORMATS, "inputs_records"])
def test_every_format_predicts_as_pyfunc_does(server, main, pyfunc_models, fmt):
    expected = _expected(pyfunc_models[1], ROWS)
    assert set(expected) == {0, 1}  # the rows straddle the decision boundary
    resp = server.invoke(main, _body(ROWS, fmt))
    assert resp.status_code == 200, resp.text
    assert resp.headers["served-model-name"] == "champion"
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == {"predictions": expected}


@pytest.mark.parametrize("fmt", [*FORMATS, "inputs_records"])
def test_every_format_refuses_a_float_as_pyfunc_does(server, main, pyfunc_models, fmt):
    """One whole float (320.0) among 203 integer rows: pyfunc refuses the float64 column it
    makes, and so does the endpoint in every format, naming the column."""
    rows = [*ROWS[:100], {**RECORD, "avg_session_duration": 320.0}, *ROWS[100:]]
    with pytest.raises(Exception, match="column avg_session_duration. Can not safely convert"):
        pyfunc_models[1].predict(pd.DataFrame(rows))
    resp = server.invoke(main, _body(rows, fmt))
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["error_code"] == "BAD_REQUEST"
    assert body["message"].startswith("Column 'avg_session_duration' expects a whole number")
    assert "record 100 has 320.0 (float)" in body["message"]


def test_the_fast_path_serves_both_versions(server, main, pyfunc_models):
    ents = {e["name"]: e for e in server.endpoint(main)["config"]["served_entities"]}
    assert ents["champion"]["mdk"]["fast_path"] and ents["challenger"]["mdk"]["fast_path"]
    expected = _expected(pyfunc_models[2], ROWS)
    assert expected != _expected(pyfunc_models[1], ROWS)  # the versions really differ
    resp = server.invoke(main, {"dataframe_records": ROWS}, served="challenger")
    assert resp.json() == {"predictions": expected}


def test_concurrent_single_rows_are_batched_without_mixing_answers(server, main, pyfunc_models):
    expected = _expected(pyfunc_models[1], ROWS)

    def one(i: int):
        return i, requests.post(
            f"{server.url}/serving-endpoints/{main}/invocations",
            headers=server.headers,
            timeout=30,
            json={"dataframe_records": [ROWS[i]]},
        )

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(len(ROWS))))
    assert all(r.status_code == 200 for _, r in results)
    assert [r.json()["predictions"] for _, r in results] == [[p] for p in expected]


def test_zero_traffic_route_gets_no_requests(server, main):
    assert set(_served_names(server, main, 50)) == {"champion"}


# -- scale to zero: the idle clock -------------------------------------------------------
def test_entities_are_not_scaled_to_zero_the_moment_their_config_goes_live(server):
    """The idle time counts from when an entity can first be reached, not from its creation.

    Three entities start at once, so all but the first wait for a warm worker (seconds,
    more than the 2 s idle time). When the endpoint turns READY no request could have
    reached any of them yet, so none may be stopped for idleness in the next second.
    """
    name = "api-idle-clock"
    ents = [entity(f"e{i}", 1, scale_to_zero=True) for i in range(3)]
    server.create(name, {"served_entities": ents})
    early = server.invoke(name, {"dataframe_records": [RECORD]})
    assert early.status_code == 503  # nothing serves before the first config is live
    assert _error(early)["error_code"] == "TEMPORARILY_UNAVAILABLE"
    try:
        server.wait_ready(name)
        seen = []
        until = time.monotonic() + 1.0
        while time.monotonic() < until:
            seen += [e["mdk"] for e in server.endpoint(name)["config"]["served_entities"]]
            time.sleep(0.05)
        stopped = [m for m in seen if m["scaled_to_zero"] or m["worker_pid"] is None]
        assert not stopped, f"scaled to zero right after the config went live: {stopped[0]}"
    finally:
        server.api("DELETE", f"/{name}")


# -- the inference table -----------------------------------------------------------------
def test_inference_table_holds_one_row_per_request(server, pyfunc_models):
    name = "api-capture"
    table = "main.serving.api_capture_payload"
    config = {"served_entities": [entity("champion", 1)]}
    server.create(name, config, ai_gateway={"inference_table_config": capture("api_capture")})
    ep = server.wait_ready(name)
    assert ep["ai_gateway"]["inference_table_config"] == {
        "catalog_name": "main",
        "schema_name": "serving",
        "table_name_prefix": "api_capture",
        "enabled": True,
    }

    sent = []
    for i in range(10):
        crid = f"req-{i}" if i % 2 == 0 else None
        body = encode(ROWS[i : i + 1 + i % 3], "dataframe_records", client_request_id=crid)
        sent.append((body, server.invoke(name, body)))
    bad = encode([{"total_purchases": "many"}], "dataframe_records", client_request_id="bad-1")
    sent.append((bad, server.invoke(name, bad)))
    assert [r.status_code for _, r in sent] == [200] * 10 + [400]

    rows = read_payload(server.home, table, len(sent))
    assert rows is not None and len(rows) == len(sent)
    assert set(rows.columns) == PAYLOAD_COLUMNS
    assert rows["databricks_request_id"].is_unique
    by_request = {
        json.dumps(json.loads(r), sort_keys=True): row
        for r, row in zip(rows["request"], rows.to_dict("records"), strict=True)
    }
    entities = tables.read("system.serving.served_entities", home=server.home)
    named = entities.set_index("served_entity_id").loc[rows["served_entity_id"].unique()]
    assert named[
        ["endpoint_name", "endpoint_id", "served_entity_name", "entity_name", "entity_version"]
    ].values.tolist() == [[name, ep["id"], "champion", MODEL, "1"]]
    for body, resp in sent:
        row = by_request[json.dumps(body, sort_keys=True)]
        assert json.loads(row["response"]) == resp.json()
        assert row["status_code"] == resp.status_code
        assert row["client_request_id"] == body.get("client_request_id")
        assert row["sampling_fraction"] == 1.0 and row["execution_duration_ms"] >= 0
        assert row["requester"] == "mdk" and list(row["logging_error_codes"]) == []
        assert abs(row["request_time"].timestamp() - time.time()) < 600
        assert row["request_date"] == row["request_time"].date()  # its UTC day
    ok = [
        json.loads(r)
        for r, s in zip(rows["response"], rows["status_code"], strict=True)
        if s == 200
    ]
    assert all(set(r) == {"predictions"} for r in ok)
    assert tables.row_count(table, home=server.home) == len(sent)
    server.api("DELETE", f"/{name}")
