"""04_ab_split executed with papermill on its own: the split it leaves in the inference table
(the default 90/10 after 01-03: tests/notebooks/test_story.py)."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

from recipes import tables
from recipes.pictures import png_size
from recipes.serving import traffic
from recipes.serving.client import workspace_client
from tests.notebooks.nbtools import outputs_text, png_outputs


def _payload(home, endpoint: str) -> pd.DataFrame:
    df = tables.read(f"main.mdk.{endpoint.replace('-', '_')}_payload", home=home)
    meta = df["request_metadata"].map(dict)
    df["entity"] = meta.map(lambda m: m["served_entity_name"])
    df["version"] = meta.map(lambda m: m["model_version"])
    return df


@pytest.mark.notebook
@pytest.mark.parametrize("challenger_traffic", [50])  # 10, the default: test_story.py
def test_observed_split_matches_the_routes(run_notebook, served, model_name, challenger_traffic):
    endpoint = f"nb-ab-{uuid.uuid4().hex[:8]}"
    nb = run_notebook("04_ab_split", model_name=model_name, endpoint_name=endpoint,
                      challenger_traffic=challenger_traffic, n_requests=400)  # fmt: skip
    w = workspace_client(start=False)
    assert traffic.routes(w.serving_endpoints.get(endpoint)) == {"champion": 50,
                                                                  "challenger": 50}  # fmt: skip
    df = _payload(served, endpoint)
    split = df[df["client_request_id"].str.startswith("split-")]
    assert len(split) == 400 and (split["status_code"] == 200).all()
    # within 4.5 binomial standard errors of the configured share (traffic.compare_split)
    check = traffic.compare_split(split["entity"].value_counts(),
                                  {"champion": 100 - challenger_traffic,
                                   "challenger": challenger_traffic})  # fmt: skip
    assert check["within"].all(), check
    assert set(split.groupby("entity")["version"].first().items()) == {("champion", "1"),
                                                                       ("challenger", "2")}  # fmt: skip
    change = df[df["client_request_id"].str.startswith("change-")]
    assert len(change) > 0 and (change["status_code"] == 200).all()
    text = outputs_text(nb)
    assert "failed requests during the change: 0" in text
    assert "every request in the table: True" in text
    [picture] = png_outputs(nb)  # observed vs configured split, drawn
    assert min(png_size(picture)) > 100
