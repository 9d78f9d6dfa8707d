"""08_retrain on its own, after 06 with calm traffic: no violation, nothing changes; then
``force=True``: a candidate that does not beat ``@champion`` fails the gate and
``@challenger`` stays where it was. (06's defaults, then 08's retrain that passes the gate:
tests/notebooks/test_story.py.)"""

from __future__ import annotations

import uuid

import pytest

from tests.notebooks.nbtools import golden_texts, outputs_text

pytestmark = [pytest.mark.notebook, pytest.mark.spark, pytest.mark.server]


def test_calm_traffic_changes_nothing_and_a_worse_candidate_fails_the_gate(
    run_notebook, served, connect_kernel, model_name
):
    from mlflow import MlflowClient

    from recipes import bootstrap, registry

    assert bootstrap.ensure_versions(model_name) == [1, 2]
    client = MlflowClient()
    client.set_registered_model_alias(model_name, "champion", "2")  # the trees, in production
    client.set_registered_model_alias(model_name, "challenger", "1")
    endpoint = f"nb-retrain-{uuid.uuid4().hex[:8]}"
    # the same version on both entities, and traffic with neither drift nor concept drift
    run_notebook(
        "06_monitor",
        model_name=model_name,
        endpoint_name=endpoint,
        champion_version=2,
        challenger_version=2,
        drift_strength=0.0,
        n_requests=600,
    )

    calm = run_notebook("08_retrain", endpoint_name=endpoint)
    assert golden_texts(calm)[-1].splitlines() == [
        "violations: 0 (dbdemos), quality violated: False (MLOps Stacks)",
        "new version: None",
        "gate: not run",
        "aliases: {'challenger': 1, 'champion': 2}",
    ]
    assert "no violations: nothing to retrain, the registry is unchanged" in outputs_text(calm)
    assert [int(v.version) for v in registry.versions(model_name)] == [1, 2]

    forced = run_notebook("08_retrain", endpoint_name=endpoint, force=True)
    lines = golden_texts(forced)[-1].splitlines()
    assert lines[:2] == [
        "violations: 0 (dbdemos), quality violated: False (MLOps Stacks)",
        "new version: 3",
    ]
    # trained on 210 calm rows, the candidate does not beat the trees trained on 3,750
    assert (
        lines[2].startswith("gate: version 3 roc_auc=") and " does not beat version 2 " in lines[2]
    )
    assert lines[3] == "aliases: {'challenger': 1, 'champion': 2}"
    assert "force=True: retrain on the latest window's labelled traffic" in outputs_text(forced)
    tags = client.get_model_version(model_name, "3").tags
    assert tags["violation_count"] == "0" and tags["trained_on"].endswith("_payload_unpacked")
