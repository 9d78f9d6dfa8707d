"""03_serve executed with papermill against a real serving endpoint, beyond the story's
defaults (tests/notebooks/test_story.py); asserts on the endpoint's state."""

from __future__ import annotations

import uuid

import pytest

from recipes.serving.client import workspace_client


def _raw(w, name: str) -> dict:
    return w.api_client.do("GET", f"/api/2.0/serving-endpoints/{name}")


@pytest.fixture
def endpoint_name():
    return f"nb-serve-{uuid.uuid4().hex[:8]}"


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
