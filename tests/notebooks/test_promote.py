"""02_promote executed with papermill on its own, beyond the story's defaults; asserts on
registry state (the defaults after 01: tests/notebooks/test_story.py)."""

from __future__ import annotations

import pytest

from recipes import registry
from tests.notebooks.nbtools import outputs_text


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
    assert registry.aliases(model_name) == {"champion": 1, "challenger": 2}
    run_notebook("02_promote", model_name=model_name, alias="champion", alias_version=2)
    assert registry.aliases(model_name) == {"champion": 2, "challenger": 2}
    nb = run_notebook("02_promote", model_name=model_name, alias="challenger", alias_version=1)
    assert registry.aliases(model_name) == {"champion": 2, "challenger": 2}
    assert "gate failed: version 1 roc_auc=" in outputs_text(nb)
    nb = run_notebook("02_promote", model_name=model_name, apply=False, alias="release")
    assert "release" not in registry.aliases(model_name)
    assert "not applied" in outputs_text(nb)
    # the defaults never move @champion: a rerun leaves it where it was put
    run_notebook("02_promote", model_name=model_name)
    assert registry.aliases(model_name) == {"champion": 2, "challenger": 2}
