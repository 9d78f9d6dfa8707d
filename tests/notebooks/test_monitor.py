"""06_monitor executed with papermill on its own, in a Spark Connect kernel (the change data
feed, the processed table's properties and 06's MERGE INTO through Connect): the verdict
`rollback` by parameters, and what acting on it leaves behind (the default
`promote_challenger`, its monitor and metric tables: tests/notebooks/test_story.py). `ok`
and `drift` come from the same verdict function, tested on metric rows in
tests/monitoring/test_verdict.py rather than by a run of 06 each (about 90 s per run)."""

from __future__ import annotations

import uuid

import pytest

from recipes import registry, tables
from recipes.serving import traffic
from recipes.serving.client import workspace_client
from tests.notebooks.nbtools import golden_texts


def _run(run_notebook, model_name, **params):
    endpoint = f"nb-mon-{uuid.uuid4().hex[:8]}"
    nb = run_notebook("06_monitor", endpoint_name=endpoint, model_name=model_name, **params)
    payload = f"main.mdk.{endpoint.replace('-', '_')}_payload"
    return nb, endpoint, payload


@pytest.mark.notebook
@pytest.mark.spark
@pytest.mark.parametrize(
    ("params", "decision", "routes"),
    [
        # the worse version as challenger: rolled back, all traffic to the champion
        ({"champion_version": 2, "challenger_version": 1}, "rollback",
         {"champion": 100, "challenger": 0}),
    ],
)  # fmt: skip
def test_a_worse_challenger_is_rolled_back_by_parameters(run_notebook, served, connect_kernel, model_name, params,
                                       decision, routes):  # fmt: skip
    # a Spark Connect kernel: the served endpoint's warehouse is that server's
    nb, endpoint, payload = _run(run_notebook, model_name, act=True, **params)
    assert golden_texts(nb)[-1].splitlines()[0] == f"verdict: {decision}"
    w = workspace_client(start=False)
    assert traffic.routes(w.serving_endpoints.get(endpoint)) == routes
    assert "mdk.monitor.verdict" not in registry.require_version(model_name, 1).tags
    assert registry.aliases(model_name) == {}  # pinned versions; only a promotion sets an alias
    # this run's requests only, each labeled by the MERGE
    unpacked = tables.read(f"{payload}_unpacked", home=served)
    assert len(unpacked) == params.get("n_requests", 2000) and unpacked["churned"].notna().all()
