"""The seven lifecycle notebooks run once, in order, with their defaults, as ``mdk run`` runs
them (07, exam practice, has its own tests: tests/notebooks/test_exam_practice.py).

This is the journey of ``make demo``: a fresh ``MDK_HOME`` with its embedded MLflow store,
01 to 06 and 08 through the kit's own runner (``recipes.tooling.runner``), the serving
endpoint started by 03 and stopped at the end. No parameter is given: 06 says what it would
do (``act=False``; carrying a verdict out is tests/serving/test_monitor_act.py's), so 08
finds ``@champion`` on version 1, as after ``mdk run``, and its golden cells are the same.

After each notebook the fixture records what that notebook left (registry, endpoint,
tables) before the next one can change it; the tests assert on those records. The golden
cells of each executed notebook are compared with the committed ones by nbval's own
comparison and sanitize file (``golden_check``), so the notebooks are not executed twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import nbformat
import pytest

from recipes.pictures import png_size
from recipes.serving import traffic
from tests.homes import local_env
from tests.notebooks import golden_check
from tests.notebooks.nbtools import (
    NOTEBOOKS,
    golden_texts,
    noise,
    outputs_text,
    payload_by_entity,
    png_outputs,
)

# the notebooks run in the first test's setup, sharing one Spark Connect server as under mdk run
pytestmark = [pytest.mark.notebook, pytest.mark.spark, pytest.mark.timeout(1800)]
OWN_STORES = True  # the story's embedded store: no session tracking server (conftest.py)

MODEL = "churn-predictor"
SERVE_ENDPOINT = "churn-predictor-endpoint"
AB_ENDPOINT = "churn-ab"
PAYLOAD = "main.mdk.churn_ab_payload"
SCORES = "main.predictions.churn_scores"


@dataclass
class Chapter:
    """One notebook of the story: its result, its executed copy and what it left behind."""

    status: str
    error: str | None
    nb: Any
    left: dict[str, Any] = field(default_factory=dict)


def _after_01(home: Path) -> dict:
    import mlflow

    from recipes import registry

    client = mlflow.MlflowClient()
    table = registry.describe(MODEL)
    model = client.get_registered_model(MODEL)
    versions = {int(mv.version): mv for mv in client.search_model_versions(f"name = '{MODEL}'")}
    kinds = {
        int(v): client.get_run(r).data.params["kind"]
        for v, r in zip(table["version"], table["run_id"], strict=True)
    }
    return {
        "table": table,
        "model_tags": model.tags,
        "model_description": model.description,
        "version_tags": {v: mv.tags for v, mv in versions.items()},
        "version_descriptions": {v: mv.description for v, mv in versions.items()},
        "kinds": kinds,
    }


def _after_02(home: Path) -> dict:
    from recipes import registry

    return {
        "stages": registry.describe(MODEL)["stage"].tolist(),
        "aliases": registry.aliases(MODEL),
    }


def _after_03(home: Path) -> dict:
    from recipes import registry
    from recipes.serving.client import workspace_client

    w = workspace_client(start=False)
    doc = w.api_client.do("GET", f"/api/2.0/serving-endpoints/{SERVE_ENDPOINT}")
    return {"endpoint": doc, "aliases": registry.aliases(MODEL)}


def _after_04(home: Path) -> dict:
    from recipes.serving import deploy
    from recipes.serving.client import workspace_client

    w = workspace_client(start=False)
    endpoint = w.serving_endpoints.get(AB_ENDPOINT)
    return {
        "routes": traffic.routes(endpoint),
        "versions": deploy.entity_versions(endpoint),
        "payload": payload_by_entity(PAYLOAD, home),
    }


def _after_05(home: Path) -> dict:
    from recipes import registry, tables
    from recipes.features import load_feature_spec

    return {
        "scores": tables.read_table(SCORES, home=home),
        "inputs": tables.read_table("main.predictions.churn_input", home=home),
        "champion": registry.version_of(MODEL, "@champion"),
        "feature_spec": str(load_feature_spec(f"models:/{MODEL}-features@champion")),
    }


def _after_06(home: Path) -> dict:
    from recipes import registry, tables
    from recipes.serving import deploy
    from recipes.serving.client import workspace_client

    w = workspace_client(start=False)
    monitor = w.quality_monitors.get(table_name=f"{PAYLOAD}_unpacked")
    endpoint = w.serving_endpoints.get(AB_ENDPOINT)
    return {
        "monitor": monitor,
        "profile": tables.read_table(monitor.profile_metrics_table_name, home=home),
        "drift": tables.read_table(monitor.drift_metrics_table_name, home=home),
        "unpacked": tables.read_table(f"{PAYLOAD}_unpacked", home=home),
        "routes": traffic.routes(endpoint),
        "versions": deploy.entity_versions(endpoint),
        "aliases": registry.aliases(MODEL),
        "warehouse": home / "warehouse",
        "tables": tables.list_tables(home=home),
    }


def _after_08(home: Path) -> dict:
    import mlflow

    from recipes import registry

    client = mlflow.MlflowClient()
    versions = {int(mv.version): mv for mv in client.search_model_versions(f"name = '{MODEL}'")}
    newest = max(versions)
    return {
        "aliases": registry.aliases(MODEL),
        "versions": sorted(versions),
        "tags": versions[newest].tags,
        "params": client.get_run(versions[newest].run_id).data.params,
        "refreshes": _refresh_ids(f"{PAYLOAD}_unpacked"),
    }


def _refresh_ids(table: str) -> list[int]:
    from recipes.serving.client import workspace_client

    w = workspace_client(start=False)
    return [
        int(r.refresh_id) for r in w.quality_monitors.list_refreshes(table_name=table).refreshes
    ]


AFTER = {
    "01_register": _after_01,
    "02_promote": _after_02,
    "03_serve": _after_03,
    "04_ab_split": _after_04,
    "05_batch_score": _after_05,
    "06_monitor": _after_06,
    "08_retrain": _after_08,
}


@pytest.fixture(scope="module")
def story(tmp_path_factory) -> dict[str, Chapter]:
    """Run 01→06 and 08 once, as ``mdk run`` would, in a fresh embedded store."""
    from recipes import stack
    from recipes.target import scoped_env, use_target
    from recipes.tooling import runner

    home = tmp_path_factory.mktemp("story") / "mdk"
    home.mkdir()
    # as a user has it: no target, no URIs, no endpoint of the session's; mdk run starts its own
    env = local_env(
        home,
        MDK_TARGET=None,
        MLFLOW_TRACKING_URI=None,
        MDK_SERVING_URL=None,
        MDK_SERVING_TOKEN=None,
    )
    chapters: dict[str, Chapter] = {}

    def record(event, path, result):
        if event != "end":
            return
        nb = nbformat.read(result.output, as_version=4) if result.output.exists() else None
        chapter = Chapter(result.status, result.error, nb)
        if result.status == "ok":
            with scoped_env(**env):
                use_target("local")  # the store the notebooks used, in this process
                chapter.left = AFTER[path.stem](home)
        chapters[path.stem] = chapter

    try:
        with scoped_env(**env):
            runner.run_notebooks(
                runner.notebook_paths(list(AFTER)),
                {},
                out_dir=home / "runs" / "story",
                progress=record,
            )
        yield chapters
    finally:
        with scoped_env(**env):
            stack.stop("serving", home=home)


def chapter(story, name: str) -> Chapter:
    ch = story[name]
    assert ch.status == "ok", f"{name} failed: {ch.error}"
    return ch


@pytest.mark.parametrize("name", list(AFTER))
def test_each_notebook_ran_quietly_and_matches_its_golden_cells(story, name):
    ch = chapter(story, name)
    chatter = "\n".join(noise(ch.nb))
    assert not chatter, f"{name} printed library chatter (see recipes.quiet):\n{chatter}"
    diffs = golden_check.differences(NOTEBOOKS / f"{name}.ipynb", ch.nb)
    assert not diffs, "\n\n".join(diffs)


def test_01_registers_a_baseline_and_a_better_challenger(story):
    ch = chapter(story, "01_register")
    left = ch.left
    table = left["table"]
    assert table["version"].tolist() == [1, 2]
    assert table["stage"].tolist() == ["None", "None"]
    assert left["version_tags"][1]["model_type"] == "logistic_regression"
    assert left["version_tags"][2]["model_type"] == "gradient_boosting"
    assert left["model_tags"] == {"team": "growth", "use_case": "churn", "created_by": "mdk"}
    assert "churn" in left["model_description"]
    assert "registered during logging" in left["version_descriptions"][1]
    assert "registered from its run" in left["version_descriptions"][2]
    # v1 came from log_model(registered_model_name=...), v2 from register_model("runs:/...")
    assert left["kinds"] == {1: "baseline", 2: "challenger"}
    # the story's gap, on the held-out rows the runs logged
    gap = table.set_index("version")
    assert gap.loc[2, "accuracy"] - gap.loc[1, "accuracy"] >= 0.08
    assert gap.loc[2, "roc_auc"] - gap.loc[1, "roc_auc"] >= 0.05
    text = outputs_text(ch.nb)
    assert "Version: 2" in text and "versions tagged model_type=gradient_boosting: [2]" in text


def test_02_archives_then_sets_champion_and_challenger_behind_the_gate(story):
    ch = chapter(story, "02_promote")
    assert ch.left["stages"] == ["Archived", "Production"]
    assert ch.left["aliases"] == {"champion": 1, "challenger": 2}
    # exam question 1 both ways: archive_existing_versions=False keeps both in Production,
    # True archives the old one
    stage_tables = [t.split() for t in golden_texts(ch.nb) if t.startswith("after archive_")]
    assert stage_tables == [
        [
            "after",
            "archive_existing_versions=False:",
            "version",
            "stage",
            "1",
            "Production",
            "2",
            "Production",
        ],
        [
            "after",
            "archive_existing_versions=True:",
            "version",
            "stage",
            "1",
            "Archived",
            "2",
            "Production",
        ],
    ]
    text = outputs_text(ch.nb)
    assert "gate passed" in text and "(delta +0.0" in text
    assert f"models:/{MODEL}/Production" in text


def test_03_serves_the_champion_scales_to_zero_and_cold_starts(story):
    ch = chapter(story, "03_serve")
    doc = ch.left["endpoint"]
    assert doc["state"] == {"ready": "READY", "config_update": "NOT_UPDATING"}
    [entity] = doc["config"]["served_entities"]
    champion = ch.left["aliases"]["champion"]
    assert (entity["entity_name"], entity["entity_version"]) == (MODEL, str(champion))
    assert entity["scale_to_zero_enabled"] is True
    assert entity["mdk"]["cold_starts"] == 1 and entity["mdk"]["last_cold_start_ms"] > 0
    assert {t["key"]: t["value"] for t in doc["tags"]} == {
        "mdk_idle_seconds": "5",
        "created_by": "mdk",
    }
    text = outputs_text(ch.nb)
    assert "200 {'predictions': [" in text and "same answer both ways: True" in text
    assert "400 {'error_code': 'BAD_REQUEST'" in text
    assert "scaled_to_zero=True status=200" in text
    [picture] = png_outputs(ch.nb)  # warm vs cold latency, drawn
    assert min(png_size(picture)) > 100


def test_04_observed_split_matches_the_routes_and_the_change_drops_nothing(story):
    ch = chapter(story, "04_ab_split")
    assert ch.left["routes"] == {"champion": 50, "challenger": 50}
    assert ch.left["versions"] == {"champion": 1, "challenger": 2}
    df = ch.left["payload"]
    split = df[df["client_request_id"].str.startswith("split-")]
    assert len(split) == 500 and (split["status_code"] == 200).all()
    # within 4.5 binomial standard errors of the configured 90/10 (traffic.compare_split)
    check = traffic.compare_split(
        split["entity"].value_counts(), {"champion": 90, "challenger": 10}
    )
    assert check["within"].all(), check
    versions = set(split.groupby("entity")["version"].first().items())
    assert versions == {("champion", "1"), ("challenger", "2")}
    change = df[df["client_request_id"].str.startswith("change-")]
    assert len(change) > 0 and (change["status_code"] == 200).all()
    text = outputs_text(ch.nb)
    assert "failed requests during the change: 0" in text
    assert "every request in the table: True" in text
    [picture] = png_outputs(ch.nb)  # observed vs configured split, drawn
    assert min(png_size(picture)) > 100


def test_05_scores_every_row_with_the_champion_and_its_feature_model(story):
    ch = chapter(story, "05_batch_score")
    scored = ch.left["scores"]
    assert len(scored) == 100_000
    assert set(scored["model_name"]) == {MODEL}
    assert set(scored["model_version"]) == {ch.left["champion"]} == {1}
    assert set(scored["prediction"]) <= {0, 1} and scored["scored_at"].nunique() == 1
    assert ch.left["inputs"]["customer_id"].is_unique
    assert "main.features.churn_customers" in ch.left["feature_spec"]
    [picture] = png_outputs(ch.nb)  # driver loop vs spark_udf, drawn
    assert min(png_size(picture)) > 100


def test_06_monitors_the_ab_traffic_and_would_promote_the_challenger(story):
    from recipes.monitoring import verdict
    from recipes.monitoring.schema import drift_fields, profile_fields

    ch = chapter(story, "06_monitor")
    left = ch.left
    log = left["monitor"].inference_log
    assert (log.model_id_col, log.label_col, log.timestamp_col) == (
        "model_version",
        "churned",
        "transaction_ts",
    )
    assert left["monitor"].slicing_exprs == ["days_since_last_visit > 21"]
    assert [m.name for m in left["monitor"].custom_metrics] == ["expected_loss"]
    profile, drift = left["profile"], left["drift"]
    expected_loss = [("expected_loss", "double")]
    assert list(profile.columns) == [
        n for n, _ in profile_fields("model_version", "classification", expected_loss)
    ]
    assert list(drift.columns) == [n for n, _ in drift_fields("model_version")]
    assert set(drift["drift_type"]) == {"BASELINE", "CONSECUTIVE"}
    assert set(drift["model_version"]) == {"*", "1", "2"}
    monitored = {
        "total_purchases",
        "avg_session_duration",
        "days_since_last_visit",
        "prediction",
        "churned",
    }
    assert monitored <= set(drift["column_name"])
    # every request of this run, once, labeled by the MERGE, each phase in a window of its own
    unpacked = left["unpacked"]
    assert len(unpacked) == 2000 and unpacked["churned"].notna().all()
    table = profile[
        (profile["log_type"] == "INPUT")
        & (profile["column_name"] == ":table")
        & (profile["model_version"] == "*")
    ]
    whole = table[table["slice_key"].isna()]
    starts = [w["start"] for w in whole["window"]]
    assert whole["count"].tolist() == [1000, 1000] and starts[1] - starts[0] == timedelta(hours=1)
    slices = table[table["slice_key"] == "days_since_last_visit > 21"]
    per_window = slices.groupby(slices["window"].map(lambda w: w["start"]))["count"].sum()
    assert per_window.tolist() == [1000, 1000]  # the slices add up to the whole table
    assert whole["accuracy_score"].between(0.5, 1).all() and whole["expected_loss"].lt(0).all()
    # the stored drift table alone flags the drifted feature
    assert [c for c in verdict(drift).drifted if c in monitored - {"prediction", "churned"}] == [
        "days_since_last_visit"
    ]
    assert golden_texts(ch.nb)[-1].splitlines() == [
        "verdict: promote_challenger",
        "drifted features: ['days_since_last_visit']",
    ]
    # act=False, mdk run's default: it says what it would do and moves nothing
    assert "Would have routed {'champion': 0, 'challenger': 100}" in outputs_text(ch.nb)
    assert left["routes"] == {"champion": 50, "challenger": 50}
    assert left["versions"] == {"champion": 1, "challenger": 2}
    assert left["aliases"] == {"champion": 1, "challenger": 2}
    pictures = png_outputs(ch.nb)  # the drift and quality charts are pictures
    assert len(pictures) == 2 and all(min(png_size(p)) > 100 for p in pictures)


def test_06s_tables_answer_databricks_queries_unchanged(story, spark):
    """dbdemos' queries, as the issue quotes them, on the tables 06 leaves (read by path
    through the session's Delta): model quality per window, and the CONSECUTIVE drift of the
    prediction and the label, which has the drifted window's rows."""
    left = chapter(story, "06_monitor").left
    monitor = left["monitor"]
    path = {
        name: left["warehouse"].joinpath(*name.split("."))
        for name in (monitor.profile_metrics_table_name, monitor.drift_metrics_table_name)
    }
    profile = f"delta.`{path[monitor.profile_metrics_table_name]}`"
    drift = f"delta.`{path[monitor.drift_metrics_table_name]}`"
    quality = spark.sql(
        f"SELECT window, accuracy_score, f1_score.macro, expected_loss FROM {profile} "
        "WHERE log_type = 'INPUT' AND column_name = ':table' AND slice_key IS NULL AND "
        "model_version = '*'"
    ).toPandas()
    windows = sorted(w["start"] for w in quality["window"])
    assert (
        len(windows) == 2
        and quality[["accuracy_score", "macro", "expected_loss"]].notna().all().all()
    )
    outputs = spark.sql(
        f"SELECT window, column_name, js_distance FROM {drift} WHERE drift_type = 'CONSECUTIVE' "
        "AND column_name IN ('prediction', 'churned')"
    ).toPandas()
    assert set(outputs["column_name"]) == {"prediction", "churned"}
    assert {w["start"] for w in outputs["window"]} == {windows[1]}  # the drifted window
    features = (
        spark.sql(
            f"SELECT drift_type, column_name, js_distance, ks_test FROM {drift} WHERE window.start = "
            f"'{windows[1]}' AND slice_key IS NULL AND model_version = '*' AND column_name IN "
            "('days_since_last_visit', 'total_purchases')"
        )
        .toPandas()
        .set_index(["drift_type", "column_name"])
    )
    for kind in ("CONSECUTIVE", "BASELINE"):
        assert features.loc[(kind, "days_since_last_visit"), "ks_test"]["pvalue"] < 1e-6
        assert features.loc[(kind, "days_since_last_visit"), "js_distance"] > 0.2
        assert features.loc[(kind, "total_purchases"), "js_distance"] < 0.15


