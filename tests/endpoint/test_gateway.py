"""The AI Gateway of the local endpoint, and no field of the create or update request dropped.

In process (the app with a worker pool that hands out no worker, so every config fails to
deploy and nothing is spawned): ``ai_gateway`` on create, ``put_ai_gateway``, their refusals,
the 429 of a rate limit, persistence and the migration of legacy ``auto_capture_config``.
One real server through ``databricks.sdk.WorkspaceClient`` for the done-when.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.errors import InvalidParameterValue, TooManyRequests
from databricks.sdk.service.serving import (
    AiGatewayConfig,
    AiGatewayInferenceTableConfig,
    AiGatewayRateLimit,
    AiGatewayRateLimitKey,
    AiGatewayRateLimitRenewalPeriod,
    AutoCaptureConfigInput,
    EndpointCoreConfigInput,
    PutAiGatewayResponse,
    ServedEntityInput,
    ServingEndpoint,
    ServingEndpointDetailed,
)
from fastapi.testclient import TestClient

from recipes.endpoint.app import create_app
from recipes.endpoint.config import parse_config
from recipes.endpoint.endpoints import Manager
from recipes.endpoint.entity import EntityFailed
from recipes.endpoint.gateway import (
    WINDOW_SECONDS,
    CallWindow,
    Gateway,
    parse_gateway,
    refuse_auto_capture,
)
from recipes.errors import ApiError
from tests.endpoint.server import MODEL, RECORD, capture, entity

TOKEN = "gateway-test-token"
INVALID = "INVALID_PARAMETER_VALUE"
TABLE = {
    "catalog_name": "main",
    "schema_name": "serving",
    "table_name_prefix": "gw",
    "enabled": True,
}


@pytest.fixture(scope="module")
def server(shared_server):
    """The session's shared server: this module only makes endpoints of names of its own."""
    return shared_server


def limit(calls: int, **more) -> dict:
    return {"calls": calls, "key": "endpoint", "renewal_period": "minute", **more}


# -- in process --------------------------------------------------------------------------
class NoWorkers:
    """A worker pool that starts nothing: every deploy fails at once, the endpoint stays."""

    def fill(self) -> None:
        pass

    async def take(self):
        raise EntityFailed("no workers in this test")

    async def close(self) -> None:
        pass


def _manager(home):
    manager = Manager(home, env={}, idle_seconds=60, check_model=lambda name, version: None)
    manager.pool = NoWorkers()
    return manager


@pytest.fixture
def app_client(tmp_path):
    """A TestClient for the endpoint app on ``tmp_path`` (no worker process is started)."""
    app = create_app(home=tmp_path, token=TOKEN, make_manager=lambda: _manager(tmp_path))
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def _create(client, name: str = "gw", config: dict | None = None, **extra):
    body = {"name": name, "config": config or {"served_entities": [entity("champion", 1)]}}
    return client.post("/api/2.0/serving-endpoints", json={**body, **extra})


def _settled(client, name: str = "gw") -> dict:
    """The endpoint once its deploy has ended (here it always fails: no workers)."""
    deadline = time.monotonic() + 10
    while True:
        ep = client.get(f"/api/2.0/serving-endpoints/{name}").json()
        if ep["state"]["config_update"] != "IN_PROGRESS" or time.monotonic() > deadline:
            return ep
        time.sleep(0.01)


def _refused(resp, field: str) -> str:
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["error_code"] == INVALID and field in body["message"], body
    assert "\n" not in body["message"]
    return body["message"]


def test_create_shows_ai_gateway_in_get_and_list(app_client):
    gateway = {"inference_table_config": TABLE, "rate_limits": [limit(5)]}
    created = _create(app_client, ai_gateway=gateway, description="churn, A/B")
    assert created.status_code == 200, created.text
    got = app_client.get("/api/2.0/serving-endpoints/gw").json()
    listed = app_client.get("/api/2.0/serving-endpoints").json()["endpoints"][0]
    for shown in (created.json(), got, listed):
        assert shown["ai_gateway"] == gateway and shown["description"] == "churn, A/B"
    # the official client reads it back as what was sent
    sent = AiGatewayConfig.from_dict(gateway)
    assert ServingEndpointDetailed.from_dict(got).ai_gateway == sent
    assert ServingEndpoint.from_dict(listed).ai_gateway == sent
    assert sent.rate_limits[0].key == AiGatewayRateLimitKey.ENDPOINT


