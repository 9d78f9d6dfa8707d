"""The MLflow Model Registry verbs: register, stages, aliases, tags, URIs, describe, the gate.

Every verb checks before it writes, can dry-run, and answers bad input with one
:class:`~recipes.errors.KitError` line naming the fix. Version numbers come back from MLflow
as int (sqlite) or str (REST); here they are always int.

Stages are deprecated in MLflow since 2.9 and absent from Unity Catalog. They still work on
the workspace and local registries; the kit shows the deprecation once, pointing to aliases,
and refuses stage calls against Unity Catalog with an error that names the alias call.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import pandas as pd

from recipes.errors import NotFoundError, ParameterError, UnsupportedOnTarget

STAGES = ("None", "Staging", "Production", "Archived")
_RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)
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


@dataclass(frozen=True)
class AliasChange:
    """The result of :func:`set_alias` / :func:`delete_alias`.

    ``version`` is the alias target after the call (None when deleted), ``previous`` before it.
    ``blocked`` holds the validation gate's reason when the gate refused the move.
    """

    name: str
    alias: str
    version: int | None
    previous: int | None
    changed: bool
    dry_run: bool = False
    blocked: str | None = None


@dataclass(frozen=True)
class Verdict:
    """The validation gate's answer: may ``challenger`` replace ``champion``?"""

    passed: bool
    metric: str
    challenger_version: int
    champion_version: int | None
    challenger_score: float
    champion_score: float | None
    min_improvement: float
    reason: str


def _client():
    from mlflow import MlflowClient

    return MlflowClient()


def _unity_catalog() -> bool:
    import mlflow

    return mlflow.get_registry_uri().startswith("databricks-uc")


def _no_stages_in_uc(what: str) -> None:
    if _unity_catalog():
        raise UnsupportedOnTarget(
            f"Unity Catalog has no stages, so {what} is not available: use aliases instead, "
            "e.g. recipes.registry.set_alias(name, 'champion', version) and models:/<name>@champion."
        )


def _int(version) -> int:
    try:
        v = int(version)
    except (TypeError, ValueError):
        raise ParameterError(f"Version must be a positive integer, got {version!r}.") from None
    if v < 1:
        raise ParameterError(f"Version must be a positive integer, got {version!r}.")
    return v


def _stage(stage: str) -> str:
    for s in STAGES:
        if isinstance(stage, str) and stage.strip().lower() == s.lower():
            return s
    raise ParameterError(f"Unknown stage {stage!r}: use one of {', '.join(STAGES)}.")


