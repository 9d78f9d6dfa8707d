"""The real ``databricks.feature_engineering``, imported on demand (the databricks target)."""

from __future__ import annotations

from types import ModuleType

from recipes.errors import MissingDependency

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
