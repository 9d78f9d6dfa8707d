"""Helpers for the notebook tests."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from recipes.target import repo_root

NOTEBOOKS = repo_root() / "notebooks"


def outputs_text(nb) -> str:
    """All stream and text/plain outputs of an executed notebook, joined."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def golden_texts(nb) -> list[str]:
    """The stream text of each ``# NBVAL_CHECK_OUTPUT`` cell of an executed notebook, stripped."""
    out = []
    for cell in nb.cells:
        if cell.cell_type == "code" and "NBVAL_CHECK_OUTPUT" in cell.source:
            out.append("".join(o.get("text", "") for o in cell.get("outputs", [])).strip())
    return out


def code_sources(nb) -> str:
    """All code cells' source, joined."""
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def committed_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


# Library chatter that must never reach a learner (recipes.quiet sends it to $MDK_HOME/logs/).
_NOISE = [
    re.compile(p)
    for p in (
        r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (WARN|ERROR|INFO)\b",  # log4j's console pattern
        r"\blog4j",
        r"Using incubator modules",
        r"NativeCodeLoader",
        r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (WARNING|INFO|DEBUG) (mlflow|alembic|py4j|pyspark)",
        r"Setting (default|Spark) log level",
        r"<Figure size [^>]*>",  # a bare matplotlib Figure: use recipes.pictures.show
        r"Failed to automatically resolve config from host metadata",  # the SDK's probe
        r"If you are using MLflow Tracing",  # set_experiment's advert on a Databricks URI
    )
]
_PROGRESS = re.compile(r"(\d{1,3})%\|")  # tqdm: "Downloading artifacts:   0%|   | 0/7"


def _output_lines(out) -> list[str]:
    if out.get("output_type") == "stream":
        text = out.get("text", "")
    else:
        text = out.get("data", {}).get("text/plain", "")
    text = "".join(text) if isinstance(text, list) else text
    return text.splitlines()


def noise(nb) -> list[str]:
    """Output lines that are library chatter, each as ``cell <i>: <line>``.

    Spark's log4j lines (``WARN``/``ERROR``), JVM start-up messages, MLflow's log records
    and a progress bar left below 100 % are noise; so is ``<Figure size ...>`` text.
    """
    found = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            for line in _output_lines(out):
                bar = _PROGRESS.search(line)
                if any(p.search(line) for p in _NOISE) or (bar and int(bar.group(1)) < 100):
                    found.append(f"cell {index}: {line.strip()[:200]}")
    return found


def png_outputs(nb) -> list[bytes]:
    """The decoded bytes of every ``image/png`` output, in notebook order."""
    pictures = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                pictures.append(base64.b64decode("".join(png) if isinstance(png, list) else png))
    return pictures


def run_first_checks(name: str, **parameters) -> dict:
    """Run a notebook's first cells in this process, as the kernel would, without a kernel.

    papermill injects ``parameters`` after the ``parameters`` cell; the cells up to and
    including the first code cell after that injection (imports and the parameters check)
    run here with ``exec``. Returns their namespace; a bad parameter raises what the
    notebook's check raises (``ParameterError``), so the check the learner sees is tested
    itself. ``tests/notebooks/test_register.py`` keeps one such failure through papermill.
    """
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = parameterize_notebook(load_notebook_node(str(NOTEBOOKS / f"{name}.ipynb")), parameters)
    code = [c for c in nb.cells if c.cell_type == "code"]
    injected = next(
        i for i, c in enumerate(code) if "injected-parameters" in c.metadata.get("tags", [])
    )
    namespace: dict = {"__name__": "__main__"}
    for cell in code[: injected + 2]:
        exec(compile(cell.source, f"<{name} cell>", "exec"), namespace)  # noqa: S102
    return namespace


def payload_by_entity(table: str, home):
    """An AI Gateway inference table read with delta-rs, with ``entity`` and ``version``
    (the served entity's name and model version) joined from ``system.serving.served_entities``
    on ``served_entity_id``, as Databricks users map the ids (the latest row per id)."""
    from recipes import tables

    df = tables.read(table, home=home)
    entities = (
        tables.read("system.serving.served_entities", home=home)
        .sort_values("change_time")
        .drop_duplicates("served_entity_id", keep="last")
        .set_index("served_entity_id")
    )
    df["entity"] = df["served_entity_id"].map(entities["served_entity_name"])
    df["version"] = df["served_entity_id"].map(entities["entity_version"])
    return df