def check_model_name(name: str) -> str:
    """A valid registered-model name for the current registry (three levels on Unity Catalog)."""
    if not isinstance(name, str) or not name.strip():
        raise ParameterError("Model name must be a non-empty string such as 'churn-predictor'.")
    if _unity_catalog() and len(name.split(".")) != 3:
        raise ParameterError(
            f"Unity Catalog model names have three levels, got {name!r}: "
            "pass e.g. model_name='main.default.churn_predictor'."
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


def transition_stage(
    name: str,
    version,
    stage: str,
    *,
    archive_existing: bool = True,
    dry_run: bool = False,
) -> StageChange:
    """Move a version to a stage; with ``archive_existing`` the stage's other versions are Archived.

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
    if archive_existing and stage in ("Staging", "Production"):
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
            name, str(v), stage, archive_existing_versions=archive_existing
        )
    return StageChange(name, v, stage, previous, to_archive, True, False)


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


def aliases(name: str) -> dict[str, int]:
    """The model's aliases as ``{alias: version}``."""
    return {a: int(v) for a, v in (require_model(name).aliases or {}).items()}


def set_alias(
    name: str,
    alias: str,
    version,
    *,
    gate: Verdict | None = None,
    dry_run: bool = False,
) -> AliasChange:
    """Point ``alias`` at ``version``. Writes only when it would change something.

    Args:
        gate: a :class:`Verdict` from :func:`validate_challenger`; when it failed, nothing
            moves and the result's ``blocked`` says why.
        dry_run: report what would change without writing.
    """
    alias = _check_alias(alias)
    require_model(name)
    v = int(require_version(name, version).version)
    previous = aliases(name).get(alias)
    if gate is not None:
        if gate.challenger_version != v:
            raise ParameterError(
                f"The verdict is for version {gate.challenger_version}, not {v}: "
                "run validate_challenger for this version first."
            )
        if not gate.passed:
            return AliasChange(name, alias, previous, previous, False, dry_run, gate.reason)
    changed = previous != v
    if changed and not dry_run:
        _client().set_registered_model_alias(name, alias, str(v))
    return AliasChange(name, alias, v if not dry_run else previous, previous, changed, dry_run)


def delete_alias(name: str, alias: str, *, dry_run: bool = False) -> AliasChange:
    """Remove ``alias`` from the model (a no-op when it is not set)."""
    alias = _check_alias(alias)
    previous = aliases(name).get(alias)
    if previous is not None and not dry_run:
        _client().delete_registered_model_alias(name, alias)
    return AliasChange(
        name, alias, None if not dry_run else previous, previous, previous is not None, dry_run
    )


def resolve(name: str, ref="latest") -> int:
    """Resolve a reference to a version number.

    Args:
        ref: an int or digit string (version), ``"latest"``, a stage name
            (``"Production"``), or an alias (``"@champion"`` or ``"champion"``).
    """
    if isinstance(ref, bool):
        raise ParameterError(f"Unsupported model reference {ref!r}.")
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        return int(require_version(name, ref).version)
    if not isinstance(ref, str) or not ref.strip():
        raise ParameterError(
            f"Model reference must be a version, 'latest', a stage or '@alias', got {ref!r}."
        )
    ref = ref.strip()
    if ref.lower() == "latest":
        if _unity_catalog():
            raise UnsupportedOnTarget(
                "Unity Catalog has no 'latest' version URI: point an alias at the version "
                "(set_alias(name, 'champion', N)) and use models:/<name>@champion."
            )
        found = versions(name)
        if not found:
            raise NotFoundError(f"Model {name!r} has no versions yet: register one first.")
        return int(found[-1].version)
    if ref.lstrip("@").lower() in (s.lower() for s in STAGES) and not ref.startswith("@"):
        stage = _stage(ref)
        _no_stages_in_uc(f"the stage reference {stage!r}")
        in_stage = [mv for mv in versions(name) if mv.current_stage == stage]
        if not in_stage:
            raise NotFoundError(
                f"Model {name!r} has no version in stage {stage!r}: "
                f"transition one with transition_stage({name!r}, N, {stage!r})."
            )
        return int(in_stage[-1].version)
    alias = _check_alias(ref.lstrip("@"))
    found = aliases(name)
    if alias not in found:
        have = ", ".join(sorted(found)) or "none"
        raise NotFoundError(
            f"Model {name!r} has no alias {alias!r} (aliases: {have}): "
            f"set it with set_alias({name!r}, {alias!r}, N)."
        )
    return found[alias]


def model_uri(
    name: str, *, alias: str | None = None, stage: str | None = None, version=None
) -> str:
    """Build a ``models:/`` URI; with no selector it is ``models:/<name>/latest``."""
    given = [x for x in (alias, stage, version) if x is not None]
    if len(given) > 1:
        raise ParameterError("Give at most one of alias, stage or version.")
    if alias is not None:
        return f"models:/{name}@{_check_alias(alias.lstrip('@'))}"
    if stage is not None:
        _no_stages_in_uc(f"the stage URI models:/{name}/{stage}")
        return f"models:/{name}/{_stage(stage)}"
    if version is not None:
        return f"models:/{name}/{_int(version)}"
    if _unity_catalog():
        raise UnsupportedOnTarget(
            "Unity Catalog rejects models:/<name>/latest: use an alias URI, models:/<name>@champion."
        )
    return f"models:/{name}/latest"


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
                "tags": ",".join(f"{k}={val}" for k, val in sorted((mv.tags or {}).items())),
                **{m: run_metrics.get(m) for m in metrics},
                "run_id": mv.run_id,
            }
        )
    cols = ["version", "stage", "aliases", "tags", *metrics, "run_id"]
    return pd.DataFrame(rows, columns=cols)