def test_every_table_the_story_leaves_is_a_delta_table_with_its_history(story, spark):
    """After the story, every table folder under the warehouse is a Delta table; Spark's own
    ``DESCRIBE HISTORY`` lists the writes of the scores table (05's two overwrites), and
    ``DeltaTable.isDeltaTable`` holds for the scores, payload, unpacked and metric tables."""
    from delta.tables import DeltaTable

    left = chapter(story, "06_monitor").left
    warehouse, listed = left["warehouse"], left["tables"]
    folders = sorted(p for p in warehouse.glob("*/*/*") if p.is_dir())
    assert folders and all((p / "_delta_log").is_dir() for p in folders), folders
    assert len(listed) == len(folders)
    path = {name: warehouse.joinpath(*name.split(".")) for name in listed}
    unpacked = f"{PAYLOAD}_unpacked"
    for name in (
        SCORES,
        PAYLOAD,
        unpacked,
        f"{unpacked}_profile_metrics",
        f"{unpacked}_drift_metrics",
    ):
        assert DeltaTable.isDeltaTable(spark, str(path[name])), name
    history = spark.sql(f"DESCRIBE HISTORY delta.`{path[SCORES]}`").orderBy("version").collect()
    assert [h.operation for h in history][-2:] == ["CREATE OR REPLACE TABLE AS SELECT"] * 2
    assert all(h.operationMetrics["numOutputRows"] == "100000" for h in history[-2:])