def test_an_endpoint_without_a_gateway_shows_none(app_client):
    assert _create(app_client).status_code == 200
    got = app_client.get("/api/2.0/serving-endpoints/gw").json()
    assert "ai_gateway" not in got and "description" not in got


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"rate_limits": [limit(5)]}, "rate_limits"),
        ({"route_optimized": True}, "route_optimized"),
        ({"budget_policy_id": "bp-1"}, "budget_policy_id"),
        ({"email_notifications": {"on_update_failure": ["a@b.c"]}}, "email_notifications"),
        ({"email_notifications": {"on_failure": []}}, "on_failure"),
        (
            {"telemetry_config": {"enabled_telemetry_features": ["TELEMETRY_FEATURE_LOGS"]}},
            "telemetry_config",
        ),
        ({"description": 42}, "description"),
        ({"endpoint_url": "http://x"}, "endpoint_url"),
        ({"ai_gateway": {"guardrails": {"input": {"safety": True}}}}, "ai_gateway.guardrails"),
        (
            {"ai_gateway": {"usage_tracking_config": {"enabled": True}}},
            "ai_gateway.usage_tracking_config",
        ),
        ({"ai_gateway": {"fallback_config": {"enabled": True}}}, "ai_gateway.fallback_config"),
        ({"ai_gateway": {"rate_limits": [limit(5, key="user")]}}, "ai_gateway.rate_limits[0].key"),
        (
            {"ai_gateway": {"rate_limits": [limit(5, key="user_group", principal="g")]}},
            "ai_gateway.rate_limits[0].key",
        ),
        (
            {"ai_gateway": {"rate_limits": [limit(5, key="service_principal")]}},
            "ai_gateway.rate_limits[0].key",
        ),
        (
            {"ai_gateway": {"rate_limits": [limit(5, principal="a@b.c")]}},
            "ai_gateway.rate_limits[0].principal",
        ),
        (
            {"ai_gateway": {"rate_limits": [limit(5, tokens=1000)]}},
            "ai_gateway.rate_limits[0].tokens",
        ),
        (
            {"ai_gateway": {"rate_limits": [limit(5, renewal_period="hour")]}},
            "ai_gateway.rate_limits[0].renewal_period",
        ),
        ({"ai_gateway": {"rate_limits": [limit(-1)]}}, "ai_gateway.rate_limits[0].calls"),
        ({"ai_gateway": {"rate_limits": [limit(True)]}}, "ai_gateway.rate_limits[0].calls"),
        ({"ai_gateway": {"rate_limits": [limit(5), limit(9)]}}, "ai_gateway.rate_limits"),
        ({"ai_gateway": {"rate_limits": [limit(5, burst=2)]}}, "burst"),
        (
            {"ai_gateway": {"inference_table_config": {**TABLE, "catalog_name": None}}},
            "ai_gateway.inference_table_config.catalog_name",
        ),
        (
            {"ai_gateway": {"inference_table_config": {**TABLE, "enabled": "yes"}}},
            "ai_gateway.inference_table_config.enabled",
        ),
        ({"ai_gateway": {"inference_table_config": {**TABLE, "sampling": 0.5}}}, "sampling"),
        ({"ai_gateway": {"pii": {}}}, "pii"),
        ({"ai_gateway": ["inference_table_config"]}, "ai_gateway"),
    ],
)
def test_create_fields_not_carried_out_are_refused(app_client, extra, field):
    _refused(_create(app_client, **extra), field)
    assert app_client.get("/api/2.0/serving-endpoints").json()["endpoints"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"workload_type": "GPU_SMALL"}, "served_entities[0].workload_type"),
        ({"instance_profile_arn": "arn:aws:iam::1:instance-profile/x"}, "instance_profile_arn"),
        ({"min_provisioned_throughput": 0}, "min_provisioned_throughput"),
        ({"max_provisioned_throughput": 100}, "max_provisioned_throughput"),
        ({"min_provisioned_concurrency": 4}, "min_provisioned_concurrency"),
        ({"max_provisioned_concurrency": 8}, "max_provisioned_concurrency"),
        ({"provisioned_model_units": 50}, "provisioned_model_units"),
        ({"burst_scaling_enabled": True}, "burst_scaling_enabled"),
        ({"model_name": MODEL}, "model_name"),  # a ServedModelInput field in served_entities
        ({"gpu": 1}, "gpu"),
    ],
)
def test_served_entity_fields_not_carried_out_are_refused(app_client, change, field):
    config = {"served_entities": [{**entity("champion", 1), **change}]}
    _refused(_create(app_client, config=config), field)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (
            {"served_entities": [entity("a")], "auto_capture_config": capture("x")},
            "ai_gateway.inference_table_config",
        ),
        ({"served_entities": [entity("a")], "compute": "serverless"}, "compute"),
        ({"served_entities": [entity("a")], "name": "another"}, "config.name"),
        ({"served_entities": [entity("a")], "served_models": [entity("b")]}, "served_models"),
        (
            {
                "served_entities": [entity("a")],
                "traffic_config": {
                    "routes": [{"served_model_name": "a", "traffic_percentage": 100}],
                    "shadow": True,
                },
            },
            "shadow",
        ),
        (
            {
                "served_entities": [entity("a")],
                "traffic_config": {
                    "routes": [{"served_model_name": "a", "traffic_percentage": 100, "weight": 1}]
                },
            },
            "weight",
        ),
    ],
)
def test_config_fields_not_carried_out_are_refused(app_client, config, field):
    _refused(_create(app_client, config=config), field)
    assert _create(app_client).status_code == 200
    assert _settled(app_client)["state"]["config_update"] == "UPDATE_FAILED"
    _refused(app_client.put("/api/2.0/serving-endpoints/gw/config", json=config), field)


