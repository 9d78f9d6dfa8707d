"""Registry verbs against a real (sqlite) MLflow registry."""

from __future__ import annotations

import mlflow
import pytest

from recipes import registry
from recipes.errors import NotFoundError, ParameterError, UnsupportedOnTarget


def test_describe_lists_versions_with_metrics(trained):
    df = registry.describe(trained)
    assert df["version"].tolist() == [1, 2]
    assert df["stage"].tolist() == ["None", "None"]
    assert df["roc_auc"].between(0.5, 1.0).all()
    assert df["run_id"].str.fullmatch(r"[0-9a-f]{32}").all()


def test_transition_archives_previous_production(trained):
    registry.transition_stage(trained, 1, "production")
    change = registry.transition_stage(trained, 2, "Production", archive_existing_versions=True)
    assert change.archived == [1] and change.previous_stage == "None"
    assert registry.describe(trained)["stage"].tolist() == ["Archived", "Production"]


def test_transition_without_archive_keeps_both(trained):
    registry.transition_stage(trained, 1, "Staging")
    change = registry.transition_stage(trained, 2, "Staging", archive_existing_versions=False)
    assert change.archived == []
    assert registry.describe(trained)["stage"].tolist() == ["Staging", "Staging"]


def test_transition_default_is_mlflows_own_and_keeps_both_in_production(trained):
    """Exam question 1, option A: without archive_existing_versions, MLflow's default False."""
    import inspect

    from mlflow import MlflowClient

    mlflow_default = (
        inspect.signature(MlflowClient.transition_model_version_stage)
        .parameters["archive_existing_versions"]
        .default
    )
    kit_default = (
        inspect.signature(registry.transition_stage).parameters["archive_existing_versions"].default
    )
    assert kit_default is mlflow_default is False
    registry.transition_stage(trained, 1, "Production")
    change = registry.transition_stage(trained, 2, "Production")
    assert change.archived == []
    assert registry.describe(trained)["stage"].tolist() == ["Production", "Production"]


def test_transition_dry_run_writes_nothing(trained):
    registry.transition_stage(trained, 1, "Production")
    change = registry.transition_stage(
        trained, 2, "Production", archive_existing_versions=True, dry_run=True
    )
    assert change.dry_run and change.archived == [1]
    assert registry.describe(trained)["stage"].tolist() == ["Production", "None"]


def test_stage_deprecation_warns_once(trained, monkeypatch):
    monkeypatch.setattr(registry.stages, "_stage_warning_shown", False)
    with pytest.warns(FutureWarning, match="set_alias") as record:
        registry.transition_stage(trained, 1, "Staging")
        registry.transition_stage(trained, 2, "Staging")
    assert len([w for w in record if issubclass(w.category, FutureWarning)]) == 1


def test_set_alias_checks_before_writing(trained):
    first = registry.set_alias(trained, "champion", 1)
    again = registry.set_alias(trained, "champion", 1)
    moved = registry.set_alias(trained, "champion", "2")
    assert (first.changed, again.changed, moved.changed) == (True, False, True)
    assert moved.previous == 1 and moved.version == 2
    assert registry.aliases(trained) == {"champion": 2}


def test_alias_dry_run_and_delete(trained):
    dry = registry.set_alias(trained, "challenger", 2, dry_run=True)
    assert dry.changed and registry.aliases(trained) == {}
    registry.set_alias(trained, "challenger", 2)
    gone = registry.delete_alias(trained, "challenger")
    assert gone.changed and gone.previous == 2 and registry.aliases(trained) == {}
    assert registry.delete_alias(trained, "challenger").changed is False


def test_ensure_alias_never_moves(trained):
    registry.ensure_alias(trained, "champion", 1)
    kept = registry.ensure_alias(trained, "champion", 2)
    assert not kept.changed and registry.aliases(trained)["champion"] == 1


@pytest.mark.parametrize(
    "ref,expected",
    [
        ("latest", 2),
        (1, 1),
        ("2", 2),
        ("@champion", 1),
        ("champion", 1),
        ("Production", 2),
        ("production", 2),
    ],
)
def test_version_of(trained, ref, expected):
    registry.set_alias(trained, "champion", 1)
    registry.transition_stage(trained, 2, "Production")
    assert registry.version_of(trained, ref) == expected


def test_model_uri_forms():
    assert registry.model_uri("m") == "models:/m/latest"
    assert registry.model_uri("m", alias="@champion") == "models:/m@champion"
    assert registry.model_uri("m", stage="production") == "models:/m/Production"
    assert registry.model_uri("m", version="3") == "models:/m/3"
    with pytest.raises(ParameterError):
        registry.model_uri("m", alias="a", version=1)


def test_load_uris_resolves_each_form(trained):
    registry.set_alias(trained, "champion", 1)
    registry.transition_stage(trained, 2, "Production")
    uris = [
        f"models:/{trained}/Production",
        f"models:/{trained}@champion",
        f"models:/{trained}/1",
        f"models:/{trained}/latest",
    ]
    table = registry.load_uris(uris)
    assert table["version"].tolist() == [2, 1, 1, 2]
    assert set(table["prediction"]) <= {0, 1}


