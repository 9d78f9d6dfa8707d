"""TrafficPanel, driven headless against a fake ``serving_endpoints`` API that speaks real SDK types.

The fake parses and returns ``ServingEndpointDetailed`` objects exactly as the SDK would from
the REST answers, and applies a config update the way the server does: the new config waits
in ``pending_config`` (``IN_PROGRESS``) until the waiter's ``result()`` swaps it in. The
endpoint's AI Gateway (its inference table) is endpoint state, which an update keeps, and the
legacy ``auto_capture_config`` is refused, as Databricks refuses it since 2026-02-20.
"""

from __future__ import annotations

import copy
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.config import Config
from databricks.sdk.errors import InvalidParameterValue, ResourceDoesNotExist
from databricks.sdk.service.serving import (
    AiGatewayConfig,
    Route,
    ServedEntityInput,
    ServingEndpointDetailed,
    TrafficConfig,
)

from recipes.errors import NotFoundError, ParameterError
from recipes.stack import free_port
from widgets.traffic_panel import TrafficPanel

GATEWAY = {
    "inference_table_config": {
        "catalog_name": "main",
        "schema_name": "mdk",
        "table_name_prefix": "churn",
        "enabled": True,
    }
}
LEGACY = (
    "auto_capture_config: legacy inference tables can not be enabled on new or existing "
    "model serving endpoints. Use ai_gateway.inference_table_config instead."
)


def entity(name: str, version: str, **extra) -> dict:
    return {
        "name": name,
        "entity_name": "churn-predictor",
        "entity_version": version,
        "workload_size": "Small",
        "scale_to_zero_enabled": True,
        "state": {"deployment": "DEPLOYMENT_READY"},
        "creator": "me",
        **extra,
    }


def detail(*, champion: int = 90, gateway: bool = True, extra: tuple = ()) -> dict:
    """A ``GET /api/2.0/serving-endpoints/churn`` answer: champion v1, challenger v2, and an
    AI Gateway inference table (``gateway``)."""
    config = {
        "config_version": 1,
        "served_entities": [entity("champion", "1"), entity("challenger", "2"), *extra],
        "traffic_config": {
            "routes": [
                {"served_model_name": "champion", "traffic_percentage": champion},
                {"served_model_name": "challenger", "traffic_percentage": 100 - champion},
            ]
        },
    }
    answer = {
        "name": "churn",
        "id": "e1",
        "state": {"ready": "READY", "config_update": "NOT_UPDATING"},
        "config": config,
    }
    if gateway:
        answer["ai_gateway"] = copy.deepcopy(GATEWAY)
    return answer


class FakeWait:
    """Like the SDK's ``Wait``: ``response`` is the PUT answer, ``result()`` waits for the swap."""

    def __init__(self, api: FakeServingEndpoints, response: ServingEndpointDetailed):
        self.api, self.response = api, response

    def result(self, timeout: timedelta) -> ServingEndpointDetailed:
        self.api.timeouts.append(timeout)
        pending = self.api.detail.pop("pending_config")
        self.api.detail["config"].update(pending)
        self.api.detail["state"]["config_update"] = "NOT_UPDATING"
        return self.api.get("churn")


class FakeServingEndpoints:
    def __init__(self, answer: dict, error: Exception | None = None, get_error=None):
        self.detail, self.error, self.get_error = answer, error, get_error
        self.instant = False
        self.gets: list[str] = []
        self.updates: list[dict] = []
        self.timeouts: list[timedelta] = []

    def get(self, name: str) -> ServingEndpointDetailed:
        self.gets.append(name)
        if self.get_error is not None:
            raise self.get_error
        return ServingEndpointDetailed.from_dict(copy.deepcopy(self.detail))

    def update_config(self, **kwargs) -> FakeWait:
        self.updates.append(kwargs)
        if self.error is not None:
            raise self.error
        if kwargs.get("auto_capture_config") is not None:
            raise InvalidParameterValue(LEGACY, error_code="INVALID_PARAMETER_VALUE")
        body = {
            "served_entities": [e.as_dict() for e in kwargs["served_entities"]],
            "traffic_config": kwargs["traffic_config"].as_dict(),
        }
        if self.instant:  # a traffic-only change: the server swaps at once
            self.detail["config"].update(config_version=2, **body)
        else:
            self.detail["pending_config"] = {"config_version": 2, "start_time": 1, **body}
            self.detail["state"]["config_update"] = "IN_PROGRESS"
        return FakeWait(self, ServingEndpointDetailed.from_dict(copy.deepcopy(self.detail)))


