"""The real ``databricks.feature_engineering``, imported on demand (a real workspace)."""

from __future__ import annotations

from types import ModuleType

from recipes.errors import MissingDependency
from recipes.target import resolve, workspace_double

INSTALL = (
    "databricks-feature-engineering is not installed: run "
    "pip install databricks-feature-engineering (in the databricks venv)."
)


def real_module() -> ModuleType:
    """``databricks.feature_engineering``, imported on demand."""
    try:
        import databricks.feature_engineering as fe
    except ImportError as exc:
        raise MissingDependency(f"{INSTALL} ({exc})") from exc
    return fe


def on_workspace(target: str | None = None) -> bool:
    """Whether the real client runs: on a real workspace. Against the local workspace double
    (which does not imitate the feature-store REST API) and locally, the kit's mirror runs."""
    return resolve(target).name == "databricks" and workspace_double() is None
