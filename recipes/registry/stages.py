"""Stages (None, Staging, Production, Archived): deprecated since MLflow 2.9, absent from Unity Catalog.

They still work on the workspace and local registries; the kit shows the deprecation once,
pointing to aliases, and refuses stage calls against Unity Catalog with an error that names
the alias call.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from recipes.errors import ParameterError, UnsupportedOnTarget
from recipes.registry.models import _client, _unity_catalog, require_version, versions

STAGES = ("None", "Staging", "Production", "Archived")

_stage_warning_shown = False


@dataclass(frozen=True)
class StageChange:
    """The result of :func:`transition_stage`."""

    name: str
    version: int
    stage: str
    previous_stage: str
    archived: list[int] = field(default_factory=list)
    changed: bool = True
    dry_run: bool = False


def _no_stages_in_uc(what: str) -> None:
    if _unity_catalog():
        raise UnsupportedOnTarget(
            f"Unity Catalog has no stages, so {what} is not available: use aliases instead, "
            "e.g. recipes.registry.set_alias(name, 'champion', version) and models:/<name>@champion."
        )


def _stage(stage: str) -> str:
    for s in STAGES:
        if isinstance(stage, str) and stage.strip().lower() == s.lower():
            return s
    raise ParameterError(f"Unknown stage {stage!r}: use one of {', '.join(STAGES)}.")


def transition_stage(
    name: str,
    version,
    stage: str,
    *,
    archive_existing_versions: bool = False,
    dry_run: bool = False,
) -> StageChange:
    """Move a version to a stage, as ``MlflowClient.transition_model_version_stage`` does.

    The keyword and its default are MLflow's own: with ``archive_existing_versions=True``
    the stage's other versions are Archived; with the default ``False`` they stay, so two
    versions can be in Production at once (exam question 1).

    Raises:
        UnsupportedOnTarget: against Unity Catalog (use :func:`set_alias`).
        ParameterError: for an unknown stage.
        NotFoundError: for a missing model or version.
    """
    global _stage_warning_shown
    _no_stages_in_uc("transition_stage")
    stage = _stage(stage)
    mv = require_version(name, version)
    v = int(mv.version)
    previous = mv.current_stage
    to_archive = []
    if archive_existing_versions and stage in ("Staging", "Production"):
        to_archive = [
            int(o.version)
            for o in versions(name)
            if o.current_stage == stage and int(o.version) != v
        ]
    if dry_run or (previous == stage and not to_archive):
        return StageChange(name, v, stage, previous, to_archive, previous != stage, dry_run)
    if not _stage_warning_shown:
        _stage_warning_shown = True
        warnings.warn(
            "Model stages are deprecated since MLflow 2.9 and absent from Unity Catalog; "
            "prefer aliases: recipes.registry.set_alias(name, 'champion', version).",
            FutureWarning,
            stacklevel=2,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        _client().transition_model_version_stage(
            name, str(v), stage, archive_existing_versions=archive_existing_versions
        )
    return StageChange(name, v, stage, previous, to_archive, True, False)