def fake_client(answer: dict | None = None, **kw) -> SimpleNamespace:
    return SimpleNamespace(serving_endpoints=FakeServingEndpoints(answer or detail(), **kw))


def sent_routes(api: FakeServingEndpoints, i: int = -1) -> list[tuple[str, int]]:
    routes = api.updates[i]["traffic_config"].routes
    return [(r.served_model_name, r.traffic_percentage) for r in routes]


def live_routes(endpoint: ServingEndpointDetailed) -> list[tuple[str, int]]:
    return [
        (r.served_model_name, r.traffic_percentage) for r in endpoint.config.traffic_config.routes
    ]


@pytest.fixture
def client():
    return fake_client()


@pytest.fixture
def panel(client):
    return TrafficPanel(client, "churn")


def test_builds_without_calling_the_endpoint(panel, client):
    assert client.serving_endpoints.gets == [] and client.serving_endpoints.updates == []
    slider = panel.challenger_pct
    assert (slider.value, slider.min, slider.max, slider.step) == (0, 0, 100, 1)
    assert slider.description == "challenger %"
    assert panel.champion_pct.value == 100 and panel.champion_pct.disabled
    assert (panel.result, panel.endpoint, panel.error, panel.status.value) == (None, None, None, "")
    assert "not loaded yet" in panel.view.value
    assert panel.view in panel.children and panel.status in panel.children


def test_the_share_labels_take_their_own_width(panel):
    """ipywidgets' default label width (80px) cut "challenger %" to "challenge…" in JupyterLab."""
    for field in (panel.challenger_pct, panel.champion_pct):
        assert field.style.description_width == "initial", field.description


def test_champion_share_follows_the_slider(panel):
    for challenger, champion in [(25, 75), (100, 0), (0, 100), (1, 99)]:
        panel.challenger_pct.value = challenger
        assert panel.champion_pct.value == champion


def test_refresh_renders_live_routes_and_moves_the_slider(panel, client):
    endpoint = panel.refresh()
    assert client.serving_endpoints.gets == ["churn"] and endpoint is panel.endpoint
    assert (panel.challenger_pct.value, panel.champion_pct.value) == (10, 90)
    view = panel.view.value
    assert "ready: READY" in view and "config_update: NOT_UPDATING" in view and "v1" in view
    assert "<td>champion</td><td>churn-predictor</td><td>1</td><td>90</td>" in view
    assert "<td>challenger</td><td>churn-predictor</td><td>2</td><td>10</td>" in view
    assert "DEPLOYMENT_READY" in view and "pending" not in view
    assert "color: green" in panel.status.value and "champion 90% / challenger 10%" in (
        panel.status.value
    )
    assert panel.result is None and client.serving_endpoints.updates == []


