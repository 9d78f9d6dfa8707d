"""03_serve executed with papermill against a real serving endpoint; asserts on its state."""

from __future__ import annotations

import uuid

import papermill
import pytest

from recipes import registry
from recipes.pictures import png_size
from recipes.serving.client import workspace_client
from tests.notebooks.nbtools import outputs_text, png_outputs


def _raw(w, name: str) -> dict:
    return w.api_client.do("GET", f"/api/2.0/serving-endpoints/{name}")


@pytest.fixture
def endpoint_name():
    return f"nb-serve-{uuid.uuid4().hex[:8]}"


@pytest.mark.notebook
def test_serve_champion_scales_to_zero_and_cold_starts(run_notebook, served, model_name,
                                                       endpoint_name):  # fmt: skip
    nb = run_notebook("03_serve", model_name=model_name, endpoint_name=endpoint_name,
                      idle_seconds=2)  # fmt: skip
    champion = registry.aliases(model_name)["champion"]
    w = workspace_client(start=False)
    doc = _raw(w, endpoint_name)
    assert doc["state"] == {"ready": "READY", "config_update": "NOT_UPDATING"}
    [entity] = doc["config"]["served_entities"]
    assert (entity["entity_name"], entity["entity_version"]) == (model_name, str(champion))
    assert entity["scale_to_zero_enabled"] is True
    assert entity["mdk"]["cold_starts"] == 1 and entity["mdk"]["last_cold_start_ms"] > 0
    assert {t["key"]: t["value"] for t in doc["tags"]} == {"mdk_idle_seconds": "2"}
    text = outputs_text(nb)
    assert "200 {'predictions': [" in text and "same answer both ways: True" in text
    assert "400 {'error_code': 'BAD_REQUEST'" in text
    assert "scaled_to_zero=True status=200" in text
    [picture] = png_outputs(nb)  # warm vs cold latency, drawn
    assert min(png_size(picture)) > 100


@pytest.mark.notebook
def test_serve_a_pinned_version_without_scale_to_zero(run_notebook, served, model_name,
                                                      endpoint_name):  # fmt: skip
    run_notebook("03_serve", model_name=model_name, endpoint_name=endpoint_name,
                 entity_version=2, scale_to_zero_enabled=False, idle_seconds=1)  # fmt: skip
    w = workspace_client(start=False)
    [entity] = _raw(w, endpoint_name)["config"]["served_entities"]
    assert entity["entity_version"] == "2" and entity["scale_to_zero_enabled"] is False
    assert entity["mdk"]["cold_starts"] == 0 and entity["mdk"]["worker_pid"] is not None
    # a rerun replaces the endpoint instead of failing on the existing name
    run_notebook("03_serve", model_name=model_name, endpoint_name=endpoint_name,
                 entity_version=1, scale_to_zero_enabled=False, idle_seconds=1)  # fmt: skip
    [entity] = _raw(w, endpoint_name)["config"]["served_entities"]
    assert entity["entity_version"] == "1"


@pytest.mark.notebook
def test_bad_parameters_fail_in_the_first_check(run_notebook, served, endpoint_name):
    with pytest.raises(papermill.PapermillExecutionError, match="at least 1"):
        run_notebook("03_serve", endpoint_name=endpoint_name, idle_seconds=0)
