"""AliasPanel, driven headless: set ``.value``, then ``.click()`` (no kernel, no browser)."""

from __future__ import annotations

import html
import subprocess
import sys
from types import SimpleNamespace

import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from recipes import registry
from recipes.errors import NotFoundError, ParameterError
from widgets import AliasPanel

pytestmark = pytest.mark.filterwarnings("ignore:Model stages are deprecated:FutureWarning")


@pytest.fixture
def panel(trained):
    return AliasPanel(trained)


def labels(panel: AliasPanel) -> dict[int, str]:
    return {v: label for label, v in panel.version.options}


def stages(name: str) -> dict[int, str]:
    table = registry.describe(name)
    return dict(zip(table["version"], table["stage"], strict=True))


def click_set(panel: AliasPanel, version: int, alias: str) -> None:
    panel.version.value, panel.alias.value = version, alias
    panel.set_button.click()


def verdict(passed: bool, challenger: int = 2, champion: int | None = 1) -> registry.GateDecision:
    reason = "version 2 roc_auc=0.7000 does not beat version 1 roc_auc=0.7100"
    return registry.GateDecision(passed, "roc_auc", challenger, champion, 0.70, 0.71, 0.0, reason)


def test_builds_from_the_registry_without_writing(panel, trained):
    scores = registry.describe(trained, metrics=("roc_auc",)).set_index("version")["roc_auc"]
    assert labels(panel) == {v: f"v{v} · None · roc_auc {scores[v]:.4f}" for v in (1, 2)}
    assert panel.version.value == 2  # the newest version is selected
    assert (panel.alias.value, list(panel.alias.options)) == (
        "champion",
        ["champion", "challenger"],
    )
    assert panel.stage.options == registry.STAGES and panel.stage.value == "Production"
    assert panel.archive_existing_versions.value is True
    assert (panel.result, panel.error, panel.gate, panel.status.value) == (None, None, None, "")
    assert registry.aliases(trained) == {} and stages(trained) == {1: "None", 2: "None"}
    assert panel.version in panel.children and panel.status in panel.children


def test_labels_follow_stage_and_aliases(panel, trained):
    click_set(panel, 2, "champion")
    click_set(panel, 2, "challenger")
    panel.version.value, panel.stage.value = 1, "Staging"
    panel.transition_button.click()
    assert labels(panel)[1].startswith("v1 · Staging · roc_auc 0.")
    assert labels(panel)[2].startswith("v2 · None · @challenger @champion · roc_auc 0.")
    assert panel.version.value == 1  # the selection survives the refresh


def test_other_metric_in_labels(trained):
    panel = AliasPanel(trained, metric="accuracy")
    assert all(" · accuracy 0." in label for label in labels(panel).values())
    assert AliasPanel(trained, metric="no_such_metric").version.options[0][0].endswith(" n/a")


def test_set_alias_then_again_changes_nothing(panel, trained):
    click_set(panel, 2, "champion")
    assert registry.aliases(trained) == {"champion": 2}
    first = panel.result
    assert (first.alias, first.version, first.previous, first.changed) == (
        "champion",
        2,
        None,
        True,
    )
    assert "color: green" in panel.status.value and "@champion → v2" in panel.status.value
    panel.set_button.click()
    assert panel.result is not first and panel.result.changed is False
    assert "nothing changed" in panel.status.value
    click_set(panel, 1, "champion")
    assert registry.aliases(trained) == {"champion": 1} and panel.result.previous == 2


def test_typed_alias_outside_the_suggestions(panel, trained):
    click_set(panel, 1, "challenger_2")
    assert registry.aliases(trained) == {"challenger_2": 1}
    assert "@challenger_2" in labels(panel)[1]


def test_delete_alias(panel, trained):
    click_set(panel, 2, "champion")
    panel.delete_button.click()
    assert registry.aliases(trained) == {}
    assert (panel.result.version, panel.result.previous, panel.result.changed) == (None, 2, True)
    assert "@" not in labels(panel)[2] and "Deleted @champion" in panel.status.value
    panel.delete_button.click()
    assert panel.result.changed is False and "was not set" in panel.status.value


def test_transition_archives_the_previous_production_version(panel, trained):
    panel.version.value, panel.stage.value = 1, "Production"
    panel.transition_button.click()
    panel.version.value = 2
    panel.transition_button.click()
    assert stages(trained) == {1: "Archived", 2: "Production"}
    assert (panel.result.version, panel.result.archived) == (2, [1])
    assert "archived v1" in panel.status.value and labels(panel)[1].startswith("v1 · Archived")


def test_transition_without_archiving_keeps_both(panel, trained):
    panel.archive_existing_versions.value = False
    panel.version.value, panel.stage.value = 1, "Production"
    panel.transition_button.click()
    panel.version.value = 2
    panel.transition_button.click()
    assert stages(trained) == {1: "Production", 2: "Production"}
    assert panel.result.archived == [] and panel.result.previous_stage == "None"


