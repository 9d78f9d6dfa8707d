"""nbval's golden-cell comparison, applied to a notebook that has already been executed.

``pytest --nbval-lax`` executes a notebook and compares the outputs of the cells marked
``# NBVAL_CHECK_OUTPUT`` with the committed ones, after the sanitize file's substitutions.
The story test (``test_story.py``) executes every notebook once, in order, as ``mdk run``
does; this module hands those outputs to nbval's own comparison instead of executing each
notebook a second time.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from pathlib import Path

import nbformat
from nbval.plugin import (
    IPyNbCell,
    coalesce_streams,
    find_comment_markers,
    find_metadata_tags,
    get_sanitize_patterns,
    nocolors,
)

SANITIZE = Path(__file__).with_name("sanitize.cfg")

# what IPyNbFile compares nothing of (its default, without nbdime): ids, counts and pictures
SKIP_COMPARE = (
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/jpeg",
)


class _Parent:
    def __init__(self, patterns: dict[str, str]):
        self.skip_compare = SKIP_COMPARE
        self.sanitize_patterns = patterns


class _PlainRepr:
    """No pytest assertion rewriting here: nbval falls back to its own side-by-side repr."""

    @staticmethod
    def pytest_assertrepr_compare(**_):
        return []


class _Cell:
    """Just enough of an ``IPyNbCell`` for nbval's ``compare_outputs`` to run unchanged."""

    ihook = _PlainRepr()
    config = None

    compare_outputs = IPyNbCell.compare_outputs
    format_output_compare = IPyNbCell.format_output_compare
    sanitize = IPyNbCell.sanitize
    colors = nocolors

    def __init__(self, patterns: dict[str, str]):
        self.parent = _Parent(patterns)
        self.comparison_traceback: list[str] = []


def checked_cells(nb) -> list:
    """The code cells nbval checks under ``--nbval-lax``: marked by comment or tag."""
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        options = defaultdict(bool, find_metadata_tags(cell.metadata))
        options.update(find_comment_markers(cell.source))
        if options.get("check"):
            cells.append(cell)
    return cells


def differences(committed: Path, executed) -> list[str]:
    """Each golden cell whose executed outputs differ from the committed ones, with nbval's
    report; ``[]`` when all agree. ``executed`` is a path or a notebook node."""
    patterns = dict(get_sanitize_patterns(SANITIZE.read_text()))
    ref = checked_cells(nbformat.read(committed, as_version=4))
    if isinstance(executed, nbformat.NotebookNode):
        executed = copy.deepcopy(executed)  # nbval's coalesce_streams merges in place
    else:
        executed = nbformat.read(executed, as_version=4)
    test = checked_cells(executed)
    if [c.source for c in ref] != [c.source for c in test]:
        return [f"{committed.name}: the golden cells' sources differ from the executed ones"]
    found = []
    for ref_cell, test_cell in zip(ref, test, strict=True):
        if ref_cell.get("execution_count") is None:
            continue  # nbval does not compare a reference cell that never ran
        cell = _Cell(patterns)
        if not cell.compare_outputs(
            coalesce_streams(test_cell.outputs), coalesce_streams(ref_cell.outputs)
        ):
            head = ref_cell.source.splitlines()[:2]
            found.append(f"{committed.name} {head}:\n" + "\n".join(cell.comparison_traceback))
    return found
