"""QuizPanel, driven headless: set ``.value``, then ``.click()`` (no kernel, no browser)."""

from __future__ import annotations

import pytest

from recipes import registry
from recipes.errors import NotFoundError, ParameterError
from recipes.exam import BANK, SMALL, Lab
from tests.exam.fakes import FakeLab, fake_question
from widgets import QuizPanel

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


@pytest.fixture
def fake():
    lab = FakeLab()
    panel = QuizPanel(bank=(fake_question("Q1", "B"), fake_question("Q2", "D", boom="A")), lab=lab)
    return panel, lab


def test_builds_without_running_anything():
    panel = QuizPanel()
    assert [v for _, v in panel.question.options] == [q.id for q in BANK]
    assert panel.question.value == "Q1" and panel._lab is None  # no lab until Run it
    assert "version 3 in Production" in panel.text.value
    assert [v for _, v in panel.option.options] == ["A", "B", "C", "D"]
    assert panel.option.options[1][0].startswith("B) client.transition_model_version_stage(")
    assert (panel.result, panel.history, panel.error, panel.outcome.value) == (None, [], None, "")
    assert "Score: 0 right of 0" in panel.score.value
    assert panel.run_button in panel.children and panel.verdict in panel.children


def test_choose_runs_the_option_and_says_right_or_wrong(fake):
    panel, lab = fake
    wrong = panel.choose("Q1", "A")
    assert (wrong.correct, wrong.letter, wrong.answer, wrong.outcome) == (False, "A", "B", "A ran")
    assert "Not quite: the answer is B" in panel.verdict.value and "because" in panel.verdict.value
    assert "A ran" in panel.outcome.value
    right = panel.choose("Q1", "b")
    assert (
        right.correct and "Right." in panel.verdict.value and "color: green" in panel.verdict.value
    )
    assert panel.history == [wrong, right] and panel.result is right
    assert "library chatter" in "".join(lab.printed)  # printed output stays out of the panel


def test_the_score_counts_each_questions_first_answer(fake):
    panel, _ = fake
    panel.choose("Q1", "A")
    panel.choose("Q1", "B")  # a second try does not change the score
    assert "Score: 0 right of 1 question(s)" in panel.score.value
    panel.choose("Q2", "D")
    assert "Score: 1 right of 2 question(s)" in panel.score.value
    assert panel.first_answers == {"Q1": False, "Q2": True}


def test_a_check_that_cannot_run_is_reported_not_raised(fake):
    panel, _ = fake
    choice = panel.choose("Q2", "A")
    assert not choice.correct and choice.details.status == "broken"
    assert "could not run" in panel.outcome.value and "the lab is on fire" in panel.outcome.value


def test_picking_a_question_shows_its_options(fake):
    panel, _ = fake
    panel.choose("Q1", "A")
    panel.question.value = "Q2"
    assert panel.text.value.startswith("<b>Q2.</b>") and panel.outcome.value == ""
    assert panel.option.value == "A"


def test_unknown_question_or_letter(fake):
    panel, _ = fake
    with pytest.raises(NotFoundError, match="No question 'Q9'"):
        panel.choose("Q9", "A")
    with pytest.raises(ParameterError, match="not 'E'"):
        panel.choose("Q1", "E")
    with pytest.raises(ParameterError, match="at least one question"):
        QuizPanel(bank=())


def test_on_a_workspace_target_the_run_is_refused_in_red(monkeypatch):
    from recipes.errors import KitError

    monkeypatch.setenv("MDK_TARGET", "databricks")
    panel = QuizPanel()  # building is fine: nothing runs until Run it
    with pytest.raises(KitError, match="local stack only"):
        panel.choose("Q7", "B")
    assert "local stack only" in panel.error and "color: red" in panel.verdict.value
    assert panel.history == [] and panel._lab is None


def test_q1_for_real_on_the_registry(trained):
    lab = Lab("local", model_name=trained, sizes=SMALL)
    panel = QuizPanel(lab=lab)
    try:
        a = panel.choose("Q1", "A")
        assert not a.correct and "both versions are now in Production" in a.outcome
        assert registry.describe(trained)["stage"].tolist() == ["Production", "Production"]
        assert "<table" in panel.outcome.value  # the stage table it left
        b = panel.choose("Q1", "B")
        assert b.correct and registry.describe(trained)["stage"].tolist() == [
            "Archived",
            "Production",
        ]
        assert "Score: 0 right of 1" in panel.score.value
    finally:
        panel.close()
    assert lab._closed is False  # the panel closes only a lab it made
    lab.close()
