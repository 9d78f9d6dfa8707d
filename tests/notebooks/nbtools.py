"""Helpers for the notebook tests."""

from __future__ import annotations

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


def committed_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
