"""03_serve executed with papermill against a real serving endpoint, beyond the story's
defaults (tests/notebooks/test_story.py); asserts on the endpoint's state: a rerun updates
the endpoint in place, and only ``replace=True`` deletes it."""

from __future__ import annotations

import uuid

import pytest

from recipes.serving.client import workspace_client
from tests.notebooks.nbtools import outputs_text


def _raw(w, name: str) -> dict:
    return w.api_client.do("GET", f"/api/2.0/serving-endpoints/{name}")


@pytest.fixture
def endpoint_name():
    return f"nb-serve-{uuid.uuid4().hex[:8]}"


@pytest.mark.notebook
def test_serve_a_pinned_version_without_scale_to_zero(
    run_notebook, served, model_name, endpoint_name
):
    run_notebook(
        "03_serve",
        model_name=model_name,
        endpoint_name=endpoint_name,
        entity_version=2,
        scale_to_zero_enabled=False,
        idle_seconds=1,
    )
    w = workspace_client(start=False)
    [entity] = _raw(w, endpoint_name)["config"]["served_entities"]
    assert entity["entity_version"] == "2" and entity["scale_to_zero_enabled"] is False
    assert entity["mdk"]["cold_starts"] == 0 and entity["mdk"]["worker_pid"] is not None
    first = _raw(w, endpoint_name)
    # a rerun updates the endpoint in place (update_config): same id, a new config version
    nb = run_notebook(
        "03_serve",
        model_name=model_name,
        endpoint_name=endpoint_name,
        entity_version=1,
        scale_to_zero_enabled=False,
        idle_seconds=1,
    )
    updated = _raw(w, endpoint_name)
    [entity] = updated["config"]["served_entities"]
    assert entity["entity_version"] == "1"
    assert updated["id"] == first["id"]
    assert updated["config"]["config_version"] == first["config"]["config_version"] + 1
    assert "existing endpoint: updated in place" in outputs_text(nb)
    # replace=True, and only then, deletes it and creates it afresh
    nb = run_notebook(
        "03_serve",
        model_name=model_name,
        endpoint_name=endpoint_name,
        entity_version=2,
        scale_to_zero_enabled=False,
        idle_seconds=1,
        replace=True,
    )
    replaced = _raw(w, endpoint_name)
    assert replaced["id"] != first["id"]
    assert replaced["config"]["served_entities"][0]["entity_version"] == "2"
    assert "new endpoint: created" in outputs_text(nb)