def test_fields_that_ask_for_nothing_are_accepted(app_client):
    resp = _create(
        app_client,
        config={
            "name": "gw",
            "served_entities": [{**entity("champion", 1), "workload_type": "CPU"}],
            "auto_capture_config": {"enabled": False},
        },
        route_optimized=False,
        email_notifications={},
        rate_limits=[],
        ai_gateway={
            "usage_tracking_config": {"enabled": False},
            "fallback_config": {"enabled": False},
        },
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["ai_gateway"] == {
        "usage_tracking_config": {"enabled": False},
        "fallback_config": {"enabled": False},
    }
    assert resp.json()["route_optimized"] is False


def test_legacy_auto_capture_is_refused_with_databricks_reason():
    config = {"served_entities": [entity("a")], "auto_capture_config": capture("x")}
    with pytest.raises(ApiError) as err:
        parse_config(config, endpoint="gw")
    message = err.value.message
    assert err.value.status == 400 and err.value.error_code == INVALID
    assert message.startswith("config.auto_capture_config: legacy inference tables can not be")
    assert "February 20, 2026" in message and "ai_gateway.inference_table_config" in message
    refuse_auto_capture({"enabled": False})  # disabling is what there is: no legacy tables


def test_put_ai_gateway_replaces_the_gateway(app_client):
    assert _create(app_client, ai_gateway={"inference_table_config": TABLE}).status_code == 200
    url = "/api/2.0/serving-endpoints/gw/ai-gateway"
    put = app_client.put(url, json={"inference_table_config": TABLE, "rate_limits": [limit(3)]})
    assert put.status_code == 200, put.text
    assert PutAiGatewayResponse.from_dict(put.json()) == PutAiGatewayResponse(
        inference_table_config=AiGatewayInferenceTableConfig(**TABLE),
        rate_limits=[
            AiGatewayRateLimit(
                calls=3,
                key=AiGatewayRateLimitKey.ENDPOINT,
                renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE,
            )
        ],
    )
    assert app_client.get("/api/2.0/serving-endpoints/gw").json()["ai_gateway"] == put.json()
    # the table's names change only once it is disabled (Databricks: "disable ... first")
    renamed = {**TABLE, "table_name_prefix": "gw2"}
    _refused(
        app_client.put(url, json={"inference_table_config": renamed}),
        "inference_table_config.table_name_prefix",
    )
    off = app_client.put(url, json={"inference_table_config": {"enabled": False}}).json()
    assert off == {"inference_table_config": {**TABLE, "enabled": False}}  # names kept
    on = app_client.put(url, json={"inference_table_config": renamed})
    assert on.json() == {"inference_table_config": renamed}
    assert app_client.put(url, json={}).json() == {}  # a PUT replaces the whole gateway
    assert "ai_gateway" not in app_client.get("/api/2.0/serving-endpoints/gw").json()
    _refused(app_client.put(url, json={"rate_limits": [limit(3, key="user")]}), "key")
    missing = app_client.put("/api/2.0/serving-endpoints/nowhere/ai-gateway", json={})
    assert missing.status_code == 404 and missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_rate_limit_answers_429_with_databricks_body(app_client):
    gateway = {"rate_limits": [limit(3)]}
    assert _create(app_client, ai_gateway=gateway).status_code == 200
    body = {"dataframe_records": [RECORD]}
    statuses = [
        app_client.post("/serving-endpoints/gw/invocations", json=body).status_code
        for _ in range(3)
    ]
    assert 429 not in statuses  # (503: no worker here; the real-server test sees 200s)
    over = app_client.post("/serving-endpoints/gw/invocations", json=body)
    assert over.status_code == 429
    assert over.json() == {
        "error_code": "REQUEST_LIMIT_EXCEEDED",
        "message": "REQUEST_LIMIT_EXCEEDED: Exceeded endpoint rate limit for gw: 3 calls per "
        "minute (ai_gateway.rate_limits, key endpoint). Retry in 60 s.",
    }
    # per served entity too: the limit is the endpoint's
    served = app_client.post("/serving-endpoints/gw/served-models/champion/invocations", json=body)
    assert served.status_code == 429
    put = app_client.put(
        "/api/2.0/serving-endpoints/gw/ai-gateway", json={"rate_limits": [limit(4)]}
    )
    assert put.status_code == 200
    after = [
        app_client.post("/serving-endpoints/gw/invocations", json=body).status_code
        for _ in range(2)
    ]
    assert after[0] != 429 and after[1] == 429  # the 3 calls still count against the new 4


def test_sliding_window_counts_the_last_60_seconds():
    window = CallWindow()
    assert [window.admit(3, t) for t in (0.0, 10.0, 20.0)] == [None, None, None]
    assert window.admit(3, 59.0) == pytest.approx(1.0)  # the call at 0 leaves at 60
    assert window.admit(3, 60.5) is None  # a fixed minute would still refuse until 60+60
    assert window.admit(3, 65.0) == pytest.approx(5.0)  # the call at 10 leaves at 70
    assert window.admit(3, 70.0) is None
    assert CallWindow().admit(0, 0.0) == WINDOW_SECONDS  # calls: 0 blocks every call


def test_gateway_json_is_what_the_sdk_reads():
    raw = {
        "inference_table_config": TABLE,
        "rate_limits": [limit(7)],
        "usage_tracking_config": {"enabled": False},
    }
    gateway = parse_gateway(raw, endpoint="gw")
    assert gateway.endpoint_calls == 7 and gateway.inference_table.payload_table == (
        "main.serving.gw_payload"
    )
    assert AiGatewayConfig.from_dict(gateway.to_json()).as_dict() == raw
    assert parse_gateway(gateway.to_json(), endpoint="gw") == gateway
    assert not Gateway() and Gateway().endpoint_calls is None


def test_update_config_keeps_the_gateway(app_client):
    gateway = {"inference_table_config": TABLE, "rate_limits": [limit(100)]}
    assert _create(app_client, ai_gateway=gateway).status_code == 200
    _settled(app_client)
    update = app_client.put(
        "/api/2.0/serving-endpoints/gw/config", json={"served_entities": [entity("challenger", 2)]}
    )
    assert update.status_code == 200, update.text
    assert update.json()["ai_gateway"] == gateway


def test_gateway_and_description_survive_a_restart(tmp_path):
    gateway = {"inference_table_config": TABLE, "rate_limits": [limit(5)]}
    app = create_app(home=tmp_path, token=TOKEN, make_manager=lambda: _manager(tmp_path))
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        assert _create(client, ai_gateway=gateway, description="d").status_code == 200
        before = client.get("/api/2.0/serving-endpoints/gw").json()
    app = create_app(home=tmp_path, token=TOKEN, make_manager=lambda: _manager(tmp_path))
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        after = client.get("/api/2.0/serving-endpoints/gw").json()
    assert after["ai_gateway"] == gateway and after["description"] == "d"
    assert (after["id"], after["creation_timestamp"]) == (
        before["id"],
        before["creation_timestamp"],
    )


def test_legacy_capture_of_an_old_kit_migrates_on_restore(tmp_path):
    folder = tmp_path / "serving" / "endpoints"
    folder.mkdir(parents=True)
    served = {
        "name": "champion",
        "entity_name": MODEL,
        "entity_version": "1",
        "workload_size": "Small",
        "scale_to_zero_enabled": False,
        "environment_vars": {},
    }
    for name in ("old-a", "old-b"):  # as a kit before the AI Gateway wrote them
        config = {
            "served_entities": [served],
            "traffic_config": {
                "routes": [{"served_model_name": "champion", "traffic_percentage": 100}]
            },
            "config_version": 2,
            "auto_capture_config": {
                "catalog_name": "main",
                "schema_name": "serving",
                "table_name_prefix": name.replace("-", "_"),
                "enabled": True,
            },
        }
        doc = {
            "name": name,
            "id": f"id-{name}",
            "creation_timestamp": 1,
            "last_updated_timestamp": 2,
            "tags": {},
            "config": config,
            "pending_config": None,
            "entity_created": {},
        }
        (folder / f"{name}.json").write_text(json.dumps(doc))
    _legacy_table(tmp_path, "main.serving.old_b_payload")  # old-b's legacy table is there
    app = create_app(home=tmp_path, token=TOKEN, make_manager=lambda: _manager(tmp_path))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    # a handler of the test's own on the logger: another test of this process may have set
    # "mdk.serving" not to propagate (the endpoint's logging setup), which caplog relies on
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("mdk.serving")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        with TestClient(app, headers=headers) as c:
            got = c.get("/api/2.0/serving-endpoints/old-a").json()
            got_b = c.get("/api/2.0/serving-endpoints/old-b").json()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert got["ai_gateway"] == {"inference_table_config": {**TABLE, "table_name_prefix": "old_a"}}
    assert got["config"]["config_version"] == 2 and "auto_capture_config" not in got["config"]
    moved = [r for r in records if "auto_capture_config" in r.getMessage()]
    assert len(moved) == 1 and "old-a, old-b" in moved[0].getMessage()  # logged once
    # old-b keeps its table's names, with capture off: its rows would not fit the legacy table
    assert got_b["ai_gateway"]["inference_table_config"]["enabled"] is False
    off = [r.getMessage() for r in records if "inference table off" in r.getMessage()]
    assert len(off) == 1 and "old-b" in off[0] and "main.serving.old_b_payload" in off[0]
    saved = json.loads((folder / "old-b.json").read_text())
    assert "auto_capture_config" not in saved["config"]
    assert saved["ai_gateway"]["inference_table_config"]["table_name_prefix"] == "old_b"


# -- a real server, through the official client (the done-when) -------------------
@pytest.mark.timeout(240)
def test_ai_gateway_through_the_sdk(server):
    """create with ai_gateway: get shows both; call N+1 within the minute is a 429;
    put_ai_gateway changes both; auto_capture_config gets Databricks' refusal."""
    name, calls = "gw-sdk", 3
    w = server.client()
    # the SDK retries a 429 until its retry timeout (as against Databricks): keep it short
    quick = WorkspaceClient(
        config=Config(host=server.url, token=server.token, auth_type="pat", retry_timeout_seconds=1)
    )
    served = ServedEntityInput(
        entity_name=MODEL, entity_version="1", workload_size="Small", scale_to_zero_enabled=False
    )
    gateway = AiGatewayConfig(
        inference_table_config=AiGatewayInferenceTableConfig(
            catalog_name="main", schema_name="serving", table_name_prefix="gw_sdk", enabled=True
        ),
        rate_limits=[
            AiGatewayRateLimit(
                calls=calls,
                key=AiGatewayRateLimitKey.ENDPOINT,
                renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE,
            )
        ],
    )
    with pytest.raises(InvalidParameterValue, match=r"ai_gateway\.inference_table_config"):
        w.serving_endpoints.create(
            name=name,
            config=EndpointCoreConfigInput(
                name=name,
                served_entities=[served],
                auto_capture_config=AutoCaptureConfigInput(
                    catalog_name="main", schema_name="serving", enabled=True
                ),
            ),
        )
    w.serving_endpoints.create_and_wait(
        name=name,
        config=EndpointCoreConfigInput(name=name, served_entities=[served]),
        ai_gateway=gateway,
        timeout=timedelta(seconds=120),
    )
    try:
        assert w.serving_endpoints.get(name).ai_gateway == gateway
        assert [e.ai_gateway for e in w.serving_endpoints.list() if e.name == name] == [gateway]

        for _ in range(calls):
            assert quick.serving_endpoints.query(name, dataframe_records=[RECORD]).predictions
        with pytest.raises(TimeoutError) as err:  # the SDK gave up retrying the 429
            quick.serving_endpoints.query(name, dataframe_records=[RECORD])
        cause = err.value.__cause__
        assert isinstance(cause, TooManyRequests), repr(cause)
        assert cause.error_code == "REQUEST_LIMIT_EXCEEDED"

        more = [
            AiGatewayRateLimit(
                calls=calls + 2,
                key=AiGatewayRateLimitKey.ENDPOINT,
                renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE,
            )
        ]
        off = AiGatewayInferenceTableConfig(
            catalog_name="main", schema_name="serving", table_name_prefix="gw_sdk", enabled=False
        )
        put = w.serving_endpoints.put_ai_gateway(name, inference_table_config=off, rate_limits=more)
        assert put.inference_table_config == off and put.rate_limits == more
        got = w.serving_endpoints.get(name).ai_gateway
        assert (got.inference_table_config, got.rate_limits) == (off, more)
        assert quick.serving_endpoints.query(name, dataframe_records=[RECORD]).predictions

        with pytest.raises(InvalidParameterValue, match=r"ai_gateway\.inference_table_config"):
            w.serving_endpoints.update_config(
                name,
                served_entities=[served],
                auto_capture_config=AutoCaptureConfigInput(
                    catalog_name="main", schema_name="serving", enabled=True
                ),
            )
        assert w.serving_endpoints.get(name).ai_gateway.rate_limits == more
    finally:
        w.serving_endpoints.delete(name)


def _legacy_table(home, name: str) -> None:
    """A table with the legacy inference table's columns, as an older kit left it."""
    import pyarrow as pa

    from recipes import tables

    legacy = pa.table(
        {
            "databricks_request_id": ["r1"],
            "timestamp_ms": [1],
            "request_metadata": [[("model_name", "m")]],
        },
        schema=pa.schema(
            [
                ("databricks_request_id", pa.string()),
                ("timestamp_ms", pa.int64()),
                ("request_metadata", pa.map_(pa.string(), pa.string())),
            ]
        ),
    )
    tables.append(name, legacy, home=home)


def test_a_table_of_other_columns_at_the_name_is_refused_in_one_line(tmp_path, app_client):
    """An enabled inference table where a legacy table of that name exists: a 400 naming the
    table and the fix, on create and on put_ai_gateway, before any row could be lost."""
    _legacy_table(tmp_path, "main.serving.gw_payload")
    body = {
        "name": "gw-old",
        "config": parse_config_body(),
        "ai_gateway": {"inference_table_config": TABLE},
    }
    resp = app_client.post("/api/2.0/serving-endpoints", json=body)
    assert resp.status_code == 400 and resp.json()["error_code"] == INVALID
    message = resp.json()["message"]
    assert "main.serving.gw_payload" in message and "legacy" in message and "\n" not in message
    assert "DROP TABLE main.serving.gw_payload" in message
    ok = app_client.post("/api/2.0/serving-endpoints", json={**body, "ai_gateway": {}})
    assert ok.status_code == 200, ok.text
    put = app_client.put(
        "/api/2.0/serving-endpoints/gw-old/ai-gateway", json={"inference_table_config": TABLE}
    )
    assert put.status_code == 400 and "main.serving.gw_payload" in put.json()["message"]
    new_prefix = {**TABLE, "table_name_prefix": "gw_new"}
    put = app_client.put(
        "/api/2.0/serving-endpoints/gw-old/ai-gateway", json={"inference_table_config": new_prefix}
    )
    assert put.status_code == 200, put.text


def parse_config_body() -> dict:
    return {"served_entities": [entity("champion", 1)]}
