"""Golden notebook outputs for nbval: keep them in marked cells only, and refresh them; and
the cells a notebook takes from the code (07's question cells).

A committed notebook holds outputs only in cells whose source starts with
``# NBVAL_CHECK_OUTPUT``; ``pytest --nbval-lax`` re-runs the notebook and compares those.
:func:`refresh` re-executes notebooks in a fresh, embedded ``MDK_HOME`` (so versions start
at 1, exactly as in the nbval run) and writes back the golden outputs alone.

Some cells are generated rather than typed: 07_exam_practice states each question of
:data:`recipes.exam.BANK` and runs it, two cells per question (:func:`question_cells`).
:func:`write_generated_cells` rewrites them from the bank without executing anything
(``python -m recipes.tooling.golden``); :func:`refresh` (``mdk golden``) does it first.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import nbformat

from recipes.errors import KitError
from recipes.exam import BANK, Question, render_question
from recipes.target import scoped_env

MARK = "# NBVAL_CHECK_OUTPUT"
EXAM_PRACTICE = "07_exam_practice"


def is_golden(cell) -> bool:
    """True for a code cell whose first line is the nbval golden mark."""
    return cell.get("cell_type") == "code" and cell.get("source", "").lstrip().startswith(MARK)


def stray_outputs(nb) -> list[int]:
    """Indexes of code cells that hold outputs or an execution count but are not golden."""
    return [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and not is_golden(cell)
        and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]


def clean(nb, golden_from=None):
    """Strip every output except golden ones (taken from ``golden_from`` when given).

    Args:
        nb: the notebook to clean, changed in place and returned.
        golden_from: an executed copy of the same notebook; its golden outputs replace
            ``nb``'s. Cells are matched by cell id (papermill keeps ids), else by source,
            so two golden cells with the same source each keep their own output.
    """
    by_id, by_source = {}, {}
    if golden_from is not None:
        golden = [c for c in golden_from.cells if is_golden(c)]
        by_id = {c["id"]: c for c in golden if c.get("id")}
        by_source = {c.source: c for c in golden}
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        if not is_golden(cell):
            cell.execution_count = None
            cell.outputs = []
        elif (same := by_id.get(cell.get("id")) or by_source.get(cell.source)) is not None:
            # nbval skips golden cells that have no execution count
            cell.execution_count = same.execution_count
            cell.outputs = same.get("outputs", [])
    nb.metadata.pop("papermill", None)
    return nb


def question_cells(bank: Iterable[Question] = BANK) -> list:
    """07's two cells per question of ``bank``, in its order: the question as the exam words
    it (Markdown, :func:`recipes.exam.render_question`), then the code that runs all its
    options and shows what each did. Cell ids follow the question's (``q3-question``,
    ``q3-run``)."""
    cells = []
    for q in bank:
        key = q.id.lower()
        cells.append(nbformat.v4.new_markdown_cell(render_question(q), id=f"{key}-question"))
        cells.append(
            nbformat.v4.new_code_cell(f'exam.show(practice.run("{q.id}"))', id=f"{key}-run")
        )
    return cells


_QUESTION_ID = re.compile(r"q\d+-(question|run)")
_QUESTION_SOURCE = re.compile(r'### Q\d+ · |exam\.show\(practice\.run\("Q\d+"\)\)$')


def _is_question_cell(cell) -> bool:
    return bool(_QUESTION_ID.fullmatch(cell.get("id") or "") or _QUESTION_SOURCE.match(cell.source))


def with_question_cells(nb, bank: Iterable[Question] = BANK):
    """``nb`` (07) with its question cells replaced by :func:`question_cells` of ``bank``.

    The question cells are the Markdown cells that state a question (``### Q<n> · ...``) and
    the code cells that run one (``exam.show(practice.run("Q<n>"))``); they stand together,
    and the new ones take their place.

    Raises:
        KitError: ``nb`` has no question cells, or other cells stand between them.
    """
    at = [i for i, cell in enumerate(nb.cells) if _is_question_cell(cell)]
    if not at:
        raise KitError("No question cells (### Q<n> ... and exam.show(practice.run(...))).")
    if at != list(range(at[0], at[-1] + 1)):
        between = sorted(set(range(at[0], at[-1] + 1)) - set(at))
        raise KitError(f"The question cells must stand together: cells {between} are between.")
    nb.cells[at[0] : at[-1] + 1] = question_cells(bank)
    return nb


GENERATED: dict[str, Callable] = {EXAM_PRACTICE: with_question_cells}
"""Notebooks (by stem) whose cells are partly generated, and what generates them."""


def write_generated_cells(paths: Iterable[Path]) -> list[Path]:
    """Rewrite the generated cells of those of ``paths`` that have some (see
    :data:`GENERATED`), executing nothing; the notebooks that changed."""
    changed = []
    for path in map(Path, paths):
        generate = GENERATED.get(path.stem)
        if generate is None:
            continue
        nb = nbformat.read(path, as_version=4)
        before = nbformat.writes(nb)
        if nbformat.writes(generate(nb)) != before:
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def refresh(paths: Iterable[Path]) -> list[Path]:
    """Execute ``paths`` in order in one fresh embedded store and rewrite their golden cells,
    after their generated cells (:func:`write_generated_cells`)."""
    from recipes.stack import stopping_new_services
    from recipes.tooling.runner import run_notebooks

    paths = [Path(p) for p in paths]
    write_generated_cells(paths)
    with tempfile.TemporaryDirectory(prefix="mdk-golden-") as tmp:
        home = str(Path(tmp) / "home")
        # the serving endpoint a notebook starts in this home is stopped before it goes away
        with (
            scoped_env(MDK_HOME=home, MLFLOW_TRACKING_URI=None, MDK_TARGET=None),
            stopping_new_services(),
        ):
            results = run_notebooks(paths, {}, out_dir=Path(tmp) / "out")
        failed = [r for r in results if r.status != "ok"]
        if failed:
            raise KitError(
                f"{failed[0].notebook} failed, goldens left as they were: {failed[0].error}"
            )
        for path, result in zip(paths, results, strict=True):
            nb = nbformat.read(path, as_version=4)
            clean(nb, nbformat.read(result.output, as_version=4))
            nbformat.write(nb, path)
    return paths


def main() -> None:
    """``python -m recipes.tooling.golden``: rewrite every notebook's generated cells."""
    from recipes.tooling.runner import notebook_paths

    changed = write_generated_cells(notebook_paths())
    for path in changed:
        print(
            f"✓ {path.name}: generated cells rewritten (run `mdk golden {path.stem[:2]}` for its goldens)"
        )
    if not changed:
        print("generated cells up to date")


if __name__ == "__main__":
    main()