def test_08_retrains_on_the_violations_and_the_new_version_passes_the_gate(story):
    """06's defaults leave violations in the drifted window; 08 trains version 3 on that
    window's labelled traffic, tags its lineage, and the gate on the held-out recent rows
    lets it take @challenger; @champion stays on version 1."""
    ch = chapter(story, "08_retrain")
    left = ch.left
    assert left["versions"] == [1, 2, 3]
    assert left["aliases"] == {"champion": 1, "challenger": 3}
    tags = left["tags"]
    assert tags["trained_on"] == f"{PAYLOAD}_unpacked" and tags["created_by"] == "mdk"
    assert int(tags["monitor_refresh_id"]) == max(left["refreshes"])
    assert int(tags["violation_count"]) >= 1
    start, end = tags["training_window"].split("/")
    assert end > start and start.endswith(":00:00Z")  # one whole hour, 06's drifted window
    assert left["params"]["n_rows"] == "700"  # 70 % of the window's 1,000 labelled rows
    [golden] = golden_texts(ch.nb)
    lines = golden.splitlines()
    assert lines[0] == "violations: 2 (dbdemos), quality violated: True (MLOps Stacks)"
    assert lines[1] == "new version: 3"
    assert lines[2].startswith("gate: version 3 roc_auc=") and " beats version 1 " in lines[2]
    assert lines[3] == "aliases: {'challenger': 3, 'champion': 1}"
    text = outputs_text(ch.nb)
    assert "training_window=" in text and "monitor_refresh_id=" in text  # 01's registry table
    [picture] = png_outputs(ch.nb)  # each checked metric per window against its threshold
    assert min(png_size(picture)) > 100