def test_register_and_annotate(trained):
    mv = registry.versions(trained)[0]
    v = registry.register(f"runs:/{mv.run_id}/model", trained, tags={"k": "v"}, description="again")
    assert v == 3 and isinstance(v, int)
    registry.annotate(trained, tags={"team": "growth"}, description="the model")
    registry.annotate(trained, version=v, tags={"registered_via": "register_model"})
    client = mlflow.MlflowClient()
    assert client.get_registered_model(trained).tags["team"] == "growth"
    got = client.get_model_version(trained, "3")
    assert got.tags == {"k": "v", "registered_via": "register_model"} and got.description == "again"


def test_validation_gate_passes_better_and_blocks_worse(trained):
    registry.set_alias(trained, "champion", 2)
    registry.set_alias(trained, "challenger", 1)
    worse = registry.validate_challenger(trained, "@challenger", "@champion", min_improvement=0.01)
    assert not worse.passed and worse.champion_version == 2 and worse.challenger_version == 1
    blocked = registry.set_alias(trained, "champion", 1, gate=worse)
    assert blocked.blocked and not blocked.changed
    assert registry.aliases(trained)["champion"] == 2
    lenient = registry.validate_challenger(trained, 1, 2, min_improvement=-1.0)
    assert lenient.passed
    assert registry.set_alias(trained, "champion", 1, gate=lenient).changed


def test_gate_without_champion_passes(trained):
    verdict = registry.validate_challenger(trained, 2, "@champion")
    assert verdict.passed and verdict.champion_version is None


def test_gate_for_other_version_is_refused(trained):
    verdict = registry.validate_challenger(trained, 2, "@champion")
    with pytest.raises(ParameterError, match="verdict is for version 2"):
        registry.set_alias(trained, "champion", 1, gate=verdict)


# Bad input: one line, naming the fix.
@pytest.mark.parametrize(
    "call,error,match",
    [
        (
            lambda m: registry.transition_stage(m, 7, "Production"),
            NotFoundError,
            "has no version 7: existing versions are 1, 2",
        ),
        (
            lambda m: registry.set_alias("no-such-model", "champion", 1),
            NotFoundError,
            "does not exist: register it first",
        ),
        (lambda m: registry.set_alias(m, "latest", 1), ParameterError, "reserved"),
        (lambda m: registry.set_alias(m, "v1", 1), ParameterError, "reserved"),
        (lambda m: registry.set_alias(m, "V2", 1), ParameterError, "reserved"),
        (lambda m: registry.set_alias(m, "bad alias!", 1), ParameterError, "letters, digits"),
        (
            lambda m: registry.transition_stage(m, 1, "Prod"),
            ParameterError,
            "use one of None, Staging, Production, Archived",
        ),
        (lambda m: registry.version_of(m, "Staging"), NotFoundError, "no version in stage"),
        (lambda m: registry.version_of(m, "@ghost"), NotFoundError, "set it with set_alias"),
        (lambda m: registry.transition_stage(m, 0, "Production"), ParameterError, "positive"),
        (lambda m: registry.register("not-a-uri", m), ParameterError, "runs:/<run_id>/model"),
        (lambda m: registry.parse_uri("runs:/x/model"), ParameterError, "models:/"),
    ],
)
def test_bad_input_is_one_line(trained, call, error, match):
    with pytest.raises(error, match=match) as exc:
        call(trained)
    assert "\n" not in str(exc.value)
    assert exc.value._render_traceback_()[0].endswith(str(exc.value))


@pytest.mark.parametrize(
    "call",
    [
        lambda: registry.transition_stage("main.ml.churn", 1, "Production"),
        lambda: registry.version_of("main.ml.churn", "Production"),
        lambda: registry.version_of("main.ml.churn", "latest"),
        lambda: registry.model_uri("main.ml.churn", stage="Production"),
        lambda: registry.model_uri("main.ml.churn"),
    ],
)
def test_unity_catalog_refuses_stages_and_latest(call):
    mlflow.set_registry_uri("databricks-uc")  # checked before any network call
    with pytest.raises(UnsupportedOnTarget, match="alias") as exc:
        call()
    assert "\n" not in str(exc.value)


def test_unity_catalog_needs_three_level_names(monkeypatch):
    mlflow.set_registry_uri("databricks-uc")
    with pytest.raises(ParameterError, match="three levels, got 'churn-predictor'"):
        registry.require_model("churn-predictor")
    monkeypatch.setenv("MDK_SCHEMA", "ml")  # the hint names the setting's model
    with pytest.raises(ParameterError, match=r"model_name='main\.ml\.churn_predictor'"):
        registry.register("runs:/abc/model", "churn")
    from recipes.train import train_and_log

    with pytest.raises(ParameterError, match="three levels"):  # before any training
        train_and_log(100, registered_model_name="churn-predictor")
