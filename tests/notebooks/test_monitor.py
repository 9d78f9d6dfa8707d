"""06_monitor executed with papermill: the metric tables it writes, the verdict they give,
and what acting on it leaves in the registry."""

from __future__ import annotations

import uuid

import papermill
import pytest

from recipes import registry, tables
from recipes.monitoring import DRIFT_COLUMNS, PROFILE_COLUMNS, metric_table_names, verdict
from tests.notebooks.nbtools import outputs_text


@pytest.mark.notebook
@pytest.mark.spark
@pytest.mark.parametrize(("drift_strength", "expected"), [(0.0, "ok"), (1.5, "drift")])
def test_monitor_verdict_and_action(run_notebook, served, model_name, drift_strength, expected):
    endpoint = f"nb-mon-{uuid.uuid4().hex[:8]}"
    nb = run_notebook("06_monitor", endpoint_name=endpoint, model_name=model_name,
                      n_requests=1200, drift_strength=drift_strength, act=True)  # fmt: skip
    names = metric_table_names(f"main.mdk.{endpoint.replace('-', '_')}_payload")
    profile = tables.read_table(names.profile, home=served)
    drift = tables.read_table(names.drift, home=served)
    assert list(profile.columns) == list(PROFILE_COLUMNS)
    assert list(drift.columns) == list(DRIFT_COLUMNS)
    assert set(drift["drift_type"]) >= {"BASELINE"} and set(drift["model_id"]) == {":all", "1", "2"}
    monitored = {"total_purchases", "avg_session_duration", "days_since_last_visit", "prediction"}
    assert set(drift["column_name"]) == monitored
    everyone = profile[(profile["model_id"] == ":all") & (profile["column_name"] == "prediction")]
    assert everyone["count"].sum() == 1200  # every request of this run, unpacked once
    # the verdict the stored drift table gives (quality aside) is the expected one ...
    assert verdict(drift).decision == expected
    decided = verdict(drift)
    features = [c for c in decided.drifted if c != "prediction"]
    assert features == ([] if expected == "ok" else ["days_since_last_visit"])
    # ... and act=True carried it out: the champion version is tagged only under drift
    tags = registry.require_version(model_name, 1).tags
    if expected == "drift":
        assert tags["mdk.monitor.verdict"] == "drift"
        assert "days_since_last_visit" in tags["mdk.monitor.drifted"].split(",")
    else:
        assert "mdk.monitor.verdict" not in tags
    assert f"verdict: {expected}" in outputs_text(nb)


@pytest.mark.notebook
@pytest.mark.parametrize(("params", "message"), [
    ({"granularity": "1 month"}, "granularity '1 month'"),
    ({"drifted_features": "tenure"}, "drifted features 'tenure'"),
    ({"n_requests": 1}, "n_requests"),
])  # fmt: skip
def test_bad_parameters_fail_in_the_first_check(run_notebook, params, message):
    with pytest.raises(papermill.PapermillExecutionError, match=message):
        run_notebook("06_monitor", endpoint_name="nb-mon-bad", **params)
