"""02_promote executed with papermill, after 01 and on its own; asserts on registry state."""

from __future__ import annotations

import pytest

from recipes import registry
from tests.notebooks.nbtools import golden_texts, outputs_text


@pytest.mark.notebook
def test_promote_after_register(run_notebook, model_name):
    run_notebook("01_register", model_name=model_name, n_rows=1000)
    nb = run_notebook("02_promote", model_name=model_name)
    assert registry.describe(model_name)["stage"].tolist() == ["Archived", "Production"]
    assert registry.aliases(model_name) == {"champion": 1, "challenger": 2}
    text = outputs_text(nb)
    # exam question 1 both ways: archive_existing_versions=False keeps both in Production,
    # True archives the old one
    stage_tables = [t.split() for t in golden_texts(nb) if t.startswith("after archive_")]
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
    assert "gate passed" in text and "(delta +0.0" in text
    assert f"models:/{model_name}/Production" in text
    # the default never moves @champion: a second run leaves it on v1
    run_notebook("02_promote", model_name=model_name)
    assert registry.aliases(model_name) == {"champion": 1, "challenger": 2}


@pytest.mark.notebook
def test_promote_alone_staging_without_archiving(run_notebook, model_name):
    nb = run_notebook(
        "02_promote",
        model_name=model_name,
        stage="Staging",
        archive_existing_versions=False,
        alias="challenger",
        alias_version=1,
    )
    table = registry.describe(model_name)
    assert table["version"].tolist() == [1, 2]  # made by the notebook itself
    assert table["stage"].tolist() == ["Staging", "Staging"]
    # v1 is the champion already: the gate refuses it as its own challenger
    assert registry.aliases(model_name) == {"champion": 1}
    assert "gate failed: version 1 already is the champion" in outputs_text(nb)


@pytest.mark.notebook
def test_champion_moves_only_when_asked_and_the_gate_blocks_a_worse_challenger(
    run_notebook, model_name
):
    run_notebook("02_promote", model_name=model_name)  # makes v1 (baseline), v2 (trees)
    run_notebook("02_promote", model_name=model_name, alias="champion", alias_version=2)
    assert registry.aliases(model_name) == {"champion": 2, "challenger": 2}
    nb = run_notebook("02_promote", model_name=model_name, alias="challenger", alias_version=1)
    assert registry.aliases(model_name) == {"champion": 2, "challenger": 2}
    assert "gate failed: version 1 roc_auc=" in outputs_text(nb)
    nb = run_notebook("02_promote", model_name=model_name, apply=False, alias="release")
    assert "release" not in registry.aliases(model_name)
    assert "not applied" in outputs_text(nb)


@pytest.mark.notebook
def test_unknown_stage_fails_in_the_first_check(run_notebook, model_name):
    import papermill

    with pytest.raises(papermill.PapermillExecutionError) as exc:
        run_notebook("02_promote", model_name=model_name, stage="Prod")
    assert exc.value.ename == "ParameterError" and "'Production'" in exc.value.evalue
