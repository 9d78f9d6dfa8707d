"""06_monitor executed with papermill: the Lakehouse monitor and its metric tables, the
verdict for each of three parameter sets, and what acting on it leaves behind."""

from __future__ import annotations

import uuid

import papermill
import pytest

from recipes import registry, tables
from recipes.monitoring import DRIFT_COLUMNS, PROFILE_COLUMNS, verdict
from recipes.pictures import png_size
from recipes.serving import deploy, traffic
from recipes.serving.client import workspace_client
from tests.notebooks.nbtools import golden_texts, png_outputs


def _run(run_notebook, model_name, **params):
    endpoint = f"nb-mon-{uuid.uuid4().hex[:8]}"
    nb = run_notebook("06_monitor", endpoint_name=endpoint, model_name=model_name, **params)
    payload = f"main.mdk.{endpoint.replace('-', '_')}_payload"
    return nb, endpoint, payload


@pytest.mark.notebook
@pytest.mark.spark
def test_the_default_run_promotes_the_challenger_and_act_moves_champion_and_traffic(
    run_notebook, served, model_name
):
    nb, endpoint, payload = _run(run_notebook, model_name, act=True)
    w = workspace_client(start=False)
    # made on its own: v1 baseline and v2 trees at 50/50 behind the A/B endpoint
    monitor = w.quality_monitors.get(table_name=f"{payload}_unpacked")
    assert monitor.inference_log.model_id_col == "model_version"
    profile = tables.read_table(monitor.profile_metrics_table_name, home=served)
    drift = tables.read_table(monitor.drift_metrics_table_name, home=served)
    assert list(profile.columns) == list(PROFILE_COLUMNS)
    assert list(drift.columns) == list(DRIFT_COLUMNS)
    assert "BASELINE" in set(drift["drift_type"])  # CONSECUTIVE needs a second window
    assert set(drift["model_id"]) == {":all", "1", "2"}
    monitored = {"total_purchases", "avg_session_duration", "days_since_last_visit", "prediction"}
    assert monitored <= set(drift["column_name"])
    everyone = profile[(profile["model_id"] == ":all") & (profile["column_name"] == "prediction")]
    assert everyone["count"].sum() == 2000  # every request of this run, unpacked once
    assert tables.read_table(f"{payload}_unpacked", home=served).shape[0] == 2000
    # the stored drift table alone flags the drifted feature
    assert [c for c in verdict(drift).drifted if c != "prediction"] == ["days_since_last_visit"]
    assert golden_texts(nb)[-1].splitlines() == [
        "verdict: promote_challenger",
        "drifted features: ['days_since_last_visit']",
    ]
    # act=True: all traffic to the challenger entity, and @champion on its version
    now = w.serving_endpoints.get(endpoint)
    assert traffic.routes(now) == {"champion": 0, "challenger": 100}
    assert deploy.entity_versions(now) == {"champion": 1, "challenger": 2}
    assert registry.aliases(model_name)["champion"] == 2
    # the drift and quality charts are pictures, not <Figure ...> text
    pictures = png_outputs(nb)
    assert len(pictures) == 2 and all(min(png_size(p)) > 100 for p in pictures)


@pytest.mark.notebook
@pytest.mark.spark
@pytest.mark.parametrize(
    ("params", "decision", "routes"),
    [
        # the same version behind both entities and no drift: nothing to do
        ({"champion_version": 1, "challenger_version": 1, "drift_strength": 0.0,
          "n_requests": 1200}, "ok", {"champion": 50, "challenger": 50}),
        # the worse version as challenger: rolled back, all traffic to the champion
        ({"champion_version": 2, "challenger_version": 1}, "rollback",
         {"champion": 100, "challenger": 0}),
    ],
)  # fmt: skip
def test_ok_and_rollback_by_parameters(run_notebook, served, model_name, params, decision, routes):
    nb, endpoint, _ = _run(run_notebook, model_name, act=True, **params)
    assert golden_texts(nb)[-1].splitlines()[0] == f"verdict: {decision}"
    w = workspace_client(start=False)
    assert traffic.routes(w.serving_endpoints.get(endpoint)) == routes
    assert "mdk.monitor.verdict" not in registry.require_version(model_name, 1).tags
    assert registry.aliases(model_name) == {}  # pinned versions; only a promotion sets an alias


@pytest.mark.notebook
def test_a_bad_parameter_fails_in_the_first_check(run_notebook):
    with pytest.raises(papermill.PapermillExecutionError, match="granularity '1 month'"):
        run_notebook("06_monitor", endpoint_name="nb-mon-bad", granularity="1 month")
