"""01_register executed with papermill; assertions on the registry state it leaves."""

from __future__ import annotations

import mlflow
import papermill
import pytest

from recipes import registry
from recipes.errors import NotFoundError
from tests.notebooks.nbtools import outputs_text


def _version_tags(name):
    client = mlflow.MlflowClient()
    return {int(mv.version): mv.tags for mv in client.search_model_versions(f"name = '{name}'")}


@pytest.mark.notebook
def test_register_a_baseline_and_a_better_challenger(run_notebook, model_name):
    nb = run_notebook("01_register", model_name=model_name)
    table = registry.describe(model_name)
    assert table["version"].tolist() == [1, 2]
    assert table["stage"].tolist() == ["None", "None"]
    tags = _version_tags(model_name)
    assert tags[1]["model_type"] == "logistic_regression"
    assert tags[2]["model_type"] == "gradient_boosting"
    client = mlflow.MlflowClient()
    model = client.get_registered_model(model_name)
    assert model.tags == {"team": "growth", "use_case": "churn"}
    assert "churn" in model.description
    assert "registered during logging" in client.get_model_version(model_name, "1").description
    assert "registered from its run" in client.get_model_version(model_name, "2").description
    # v1 came from log_model(registered_model_name=...), v2 from register_model("runs:/...")
    runs = {
        v: client.get_run(r).data.params["kind"]
        for v, r in zip(table["version"], table["run_id"], strict=True)
    }
    assert runs == {1: "baseline", 2: "challenger"}
    # the story's gap, on the held-out rows the runs logged
    gap = table.set_index("version")
    assert gap.loc[2, "accuracy"] - gap.loc[1, "accuracy"] >= 0.08
    assert gap.loc[2, "roc_auc"] - gap.loc[1, "roc_auc"] >= 0.05
    text = outputs_text(nb)
    assert "Version: 2" in text and "versions tagged model_type=gradient_boosting: [2]" in text


@pytest.mark.notebook
def test_register_twice_with_other_seed_adds_versions(run_notebook, model_name):
    run_notebook("01_register", model_name=model_name, n_rows=300, seed=3)
    run_notebook("01_register", model_name=model_name, n_rows=300, seed=4)
    table = registry.describe(model_name)
    assert table["version"].tolist() == [1, 2, 3, 4]
    runs = mlflow.search_runs(experiment_names=["churn-predictor"], output_format="list")
    seeds = {r.data.params["seed"] for r in runs if r.info.run_id in set(table["run_id"])}
    assert seeds == {"3", "4"}


@pytest.mark.notebook
@pytest.mark.parametrize(
    "params,ename,match",
    [
        ({"n_rows": "many"}, "ParameterError", "'n_rows' must be int, got str 'many'"),
        ({"seed": 1.5}, "ParameterError", "'seed' must be int"),
        ({"target": "aws"}, "ParameterError", "use one of 'local', 'databricks'"),
    ],
)
def test_bad_parameter_fails_in_the_first_check(run_notebook, model_name, params, ename, match):
    with pytest.raises(papermill.PapermillExecutionError) as exc:
        run_notebook("01_register", model_name=model_name, **params)
    assert exc.value.ename == ename and match in exc.value.evalue
    # the first code cell after the parameters (and papermill's injected cell) failed
    assert exc.value.exec_count == 3
    with pytest.raises(NotFoundError):
        registry.require_model(model_name)  # nothing was written
