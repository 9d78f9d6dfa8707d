"""The lifecycle notebooks with ``target=databricks``, from a laptop, against the workspace double.

What the README tells a user to rehearse, run exactly so: ``mdk workspace up`` (this module's
own stack, in a fresh MDK_HOME), ``eval "$(mdk workspace env)"``, then
``MDK_TARGET=databricks .venv-dbx/bin/mdk run`` with no ``-p``: Spark through
databricks-connect (``.venv-dbx`` has no local pyspark), the registry through MLflow's
``databricks-uc`` client, serving and monitoring through the databricks-sdk. The names come
from the one setting (``MDK_CATALOG``/``MDK_SCHEMA`` defaults: ``main.mdk``).

The tests assert the state the run leaves on the double (versions, aliases, tags,
endpoints, tables, the monitor), and what Unity Catalog refuses is shown in one line
(02's stages), not a traceback. 08 finds the violations and, unasked, creates nothing. ``make test`` makes ``.venv-dbx`` first
(``make setup-databricks``); without it the tier skips with that command, and fails in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import nbformat
import pytest

from recipes.target import repo_root
from tests.notebooks.nbtools import noise

pytestmark = [pytest.mark.server, pytest.mark.spark, pytest.mark.notebook, pytest.mark.timeout(900)]

DBX = repo_root() / ".venv-dbx" / "bin"
MODEL = "main.mdk.churn_predictor"
FEATURE_MODEL = f"{MODEL}-features"
SERVE, AB = "churn-predictor-endpoint", "churn-ab"
SEVEN = [
    "01_register",
    "02_promote",
    "03_serve",
    "04_ab_split",
    "05_batch_score",
    "06_monitor",
    "08_retrain",
]


def _need_dbx() -> None:
    if (DBX / "mdk").exists():
        return
    why = ".venv-dbx is missing: run `make setup-databricks` (make test makes it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(why)
    pytest.skip(why)


def _mdk_run(stack):
    """``MDK_TARGET=databricks .venv-dbx/bin/mdk run`` in a clean environment plus what
    ``mdk workspace env`` exports; its process, summary and executed notebooks."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABRICKS_", "MLFLOW_", "SPARK_", "MDK_", "PYTEST_"))
    }
    for key in stack.unset:
        env.pop(key, None)
    env |= stack.env | {"MDK_HOME": str(stack.home), "MDK_TARGET": "databricks"}
    started = time.monotonic()
    proc = subprocess.run(
        [str(DBX / "mdk"), "run"],
        env=env,
        cwd=repo_root(),
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    print(f"\nMDK_TARGET=databricks mdk run: {time.monotonic() - started:.1f}s")
    folder = sorted((stack.home / "runs").iterdir())[-1]
    summary = json.loads((folder / "summary.json").read_text())
    executed = {
        r["notebook"].removesuffix(".ipynb"): nbformat.read(r["output"], as_version=4)
        for r in summary["results"]
        if r["status"] != "skipped"
    }
    return proc, summary, executed


@pytest.fixture(scope="module")
def run(stack):
    """``mdk run`` with no ``-p``, as the README tells a user to rehearse."""
    _need_dbx()
    return _mdk_run(stack)


def _status(summary) -> dict[str, str]:
    return {r["notebook"].removesuffix(".ipynb"): r["status"] for r in summary["results"]}


def _text(nb) -> str:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            text = o.get("text") or o.get("data", {}).get("text/plain", "")
            out.append("".join(text) if isinstance(text, list) else text)
    return "\n".join(out)


def test_all_seven_run_green_on_the_double_and_07_is_skipped(run):
    proc, summary, executed = run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert _status(summary) == {**dict.fromkeys(SEVEN, "ok"), "07_exam_practice": "skipped"}
    for name, nb in executed.items():
        assert noise(nb) == [], name
    # every notebook was given the workspace's names (no -p), as papermill's cell shows
    params = {r["notebook"]: r["parameters"] for r in summary["results"]}
    assert params["01_register.ipynb"]["model_name"] == MODEL
    assert params["05_batch_score.ipynb"]["output_table"] == "main.mdk.churn_scores"


def test_unity_catalog_refuses_stages_in_one_line_and_02_goes_on_to_aliases(run):
    text = _text(run[2]["02_promote"])
    assert (
        "Unity Catalog refuses this: Method 'transition_model_version_stage' is unsupported" in text
    )
    assert "Traceback" not in text
    assert "refused by Unity Catalog" in text  # the /Production and /latest URIs


def test_the_registry_holds_two_tagged_versions_and_both_aliases(run, client_env):
    """Versions 1 and 2 only: 08, unasked, registered nothing."""
    from mlflow import MlflowClient

    client = MlflowClient(registry_uri="databricks-uc")
    versions = client.search_model_versions(f"name = '{MODEL}'")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    model = client.get_registered_model(MODEL)
    assert {a: int(v) for a, v in model.aliases.items()} == {"champion": 1, "challenger": 2}
    for v in ("1", "2"):
        assert client.get_model_version(MODEL, v).tags.get("created_by") == "mdk"
    features = client.get_registered_model(FEATURE_MODEL).aliases
    assert {a: int(v) for a, v in features.items()} == {"champion": 1}


def test_the_endpoints_serve_the_aliases_versions_and_ab_ends_at_50_50(run, client_env):
    from databricks.sdk import WorkspaceClient

    w = WorkspaceClient(host=client_env.host, token=client_env.env["DATABRICKS_TOKEN"])
    serve = w.serving_endpoints.get(SERVE)
    assert [(e.entity_name, e.entity_version) for e in serve.config.served_entities] == [
        (MODEL, "1")
    ]
    ab = w.serving_endpoints.get(AB)
    assert {r.served_model_name: r.traffic_percentage for r in ab.config.traffic_config.routes} == {
        "champion": 50,
        "challenger": 50,
    }
    for endpoint in (serve, ab):
        assert {t.key: t.value for t in endpoint.tags or []}.get("created_by") == "mdk"
    monitor = w.quality_monitors.get(table_name="main.mdk.churn_ab_payload_unpacked")
    assert monitor.status and monitor.inference_log.label_col == "churned"
    assert monitor.slicing_exprs and [m.name for m in monitor.custom_metrics] == ["expected_loss"]


def test_the_tables_are_on_the_double_where_its_spark_and_endpoint_put_them(run, stack):
    from recipes import tables

    home = stack.ws  # the double's warehouse, written by its Spark server and its endpoint
    scores = tables.read("main.mdk.churn_scores", home=home)
    assert len(scores) == 100_000
    assert set(scores["model_version"].astype(int)) == {1}
    payload = tables.read("main.mdk.churn_ab_payload", home=home)
    assert len(payload) >= 500 + 2000  # 04's counted requests and 06's traffic
    unpacked = tables.read("main.mdk.churn_ab_payload_unpacked", home=home)
    assert len(unpacked) == 2000 and set(unpacked["model_version"].astype(int)) == {1, 2}
    assert unpacked["churned"].notna().all()  # 06's MERGE INTO, through databricks-connect
    listed = tables.list_tables("main.mdk", home=home)
    for suffix in ("_profile_metrics", "_drift_metrics"):
        assert f"main.mdk.churn_ab_payload_unpacked{suffix}" in listed
    # the refresh's tables: two windows of quality, and the drifted one's CONSECUTIVE drift
    profile = tables.read("main.mdk.churn_ab_payload_unpacked_profile_metrics", home=home)
    table = profile[
        (profile["log_type"] == "INPUT")
        & (profile["column_name"] == ":table")
        & (profile["model_version"] == "*")
        & profile["slice_key"].isna()
    ]
    assert table["count"].tolist() == [1000, 1000] and table["accuracy_score"].notna().all()
    drift = tables.read("main.mdk.churn_ab_payload_unpacked_drift_metrics", home=home)
    outputs = drift[
        (drift["drift_type"] == "CONSECUTIVE")
        & drift["column_name"].isin(["prediction", "churned"])
    ]
    assert {w["start"] for w in outputs["window"]} == {max(w["start"] for w in table["window"])}
    assert not (stack.home / "warehouse").exists()  # nothing landed in the laptop's own warehouse


def test_08_unasked_says_a_retrain_is_due_and_creates_nothing(run):
    text = _text(run[2]["08_retrain"])
    assert (
        "a retrain is due, but on a workspace 08 trains and registers only with "
        "register_on_workspace=True; nothing was created" in text
    )
    assert "new version: None" in text and "Traceback" not in text
