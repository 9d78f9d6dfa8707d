"""Registered models and their versions: names, lookups, registration, tags, the table."""

from __future__ import annotations

import re

import pandas as pd

from recipes import workspace_names
from recipes.errors import NotFoundError, ParameterError
from recipes.workspace_names import CREATED_BY

_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)


def _client():
    from mlflow import MlflowClient

    return MlflowClient()


def _unity_catalog() -> bool:
    import mlflow

    return mlflow.get_registry_uri().startswith("databricks-uc")


def _int(version) -> int:
    try:
        v = int(version)
    except (TypeError, ValueError):
        raise ParameterError(f"Version must be a positive integer, got {version!r}.") from None
    if v < 1:
        raise ParameterError(f"Version must be a positive integer, got {version!r}.")
    return v


def _check_alias(alias: str) -> str:
    if not isinstance(alias, str) or not alias.strip():
        raise ParameterError("Alias must be a non-empty string such as 'champion'.")
    alias = alias.strip()
    if _RESERVED_ALIAS.match(alias):
        raise ParameterError(
            f"Alias {alias!r} is reserved (MLflow keeps 'latest' and 'v<N>' for versions): "
            "pick another name such as 'champion' or 'challenger'."
        )
    if not re.fullmatch(r"[\w-]+", alias):
        raise ParameterError(
            f"Alias {alias!r} may hold only letters, digits, '_' and '-': e.g. 'challenger_2'."
        )
    return alias


def check_model_name(name: str) -> str:
    """A valid registered-model name for the current registry (three levels on Unity Catalog)."""
    if not isinstance(name, str) or not name.strip():
        raise ParameterError("Model name must be a non-empty string such as 'churn-predictor'.")
    if _unity_catalog() and len(name.split(".")) != 3:
        example = workspace_names.for_target(
            "databricks"
        ).model_name  # MDK_CATALOG.MDK_SCHEMA.churn_predictor
        raise ParameterError(
            f"Unity Catalog model names have three levels, got {name!r}: "
            f"pass e.g. model_name={example!r}."
        )
    return name


def require_model(name: str):
    """The registered model, or a :class:`NotFoundError` that says how to make one."""
    from mlflow.exceptions import MlflowException

    check_model_name(name)
    try:
        return _client().get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
    raise NotFoundError(
        f"Registered model {name!r} does not exist: register it first with "
        f"recipes.train.train_and_log(registered_model_name={name!r}) or notebooks/01_register.ipynb."
    )


def versions(name: str) -> list:
    """All versions of ``name`` (MLflow ``ModelVersion`` objects), oldest first."""
    require_model(name)
    found = _client().search_model_versions(f"name = '{name}'")
    return sorted(found, key=lambda mv: int(mv.version))


def require_version(name: str, version) -> object:
    """The ``ModelVersion``, or a :class:`NotFoundError` listing the versions that exist."""
    v = _int(version)
    existing = versions(name)
    for mv in existing:
        if int(mv.version) == v:
            return mv
    listed = ", ".join(str(mv.version) for mv in existing) or "none"
    raise NotFoundError(
        f"Model {name!r} has no version {v}: existing versions are {listed}. "
        "Train and register another with recipes.train.train_and_log(registered_model_name=...)."
    )


def register(
    model_uri: str,
    name: str,
    *,
    tags: dict[str, str] | None = None,
    description: str | None = None,
) -> int:
    """Register an existing model (``runs:/<run>/model`` or ``models:/m-<id>``) as a new version.

    Returns:
        The new version number, as int.
    """
    import mlflow

    if not isinstance(model_uri, str) or ":/" not in model_uri:
        raise ParameterError(
            f"model_uri must look like runs:/<run_id>/model or models:/m-<id>, got {model_uri!r}."
        )
    check_model_name(name)
    mv = mlflow.register_model(model_uri=model_uri, name=name, tags=tags)
    version = int(mv.version)
    if description:
        _client().update_model_version(name, str(version), description=description)
    return version


def annotate(
    name: str,
    *,
    version=None,
    tags: dict[str, str] | None = None,
    description: str | None = None,
) -> None:
    """Set tags and/or a description on the registered model, or on one version of it."""
    client = _client()
    if version is None:
        require_model(name)
        for k, val in (tags or {}).items():
            client.set_registered_model_tag(name, k, str(val))
        if description is not None:
            client.update_registered_model(name, description=description)
        return
    v = str(int(require_version(name, version).version))
    for k, val in (tags or {}).items():
        client.set_model_version_tag(name, v, k, str(val))
    if description is not None:
        client.update_model_version(name, v, description=description)


def tag_created(name: str, version=None) -> None:
    """Tag the model, and ``version`` when given, :data:`recipes.workspace_names.CREATED_BY`.

    ``mdk teardown`` deletes the tagged versions, and the tagged model once no version
    without the tag is left in it.
    """
    key, value = CREATED_BY
    client = _client()
    client.set_registered_model_tag(name, key, value)
    if version is not None:
        client.set_model_version_tag(name, str(_int(version)), key, value)


def aliases(name: str) -> dict[str, int]:
    """The model's aliases as ``{alias: version}``."""
    return {a: int(v) for a, v in (require_model(name).aliases or {}).items()}


def _tags(client, mv) -> dict:
    """A version's tags. Unity Catalog's search results carry none (``ModelVersionSearch``
    makes ``tags`` a method that raises), so there the version itself is asked."""
    tags = mv.tags
    if callable(tags):
        tags = client.get_model_version(mv.name, mv.version).tags
    return dict(tags or {})


def describe(name: str, metrics: tuple[str, ...] = ("roc_auc", "accuracy")) -> pd.DataFrame:
    """One row per version: stage, aliases, tags, run metrics, sorted by version."""
    client = _client()
    by_version: dict[int, list[str]] = {}
    for a, v in aliases(name).items():
        by_version.setdefault(v, []).append(a)
    rows = []
    for mv in versions(name):
        v = int(mv.version)
        run_metrics = client.get_run(mv.run_id).data.metrics if mv.run_id else {}
        rows.append(
            {
                "version": v,
                "stage": mv.current_stage,
                "aliases": ",".join(sorted(by_version.get(v, []))),
                "tags": ",".join(f"{k}={val}" for k, val in sorted(_tags(client, mv).items())),
                **{m: run_metrics.get(m) for m in metrics},
                "run_id": mv.run_id,
            }
        )
    cols = ["version", "stage", "aliases", "tags", *metrics, "run_id"]
    return pd.DataFrame(rows, columns=cols)