@pytest.mark.parametrize("reserved", ["latest", "v1"])
def test_reserved_alias_is_shown_in_red_and_changes_nothing(panel, trained, reserved):
    click_set(panel, 1, "champion")
    before, before_labels = panel.result, labels(panel)
    with pytest.raises(ParameterError) as expected:
        registry.set_alias(trained, reserved, 2)
    click_set(panel, 2, reserved)
    assert panel.error == str(expected.value) and "is reserved" in panel.error
    assert (
        panel.status.value
        == f'<span style="color: red">{html.escape(panel.error, quote=False)}</span>'
    )
    assert panel.result is before and labels(panel) == before_labels
    assert registry.aliases(trained) == {"champion": 1}
    click_set(panel, 2, "champion")  # the next success clears the error
    assert panel.error is None and "color: green" in panel.status.value


def test_error_text_is_escaped(panel, trained):
    click_set(panel, 2, "<b>bad")
    assert "&lt;b&gt;bad" in panel.status.value and "<b>" not in panel.status.value
    assert panel.result is None and registry.aliases(trained) == {}


def test_missing_model_raises_at_construction(trained):
    with pytest.raises(NotFoundError, match="'no-such-model' does not exist"):
        AliasPanel("no-such-model")


def test_failed_gate_blocks_the_move(panel, trained):
    click_set(panel, 1, "champion")
    panel.gate = verdict(passed=False)
    click_set(panel, 2, "champion")
    assert registry.aliases(trained) == {"champion": 1}
    assert panel.result.blocked == verdict(False).reason and panel.result.changed is False
    assert "color: red" in panel.status.value and verdict(False).reason in panel.status.value
    assert "stays v1" in panel.status.value and panel.error is None


def test_passed_gate_moves_and_wrong_version_gate_is_an_error(panel, trained):
    panel.gate = verdict(passed=True)
    click_set(panel, 2, "champion")
    assert registry.aliases(trained) == {"champion": 2} and panel.result.blocked is None
    panel.gate = verdict(passed=True, challenger=1, champion=2)
    click_set(panel, 2, "challenger")
    assert "verdict is for version 1, not 2" in panel.error
    assert registry.aliases(trained) == {"champion": 2}


def test_apply_sets_values_and_clicks(panel, trained):
    result = panel.apply(version=1, alias="challenger")
    assert result is panel.result and registry.aliases(trained) == {"challenger": 1}
    assert (panel.version.value, panel.alias.value) == (1, "challenger")
    panel.apply(version=1, stage="production", action="transition_stage")
    panel.apply(version=2, stage="Production", action="transition_stage")
    assert stages(trained) == {1: "Archived", 2: "Production"} and panel.stage.value == "Production"
    assert panel.apply(action="delete_alias").previous == 1
    assert registry.aliases(trained) == {}


def test_apply_raises_what_the_status_shows(panel, trained):
    with pytest.raises(ParameterError, match="reserved"):
        panel.apply(version=2, alias="latest")
    assert "color: red" in panel.status.value
    assert panel.apply(alias="latest", raise_errors=False) is None
    with pytest.raises(NotFoundError, match="no version 9: have 1, 2"):
        panel.apply(version=9)
    with pytest.raises(ParameterError, match="Unknown action 'promote'"):
        panel.apply(action="promote")
    with pytest.raises(ParameterError, match="Unknown stage 'Prod'"):
        panel.apply(stage="Prod", action="transition_stage")
    assert registry.aliases(trained) == {} and stages(trained) == {1: "None", 2: "None"}


def test_refresh_keeps_selection_and_sees_outside_changes(panel, trained):
    panel.version.value = 1
    registry.set_alias(trained, "champion", 1)
    panel.refresh()
    assert panel.version.value == 1 and "@champion" in labels(panel)[1]
    panel.version.value = 2
    MlflowClient().delete_model_version(trained, "2")
    panel.refresh()
    assert list(labels(panel)) == [1] and panel.version.value == 1


def test_apply_finds_a_version_registered_after_construction(panel, trained):
    run_id = registry.describe(trained)["run_id"].iloc[0]
    assert registry.register(f"runs:/{run_id}/model", trained) == 3
    panel.apply(version=3, alias="challenger")
    assert registry.aliases(trained) == {"challenger": 3} and 3 in labels(panel)


def test_injected_registry_and_mlflow_errors():
    def set_alias(name, alias, version):
        raise MlflowException("RESOURCE_EXHAUSTED:\n  try again later")

    table = pd.DataFrame(
        [{"version": 7, "stage": "Candidate", "aliases": "", "roc_auc": 0.5}],
        columns=["version", "stage", "aliases", "tags", "roc_auc", "run_id"],
    )
    fake = SimpleNamespace(
        STAGES=("Candidate", "Live"), describe=lambda name, metrics: table, set_alias=set_alias
    )
    panel = AliasPanel("m", registry=fake)
    assert labels(panel) == {7: "v7 · Candidate · roc_auc 0.5000"}
    assert panel.stage.options == ("Candidate", "Live") and panel.stage.value == "Candidate"
    panel.set_button.click()
    assert panel.error == "MlflowException: RESOURCE_EXHAUSTED: try again later"
    assert "color: red" in panel.status.value and panel.result is None
    with pytest.raises(MlflowException):
        panel.apply()


def test_importing_widgets_has_no_side_effects(tmp_path):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    code = "import sys, widgets; print(sorted({'mlflow', 'sklearn'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]" and list(cwd.iterdir()) == []
