"""07_exam_practice executed with papermill: the default run (every option of every question,
its golden cells compared with nbval's own comparison), a short selection, and a workspace
target, which stops in the first check.

Each run practises on a model name of its own against the session's tracking server, in its
own MDK_HOME; what its lab starts (the serving endpoint, the workspace double) it stops, and
the fixture below stops by pid whatever a failed kernel would leave.
"""

from __future__ import annotations

import json

import papermill
import pytest

from recipes.exam import BANK
from tests.notebooks import golden_check
from tests.notebooks.nbtools import NOTEBOOKS, golden_texts, outputs_text

pytestmark = [pytest.mark.notebook, pytest.mark.spark, pytest.mark.server]

NAME = "07_exam_practice"


def _stop_leftovers(home) -> None:
    import psutil

    from recipes import stack

    stack.stop("serving", home=home)
    stack.stop("mlflow", home=home / "exam" / "uc-mlflow")
    record = home / "exam" / "uc" / "double.json"
    if record.exists():
        pid = json.loads(record.read_text())["pid"]
        try:
            proc = psutil.Process(pid)
            if "recipes.workspace" in " ".join(proc.cmdline()):
                proc.terminate()
                proc.wait(10)
        except psutil.Error:
            pass


@pytest.fixture
def practice_home(mdk_home):
    """The test's MDK_HOME; anything a failed run left running there is stopped after."""
    try:
        yield mdk_home
    finally:
        _stop_leftovers(mdk_home)


def _versions(name: str) -> dict[int, str]:
    import mlflow

    found = mlflow.MlflowClient().search_model_versions(f"name = '{name}'")
    return {int(v.version): v.current_stage for v in found}


def _markdown(cell) -> str:
    """The Markdown a code cell displayed (the question runs are shown as Markdown)."""
    return "".join(
        "".join(o.get("data", {}).get("text/markdown", "")) for o in cell.get("outputs", [])
    )


def _picture_names(nb) -> list[str]:
    return [
        o.get("metadata", {}).get("image/png", {}).get("name")
        for c in nb.cells
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]


@pytest.mark.xdist_group("exam-practice-all")
def test_the_default_run_runs_every_option_and_matches_its_golden_cells(
    run_notebook, model_name, practice_home
):
    import mlflow

    from recipes import stack

    nb = run_notebook(NAME, model_name=model_name)
    diffs = golden_check.differences(NOTEBOOKS / f"{NAME}.ipynb", nb)
    assert not diffs, "\n\n".join(diffs)
    lines = golden_texts(nb)[-1].splitlines()
    assert lines == [f"{q.id} {q.answer} 4/4" for q in BANK]
    # the runs themselves point at the bank's answers (the summary's runs_point_to column)
    text = outputs_text(nb)
    shown = "".join(_markdown(c) for c in nb.cells)
    for q in BANK:
        assert f"**Answer: {q.answer}.** The runs point to: {q.answer}." in shown, q.id
    assert "Q1 A: wrong; answer B" in text  # the QuizPanel cell ran an option itself
    assert {"Q2-A", "Q3-C", "Q4-B", "Q10-A", "Q16-A"} <= set(_picture_names(nb))
    # what it left: the practice model's stages, and nothing running
    client = mlflow.MlflowClient()
    # Q5 left v1 alone in Production; the QuizPanel then ran Q1's option A (both there)
    assert _versions(model_name) == {1: "Production", 2: "Production"}
    aliases = client.get_registered_model(model_name).aliases
    assert aliases == {"champion": "1", "exam_a": "2", "exam_b": "1"}
    assert _versions(f"{model_name}-typed") and _versions(f"{model_name}-features")
    assert not any(s.alive for s in stack.status(practice_home))
    assert (practice_home / "warehouse" / "main" / "exam" / "exam_ab_payload").exists()


def test_a_selection_runs_only_those_questions(run_notebook, model_name, practice_home):
    import mlflow

    from recipes import stack

    nb = run_notebook(NAME, questions="Q7,Q16", model_name=model_name)
    assert golden_texts(nb)[-1].splitlines() == ["Q7 B 4/4", "Q16 B 4/4"]
    shown = [_markdown(c) for c in nb.cells if c.source.startswith("exam.show(practice.run(")]
    assert sum(m.startswith("### Q") for m in shown) == 2
    assert sum("Not selected" in m for m in shown) == len(BANK) - 2
    assert mlflow.MlflowClient().get_registered_model(model_name).aliases == {
        "exam_a": "2",
        "exam_b": "1",
    }
    assert stack.read_record("serving", home=practice_home) is None  # Q7 and Q16 need no endpoint
    assert "Q16-A" in _picture_names(nb)


def test_a_workspace_target_stops_in_the_first_check_and_makes_nothing(
    tmp_path, model_name, practice_home
):
    import mlflow

    with pytest.raises(papermill.PapermillExecutionError) as err:
        papermill.execute_notebook(
            str(NOTEBOOKS / f"{NAME}.ipynb"), str(tmp_path / "out.ipynb"),
            parameters={"target": "databricks", "model_name": model_name},
            kernel_name="python3", progress_bar=False,
        )  # fmt: skip
    assert err.value.ename == "KitError"
    assert "Exam practice runs on the local stack only (target 'databricks')" in err.value.evalue
    assert "\n" not in err.value.evalue.strip()
    assert err.value.cell_index == 3  # the first check (after the opening, the parameters
    # cell and the injected one)
    assert mlflow.MlflowClient().search_registered_models(f"name = '{model_name}'") == []
    assert not (practice_home / "exam").exists()