def test_apply_rebuilds_the_entities_and_the_gateway_stays(panel, client):
    api = client.serving_endpoints
    result = panel.apply(30)
    [sent] = api.updates
    assert sent["name"] == "churn"
    assert sent["served_entities"] == [
        ServedEntityInput(
            name="champion",
            entity_name="churn-predictor",
            entity_version="1",
            workload_size="Small",
            scale_to_zero_enabled=True,
        ),
        ServedEntityInput(
            name="challenger",
            entity_name="churn-predictor",
            entity_version="2",
            workload_size="Small",
            scale_to_zero_enabled=True,
        ),
    ]
    assert sent["traffic_config"] == TrafficConfig(
        routes=[
            Route(served_model_name="champion", traffic_percentage=70),
            Route(served_model_name="challenger", traffic_percentage=30),
        ]
    )
    assert sum(r.traffic_percentage for r in sent["traffic_config"].routes) == 100
    assert "auto_capture_config" not in sent  # refused since 2026-02-20; the gateway stays
    assert api.timeouts == [timedelta(minutes=5)]
    assert isinstance(result, ServingEndpointDetailed) and result is panel.result
    assert live_routes(result) == [("champion", 70), ("challenger", 30)]
    assert result.config.config_version == 2 and panel.error is None
    assert result.ai_gateway == AiGatewayConfig.from_dict(GATEWAY)
    assert "<td>70</td>" in panel.view.value and "pending" not in panel.view.value
    assert "color: green" in panel.status.value
    assert "Applied to 'churn': champion 70% / challenger 30%." in panel.status.value
    assert (panel.challenger_pct.value, panel.champion_pct.value) == (30, 70)


def test_apply_without_a_gateway_and_with_a_third_entity():
    client = fake_client(detail(gateway=False, extra=(entity("shadow", "3"),)))
    TrafficPanel(client, "churn").apply(0)
    [sent] = client.serving_endpoints.updates
    assert set(sent) == {"name", "served_entities", "traffic_config"}
    assert [e.name for e in sent["served_entities"]] == ["champion", "challenger", "shadow"]
    assert sent_routes(client.serving_endpoints) == [("champion", 100), ("challenger", 0)]


def test_buttons_click(panel, client):
    api = client.serving_endpoints
    panel.refresh_button.click()
    assert api.gets == ["churn"] and panel.challenger_pct.value == 10
    panel.challenger_pct.value = 50
    panel.apply_button.click()
    assert sent_routes(api) == [("champion", 50), ("challenger", 50)]
    assert live_routes(panel.result) == [("champion", 50), ("challenger", 50)]
    assert panel.apply() is panel.result  # no argument: the slider's value again
    assert sent_routes(api) == [("champion", 50), ("challenger", 50)] and len(api.updates) == 2


def test_custom_entity_names():
    client = fake_client(detail(extra=(entity("v3", "3"),)))
    panel = TrafficPanel(client, "churn", champion="challenger", challenger="v3")
    panel.apply(5)
    assert sent_routes(client.serving_endpoints) == [("challenger", 95), ("v3", 5)]


def test_update_error_is_one_red_line_and_reraised_on_request():
    message = "Traffic percentages must sum to 100,\n  got 110 for <endpoint> 'churn'."
    client = fake_client(error=InvalidParameterValue(message))
    panel = TrafficPanel(client, "churn")
    assert panel.apply(10) is None
    expected = "InvalidParameterValue: Traffic percentages must sum to 100, got 110 for <endpoint> 'churn'."
    assert panel.error == expected
    assert "color: red" in panel.status.value and "&lt;endpoint&gt;" in panel.status.value
    assert "<endpoint>" not in panel.status.value and panel.result is None
    with pytest.raises(InvalidParameterValue, match="must sum to 100"):
        panel.apply(raise_errors=True)
    client.serving_endpoints.error = None  # the next success clears the error
    panel.apply()
    assert panel.error is None and "color: green" in panel.status.value


def test_refresh_error_is_shown():
    missing = ResourceDoesNotExist("Endpoint with name 'churn' does not exist.")
    panel = TrafficPanel(fake_client(get_error=missing), "churn")
    assert panel.refresh() is None
    assert panel.error == "ResourceDoesNotExist: Endpoint with name 'churn' does not exist."
    assert "color: red" in panel.status.value
    with pytest.raises(ResourceDoesNotExist):
        panel.refresh(raise_errors=True)
    panel.apply_button.click()
    assert panel.error.startswith("ResourceDoesNotExist") and panel.result is None


