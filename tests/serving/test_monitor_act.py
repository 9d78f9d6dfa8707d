"""The monitor acting on a real endpoint: rollback and promotion through the SDK, and the
A/B helpers it relies on (ab_config, ab_gateway, ensure_endpoint with its AI Gateway,
payload_table, entity_versions, update_routes, and bootstrap.ensure_ab_endpoint)."""

from __future__ import annotations

import pytest

from recipes import bootstrap, registry
from recipes.errors import KitError, NotFoundError
from recipes.monitoring import Verdict, carry_out
from recipes.serving import deploy, traffic
from recipes.serving.client import Connection
from tests.serving.conftest import MODEL


@pytest.fixture(scope="module")
def server(shared_server):
    """The session's shared server: this module only makes endpoints of names of its own."""
    return shared_server


@pytest.fixture
def ab(server):
    w = server.client()
    name = "monitor-ab"
    deploy.remove_endpoint(w, name)
    config = deploy.ab_config(name, MODEL, 1, 2, challenger_traffic=10)
    gateway = deploy.ab_gateway(name, schema="serving")
    endpoint = deploy.ensure_endpoint(w, name, config, ai_gateway=gateway)
    yield w, name, endpoint
    deploy.remove_endpoint(w, name)


def test_ab_endpoint_helpers(ab):
    w, name, endpoint = ab
    assert deploy.entity_versions(endpoint) == {"champion": 1, "challenger": 2}
    assert deploy.payload_table(endpoint) == "main.serving.monitor_ab_payload"
    assert traffic.routes(endpoint) == {"champion": 90, "challenger": 10}
    again = bootstrap.ensure_ab_endpoint(w, name, MODEL, challenger_traffic=50)
    assert traffic.routes(again) == {"champion": 90, "challenger": 10}  # left as it was
    with pytest.raises(NotFoundError, match="no served entity 'v9'.*'champion', 'challenger'"):
        deploy.update_routes(w, name, {"champion": 50, "v9": 50})


def test_ensure_ab_endpoint_creates_it_with_the_versions_06s_parameters_pin(server, trained):
    """06 with champion_version=2, challenger_version=1 (the worse version as challenger, the
    rollback case; its verdict on that traffic: tests/monitoring/test_verdict.py)."""
    w, name = server.client(), "monitor-ab-pinned"
    deploy.remove_endpoint(w, name)
    try:
        made = bootstrap.ensure_ab_endpoint(
            w, name, MODEL, champion_version=2, challenger_version=1, challenger_traffic=30
        )
        assert deploy.entity_versions(made) == {"champion": 2, "challenger": 1}
        assert traffic.routes(made) == {"champion": 70, "challenger": 30}
        assert deploy.payload_table(made) == "main.mdk.monitor_ab_pinned_payload"
        assert registry.aliases(trained) == {}  # pinned versions: no alias is made or moved
    finally:
        deploy.remove_endpoint(w, name)


def test_rollback_sends_all_traffic_to_the_champion(ab, trained):
    w, name, _ = ab
    action = carry_out(Verdict("rollback", "worse", champion="1", challenger="2"), w, name, trained)
    now = w.serving_endpoints.get(name)
    assert action.changed and traffic.routes(now) == {"champion": 100, "challenger": 0}
    assert deploy.entity_versions(now) == {"champion": 1, "challenger": 2}
    assert deploy.payload_table(now) == "main.serving.monitor_ab_payload"  # capture kept
    assert registry.aliases(trained) == {}


def test_promotion_moves_the_alias_and_the_traffic(ab, trained):
    w, name, _ = ab
    registry.set_alias(trained, "champion", 1)
    verdict = Verdict("promote_challenger", "better", champion="1", challenger="2")
    action = carry_out(verdict, w, name, trained)
    now = w.serving_endpoints.get(name)
    assert action.changed and traffic.routes(now) == {"champion": 0, "challenger": 100}
    assert registry.aliases(trained)["champion"] == 2
    answered = traffic.send(Connection(w.config.host, w.config.token), name, 20)
    assert answered.failed == 0 and set(answered.split().index) == {"challenger"}


def test_the_gateway_is_put_on_an_existing_endpoint_only_when_asked(server):
    from databricks.sdk.service.serving import (
        AiGatewayConfig,
        AiGatewayRateLimit,
        AiGatewayRateLimitKey,
        AiGatewayRateLimitRenewalPeriod,
    )

    w = server.client()
    name = "monitor-nocapture"
    deploy.remove_endpoint(w, name)
    config = deploy.ab_config(name, MODEL, 1, 2)
    try:
        endpoint = deploy.ensure_endpoint(w, name, config)  # no gateway asked: none made
        assert endpoint.ai_gateway is None
        with pytest.raises(KitError, match="has no inference table.*put_ai_gateway"):
            deploy.payload_table(endpoint)
        endpoint = deploy.ensure_endpoint(w, name, config)  # updated in place: still none
        assert endpoint.ai_gateway is None
        asked = deploy.ab_gateway(name, schema="serving")
        endpoint = deploy.ensure_endpoint(w, name, config, ai_gateway=asked)  # put_ai_gateway
        assert deploy.payload_table(endpoint) == "main.serving.monitor_nocapture_payload"
        assert endpoint.ai_gateway.inference_table_config == asked.inference_table_config
        # a table already on is kept (moving where an endpoint logs is the user's call);
        # a rate limit asked for is added beside it
        limit = AiGatewayRateLimit(
            calls=1000,
            key=AiGatewayRateLimitKey.ENDPOINT,
            renewal_period=AiGatewayRateLimitRenewalPeriod.MINUTE,
        )
        other = deploy.ab_gateway(name, schema="elsewhere")
        other.rate_limits = [limit]
        endpoint = deploy.ensure_endpoint(w, name, config, ai_gateway=other)
        assert deploy.payload_table(endpoint) == "main.serving.monitor_nocapture_payload"
        assert endpoint.ai_gateway.rate_limits == [limit]
        again = deploy.ensure_gateway(w, endpoint, AiGatewayConfig(rate_limits=[limit]))
        assert again is endpoint  # nothing lacking: no put
        assert w.serving_endpoints.get(name).ai_gateway == endpoint.ai_gateway
    finally:
        deploy.remove_endpoint(w, name)


def test_send_given_records_reaches_the_inference_table_with_their_ids(ab, server):
    import json

    from recipes import data
    from recipes.errors import ParameterError

    w, name, endpoint = ab
    conn = Connection(w.config.host, w.config.token)
    frame = data.monitoring_traffic(12)
    sent = traffic.send(conn, name, 12, records=data.request_records(frame), tag="ids")
    assert sent.failed == 0
    rows = traffic.captured_rows(
        deploy.payload_table(endpoint), sent.frame["client_request_id"], home=server.home
    )
    ids = sorted(json.loads(r)["dataframe_records"][0]["customer_id"] for r in rows["request"])
    assert ids == sorted(frame[data.KEY])  # each record once, its id kept for the labels
    with pytest.raises(ParameterError, match="non-empty list of dicts"):
        traffic.send(conn, name, 3, records=[])
