"""04_ab_split executed with papermill on its own: the split it leaves in the inference table
(the default 90/10 after 01-03: tests/notebooks/test_story.py)."""

from __future__ import annotations

import uuid

import pytest

from recipes.pictures import png_size
from recipes.serving import traffic
from recipes.serving.client import workspace_client
from tests.notebooks.nbtools import outputs_text, payload_by_entity, png_outputs


@pytest.mark.notebook
@pytest.mark.parametrize("challenger_traffic", [50])  # 10, the default: test_story.py
def test_observed_split_matches_the_routes(run_notebook, served, model_name, challenger_traffic):
    endpoint = f"nb-ab-{uuid.uuid4().hex[:8]}"
    nb = run_notebook(
        "04_ab_split",
        model_name=model_name,
        endpoint_name=endpoint,
        challenger_traffic=challenger_traffic,
        n_requests=400,
    )
    w = workspace_client(start=False)
    got = w.serving_endpoints.get(endpoint)
    assert traffic.routes(got) == {"champion": 50, "challenger": 50}
    table = got.ai_gateway.inference_table_config  # the AI Gateway's, kept through the update
    assert (table.catalog_name, table.schema_name, table.enabled) == ("main", "mdk", True)
    assert got.config.auto_capture_config is None
    df = payload_by_entity(f"main.mdk.{endpoint.replace('-', '_')}_payload", served)
    split = df[df["client_request_id"].str.startswith("split-")]
    assert len(split) == 400 and (split["status_code"] == 200).all()
    # within 4.5 binomial standard errors of the configured share (traffic.compare_split)
    check = traffic.compare_split(
        split["entity"].value_counts(),
        {"champion": 100 - challenger_traffic, "challenger": challenger_traffic},
    )
    assert check["within"].all(), check
    assert set(split.groupby("entity")["version"].first().items()) == {
        ("champion", "1"),
        ("challenger", "2"),
    }
    change = df[df["client_request_id"].str.startswith("change-")]
    assert len(change) > 0 and (change["status_code"] == 200).all()
    text = outputs_text(nb)
    assert "failed requests during the change: 0" in text
    assert "every request in the table: True" in text
    [picture] = png_outputs(nb)  # observed vs configured split, drawn
    assert min(png_size(picture)) > 100