def test_missing_entity_is_refused_naming_the_entities(client):
    panel = TrafficPanel(client, "churn", challenger="v3")
    panel.apply(20)
    assert panel.error == (
        "Endpoint 'churn' has no served entity 'v3': it has 'champion', 'challenger'; "
        "pass champion=/challenger= with those names."
    )
    assert "color: red" in panel.status.value and client.serving_endpoints.updates == []
    with pytest.raises(NotFoundError, match="no served entity 'v3'"):
        panel.apply(raise_errors=True)
    both = TrafficPanel(client, "churn", champion="a", challenger="b")
    both.apply()
    assert "no served entity 'a' or 'b'" in both.error


def test_no_wait_leaves_the_update_pending_and_refresh_shows_it(client):
    api = client.serving_endpoints
    panel = TrafficPanel(client, "churn", wait=False)
    result = panel.apply(40)
    assert api.timeouts == [] and result is panel.result
    assert result.pending_config.traffic_config.routes[1].traffic_percentage == 40
    assert "in progress" in panel.status.value and panel.challenger_pct.value == 40
    view = panel.view.value
    assert "config_update: IN_PROGRESS" in view and "pending config (v2)" in view
    live, pending = view.split("pending config")
    assert "<td>90</td>" in live and "<td>60</td>" in pending and "<td>40</td>" in pending
    panel.refresh()
    assert "pending config (v2)" in panel.view.value
    assert panel.challenger_pct.value == 10  # the live share until the swap


def test_no_wait_when_the_server_swaps_at_once(client):
    client.serving_endpoints.instant = True
    panel = TrafficPanel(client, "churn", wait=False)
    panel.apply(20)
    assert "Applied to 'churn': champion 80% / challenger 20%." in panel.status.value
    assert "pending" not in panel.view.value and "<td>20</td>" in panel.view.value


def test_endpoint_still_being_created():
    answer = detail()
    answer["pending_config"] = answer.pop("config")
    answer["state"] = {"ready": "NOT_READY", "config_update": "IN_PROGRESS"}
    client = fake_client(answer)
    panel = TrafficPanel(client, "churn")
    panel.refresh()
    assert "no live config yet" in panel.view.value and "pending config (v1)" in panel.view.value
    assert "ready: NOT_READY" in panel.view.value and panel.challenger_pct.value == 10
    panel.apply()
    assert "has no live config yet" in panel.error and client.serving_endpoints.updates == []


@pytest.mark.parametrize("bad", [101, -1, True, 10.5, "10"])
def test_apply_refuses_a_bad_share(panel, client, bad):
    with pytest.raises(ParameterError, match="integer from 0 to 100"):
        panel.apply(bad)
    assert client.serving_endpoints.gets == [] and panel.challenger_pct.value == 0


def test_champion_and_challenger_must_differ(client):
    with pytest.raises(ParameterError, match="both 'champion'"):
        TrafficPanel(client, "churn", challenger="champion")


def test_real_workspace_client_is_not_called_until_used():
    """A real SDK client on a closed port: the panel makes no call until refreshed.

    Note: databricks-sdk 0.162 itself probes ``/.well-known/databricks-config`` while
    building ``Config`` (here about ``retry_timeout_seconds`` plus one back-off sleep on a
    refused port); the kit's ``recipes.serving.client.workspace_client`` skips that probe.
    """
    host = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    ws = WorkspaceClient(
        config=Config(host=host, token="x", auth_type="pat", retry_timeout_seconds=1)
    )
    assert time.monotonic() - started < 10
    started = time.monotonic()
    panel = TrafficPanel(ws, "churn")
    assert time.monotonic() - started < 1 and panel.endpoint is None
    assert panel.refresh() is None  # nothing listens: the error is shown, not raised
    assert panel.error.startswith("TimeoutError: Timed out after") and "color: red" in (
        panel.status.value
    )
