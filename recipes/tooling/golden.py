"""Golden notebook outputs for nbval: keep them in marked cells only, and refresh them.

A committed notebook holds outputs only in cells whose source starts with
``# NBVAL_CHECK_OUTPUT``; ``pytest --nbval-lax`` re-runs the notebook and compares those.
:func:`refresh` re-executes notebooks in a fresh, embedded ``MDK_HOME`` (so versions start
at 1, exactly as in the nbval run) and writes back the golden outputs alone.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

import nbformat

from recipes.errors import KitError
from recipes.target import scoped_env

MARK = "# NBVAL_CHECK_OUTPUT"


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


def refresh(paths: Iterable[Path]) -> list[Path]:
    """Execute ``paths`` in order in one fresh embedded store and rewrite their golden cells."""
    from recipes.stack import stopping_new_services
    from recipes.tooling.runner import run_notebooks

    paths = [Path(p) for p in paths]
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
