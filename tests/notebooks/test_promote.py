"""02_promote executed with papermill on its own, beyond the story's defaults; asserts on
registry state (the defaults after 01: tests/notebooks/test_story.py)."""

from __future__ import annotations

import pytest

from recipes import registry
from tests.notebooks.nbtools import outputs_text


@pytest.mark.notebook
def test_stages_without_archiving_then_the_champion_moves_only_when_asked_and_the_gate_holds(
    run_notebook, model_name
):
    # one model through five runs of 02 (each run is a kernel: about 15 s on a loaded machine)
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
    assert registry.aliases(model_name) == {"champion": 1}
    # v1 is the champion already: the gate refuses it as its own challenger
    assert "gate failed: version 1 already is the champion" in outputs_text(nb)
    run_notebook("02_promote", model_name=model_name, alias="champion", alias_version=2)
    assert registry.aliases(model_name) == {"champion": 2}
    nb = run_notebook("02_promote", model_name=model_name, alias="challenger", alias_version=1)
    assert registry.aliases(model_name) == {"champion": 2}  # the worse v1 is blocked
    assert "gate failed: version 1 roc_auc=" in outputs_text(nb)
    nb = run_notebook("02_promote", model_name=model_name, apply=False, alias="release")
    assert "release" not in registry.aliases(model_name)
    assert "not applied" in outputs_text(nb)
    # the defaults never move @champion: a rerun leaves it where it was put
    run_notebook("02_promote", model_name=model_name)
    assert registry.aliases(model_name)["champion"] == 2
