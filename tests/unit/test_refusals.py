"""registry.unity_catalog_refuses: UC's refusals in one line, nothing caught elsewhere."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.exceptions import MlflowException

from recipes import registry
from recipes.registry.refusals import refusal

UC_STAGES = (
    "Method 'transition_model_version_stage' is unsupported for models in the Unity Catalog."
)


def test_off_unity_catalog_nothing_is_caught():
    refuses = registry.unity_catalog_refuses(instead="aliases")
    with pytest.raises(MlflowException, match="unsupported"), refuses:
        raise MlflowException(UC_STAGES)


def test_on_unity_catalog_the_refusal_is_one_line_and_the_rest_of_the_block_is_skipped(capsys):
    mlflow.set_registry_uri("databricks-uc")
    ran = []
    with registry.unity_catalog_refuses(instead="aliases: set_registered_model_alias"):
        raise MlflowException(UC_STAGES + " More text.\nAnd a second line.")
        ran.append("after")  # noqa: B018 - never reached
    out = capsys.readouterr().out
    assert (
        out
        == f"Unity Catalog refuses this: {UC_STAGES} Instead: aliases: set_registered_model_alias\n"
    )
    assert ran == []


def test_on_unity_catalog_any_other_error_is_raised(capsys):
    mlflow.set_registry_uri("databricks-uc")
    refuses = registry.unity_catalog_refuses(instead="aliases")
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"), refuses:
        raise MlflowException("RESOURCE_DOES_NOT_EXIST: no such model")
    with pytest.raises(KeyError), registry.unity_catalog_refuses(instead="aliases"):
        raise KeyError("x")
    assert capsys.readouterr().out == ""


def test_refusal_reads_mlflows_uc_messages():
    stage_uri = (
        "Method 'get_latest_versions' is unsupported for models in the Unity Catalog. "
        "Detected attempt to load latest model version in stages ['Production']."
    )
    assert refusal(MlflowException(stage_uri)) == (
        "Method 'get_latest_versions' is unsupported for models in the Unity Catalog."
    )
    assert refusal(MlflowException("timed out")) is None
    assert refusal(ValueError(UC_STAGES)) is None  # only MLflow's own refusals


def test_describe_asks_each_version_for_its_tags_where_search_gives_none(trained, monkeypatch):
    from mlflow.entities.model_registry.model_version_search import ModelVersionSearch

    client = mlflow.MlflowClient()
    client.set_model_version_tag(trained, "2", "team", "growth")
    plain = client.search_model_versions

    def uc_like(*args, **kwargs):  # what Unity Catalog's search returns: versions without tags
        return [
            ModelVersionSearch(mv.name, mv.version, mv.creation_timestamp, run_id=mv.run_id)
            for mv in plain(*args, **kwargs)
        ]

    monkeypatch.setattr(
        mlflow.MlflowClient, "search_model_versions", lambda self, *a, **k: uc_like(*a, **k)
    )
    table = registry.describe(trained)
    assert table.loc[table["version"] == 2, "tags"].item() == "team=growth"
