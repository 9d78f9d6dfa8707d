"""recipes.workspace_names: one setting (MDK_CATALOG, MDK_SCHEMA, MDK_EXPERIMENT_DIR) for every default
name on a workspace; locally nothing changes."""

from __future__ import annotations

import pytest

from recipes import target, workspace_names
from recipes.errors import ParameterError

# the parameters the notebooks declare, with their local defaults (as in their parameters cells)
NOTEBOOK_DEFAULTS = {
    "target": "databricks",
    "model_name": "churn-predictor",
    "model_uri": "models:/churn-predictor@champion",
    "output_table": "main.predictions.churn_scores",
    "catalog": "main",
    "schema": "mdk",
    "endpoint_name": "churn-ab",
    "n_rows": 5000,
}


def test_locally_nothing_changes():
    env = {"MDK_CATALOG": "prod", "MDK_SCHEMA": "ml", "MDK_EXPERIMENT_DIR": "/Users/me"}
    local = workspace_names.for_target("local", env)
    assert (local.model_name, local.catalog, local.schema) == ("churn-predictor", "main", "mdk")
    assert local.experiment("churn-predictor") == "churn-predictor"
    params = dict(NOTEBOOK_DEFAULTS, target="local")
    assert workspace_names.apply(params, "local", env) == params


def test_databricks_defaults_without_settings():
    n = workspace_names.for_target("databricks", {})
    assert n.model_name == "main.mdk.churn_predictor"
    assert n.table("churn_scores") == "main.mdk.churn_scores"
    assert n.experiment("churn-predictor") == "/Shared/mdk/churn-predictor"
    assert n.experiment("/Users/me/x") == "/Users/me/x"  # an absolute path is kept
    assert n.model_uri() == "models:/main.mdk.churn_predictor@champion"


def test_one_setting_names_the_model_the_tables_and_the_experiment():
    env = {
        "MDK_CATALOG": "prod",
        "MDK_SCHEMA": "churn",
        "MDK_EXPERIMENT_DIR": "/Users/me@x.com/mdk/",
    }
    got = workspace_names.apply(NOTEBOOK_DEFAULTS, "databricks", env)
    assert got == dict(
        NOTEBOOK_DEFAULTS,
        model_name="prod.churn.churn_predictor",
        model_uri="models:/prod.churn.churn_predictor@champion",
        output_table="prod.churn.churn_scores",
        catalog="prod",
        schema="churn",
    )
    assert workspace_names.for_target("databricks", env).experiment("e") == "/Users/me@x.com/mdk/e"


def test_a_value_passed_with_p_wins():
    env = {"MDK_CATALOG": "prod"}
    params = dict(NOTEBOOK_DEFAULTS, model_name="dev.a.b", output_table="dev.a.scores")
    got = workspace_names.apply(params, "databricks", env)
    assert (got["model_name"], got["output_table"]) == ("dev.a.b", "dev.a.scores")
    assert got["catalog"] == "prod"  # still the local default: replaced


@pytest.mark.parametrize(
    ("env", "fix"),
    [
        ({"MDK_CATALOG": "my-catalog"}, "MDK_CATALOG=main"),
        ({"MDK_SCHEMA": "a.b"}, "MDK_SCHEMA=mdk"),
        ({"MDK_EXPERIMENT_DIR": "Shared/mdk"}, "MDK_EXPERIMENT_DIR=/Shared/mdk"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_fix(env, fix):
    with pytest.raises(ParameterError) as caught:
        workspace_names.for_target("databricks", env)
    assert fix in str(caught.value) and "\n" not in str(caught.value)


def test_the_target_places_experiments_with_the_setting(monkeypatch):
    monkeypatch.setenv("MDK_EXPERIMENT_DIR", "/Users/me/kit")
    assert target.resolve("databricks").experiment_path("churn") == "/Users/me/kit/churn"
    assert target.resolve("local").experiment_path("churn") == "churn"