def _score_version(name: str, version: int, data: pd.DataFrame, metric: str) -> float:
    import mlflow

    from recipes.data import FEATURES, LABEL
    from recipes.train import classification_metrics, score_model

    uri = model_uri(name, version=version)
    if "sklearn" in mlflow.models.get_model_info(uri).flavors:
        scores = score_model(mlflow.sklearn.load_model(uri), data)
    else:
        pred = mlflow.pyfunc.load_model(uri).predict(data[list(FEATURES)])
        scores = classification_metrics(data[LABEL], pred, pred)
    if metric not in scores:
        raise ParameterError(f"Unknown metric {metric!r}: use one of {', '.join(scores)}.")
    return scores[metric]


def validate_challenger(
    name: str,
    challenger="@challenger",
    champion="@champion",
    *,
    data: pd.DataFrame | None = None,
    metric: str = "roc_auc",
    min_improvement: float = 0.0,
) -> Verdict:
    """Compare challenger with champion on held-out data; the promote step obeys the verdict.

    The challenger passes when there is no champion yet, or when its ``metric`` beats the
    champion's by at least ``min_improvement`` (which may be negative to allow a small loss).

    Args:
        challenger: a reference for :func:`resolve` (version, alias, stage, "latest").
        champion: the same; a missing champion alias means "no champion yet".
        data: held-out rows with the features and ``churned``; default: 2,000 fresh rows.
    """
    from recipes.data import make_churn

    data = data if data is not None else make_churn(2000, seed=12345, id_offset=5_000_000)
    ch = resolve(name, challenger)
    try:
        champ = resolve(name, champion)
    except NotFoundError:
        champ = None
    ch_score = _score_version(name, ch, data, metric)
    if champ is None:
        return Verdict(
            True,
            metric,
            ch,
            None,
            ch_score,
            None,
            min_improvement,
            f"no champion yet: version {ch} may take the alias",
        )
    champ_score = _score_version(name, champ, data, metric)
    delta = round(ch_score - champ_score, 4)
    passed = ch != champ and delta >= min_improvement
    how = "beats" if passed else "does not beat"
    reason = (
        f"version {ch} {metric}={ch_score:.4f} {how} version {champ} {metric}={champ_score:.4f} "
        f"by the required {min_improvement:+.4f} (delta {delta:+.4f})"
    )
    if ch == champ:
        reason = f"version {ch} already is the champion"
    return Verdict(passed, metric, ch, champ, ch_score, champ_score, min_improvement, reason)


def ensure_alias(name: str, alias: str, version) -> AliasChange:
    """Set ``alias`` to ``version`` only when the alias is not set yet (never moves it)."""
    alias = _check_alias(alias)
    current = aliases(name).get(alias)
    if current is not None:
        return AliasChange(name, alias, current, current, False)
    return set_alias(name, alias, version)


def parse_uri(uri: str) -> tuple[str, str]:
    """Split ``models:/<name>@alias`` or ``models:/<name>/<ref>`` into (name, ref for resolve)."""
    if not isinstance(uri, str) or not uri.startswith("models:/"):
        raise ParameterError(
            f"Not a registry URI: {uri!r}: use models:/<name>@<alias> or models:/<name>/<version|stage|latest>."
        )
    body = uri[len("models:/") :]
    if "@" in body:
        name, alias = body.rsplit("@", 1)
        return name, "@" + alias
    name, sep, ref = body.rpartition("/")
    if not sep or not name or not ref:
        raise ParameterError(f"Registry URI {uri!r} lacks a version, stage, 'latest' or @alias.")
    return name, ref


def load_uris(uris: list[str], record: dict | None = None) -> pd.DataFrame:
    """Load each URI with ``mlflow.pyfunc.load_model`` and predict one record.

    Returns:
        One row per URI: ``uri``, the ``version`` it resolves to, and the ``prediction`` for
        ``record`` (default: the seed's integer record).
    """
    import mlflow

    from recipes.data import seed_record

    record = record or seed_record()
    rows = []
    for uri in uris:
        name, ref = parse_uri(uri)
        version = resolve(name, ref)
        model = mlflow.pyfunc.load_model(uri)
        pred = model.predict(pd.DataFrame([record]))
        rows.append({"uri": uri, "version": version, "prediction": int(pd.Series(pred).iloc[0])})
    return pd.DataFrame(rows, columns=["uri", "version", "prediction"])
