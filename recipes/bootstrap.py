"""Make what a notebook needs when it is missing, so each notebook also runs on its own.

On the **local** target only. Each notebook makes its own artefacts in its cells (01 the
versions, 02 the aliases, 03 and 04 their endpoints); when a later notebook runs alone, these
functions make the earlier notebooks' results in the same way, in one place:

- :func:`ensure_versions`: v1, the linear baseline, registered during logging (the module's
  method 1), and v2, the gradient-boosted challenger, registered from its run (method 2);
- :func:`ensure_aliases`: ``@champion`` on v1 and ``@challenger`` on the newest version;
- :func:`ensure_ab_endpoint`: the A/B endpoint of 04 with its inference table.

Anything that already exists is left exactly as it is. On any other target nothing is
created: a missing prerequisite stops with one line naming the notebook that makes it.
"""

from __future__ import annotations

from recipes import registry, target
from recipes.errors import NotFoundError, ParameterError
from recipes.train import train_and_log

MADE_BY = {"mdk.made_by": "bootstrap"}


def _local_only(what: str, maker: str) -> None:
    t = target.resolve()
    if not t.is_local:
        raise NotFoundError(
            f"{what} is missing on target {t.name!r}: run {maker} first "
            "(the kit creates nothing on a workspace that you did not ask for)."
        )


def _versions(name: str) -> list[int]:
    try:
        return sorted(int(mv.version) for mv in registry.versions(name))
    except NotFoundError:
        return []


def make_version(name: str, kind: str, *, n_rows: int = 5000, seed: int = 0) -> int:
    """Train a ``kind`` model and register it as a new version of ``name``.

    The baseline is registered during logging (``log_model(..., registered_model_name=)``),
    the challenger from its run (``mlflow.register_model("runs:/<id>/model", name)``), as
    01 does.
    """
    import mlflow

    registry.check_model_name(name)
    if kind == "baseline":
        version = train_and_log(
            n_rows, seed, kind=kind, registered_model_name=name, tags=MADE_BY
        ).version
    else:
        result = train_and_log(n_rows, seed, kind=kind, tags=MADE_BY)
        version = int(mlflow.register_model(model_uri=result.model_uri, name=name).version)
    registry.tag_created(name, version)  # as 01 tags its versions
    return version


def ensure_versions(name: str, minimum: int = 2, *, n_rows: int = 5000, seed: int = 0) -> list[int]:
    """All versions of ``name`` (oldest first), making v1 baseline / v2 challenger if missing.

    Versions after the second alternate baseline and challenger.
    """
    if minimum < 1:
        raise ParameterError(f"minimum must be >= 1, got {minimum}.")
    have = _versions(name)
    if len(have) < minimum:
        _local_only(f"Model {name!r} with {minimum} versions", "notebooks/01_register.ipynb")
    for k in range(len(have), minimum):
        have.append(make_version(name, ("baseline", "challenger")[k % 2], n_rows=n_rows, seed=seed))
    return sorted(have)


def ensure_aliases(name: str) -> dict[str, int]:
    """``@champion`` (v1, the incumbent) and ``@challenger`` (the newest), set only if missing.

    Returns the model's aliases afterwards.
    """
    have = _versions(name)
    current = registry.aliases(name) if have else {}
    if {"champion", "challenger"} <= current.keys():
        return current
    if not have:  # name the first thing missing, and the notebook that makes it
        _local_only(f"Model {name!r}", "notebooks/01_register.ipynb")
    _local_only(f"Aliases @champion/@challenger of {name!r}", "notebooks/02_promote.ipynb")
    have = ensure_versions(name)
    registry.ensure_alias(name, "champion", have[0])
    registry.ensure_alias(name, "challenger", have[-1])
    return registry.aliases(name)


def version_behind(name: str, alias: str = "champion", version: int = 0) -> int:
    """``version`` when given (it must exist), else the version behind ``@alias``.

    With 0 the aliases are made first when missing (locally), so a notebook runs on its own.
    """
    if not isinstance(version, int) or version < 0:
        raise ParameterError(
            f"version must be an int >= 0 (0 = the @{alias} version), got {version!r}."
        )
    if version:
        ensure_versions(name, minimum=version)  # locally, up to v<version> if missing
        return int(registry.require_version(name, version).version)
    ensure_aliases(name)
    return registry.version_of(name, f"@{alias}")


def ensure_ab_endpoint(
    w,
    endpoint_name: str,
    model_name: str,
    *,
    champion_version: int = 0,
    challenger_version: int = 0,
    challenger_traffic: int = 50,
    catalog: str = "main",
    schema: str = "mdk",
):
    """The A/B endpoint as it is, or (when missing, locally) created as 04 makes it.

    Args:
        champion_version, challenger_version: the versions behind the ``champion`` and
            ``challenger`` served entities; 0 means the version behind that alias.
        challenger_traffic: the challenger's percent of traffic.

    Returns:
        The ``ServingEndpointDetailed``.
    """
    from databricks.sdk.errors import NotFound

    from recipes.serving import deploy

    try:
        return w.serving_endpoints.get(endpoint_name)
    except NotFound:
        pass
    _local_only(f"Serving endpoint {endpoint_name!r}", "notebooks/04_ab_split.ipynb")
    champion = version_behind(model_name, "champion", champion_version)
    challenger = version_behind(model_name, "challenger", challenger_version)
    config = deploy.ab_config(
        endpoint_name, model_name, champion, challenger, challenger_traffic=challenger_traffic
    )
    gateway = deploy.ab_gateway(endpoint_name, catalog=catalog, schema=schema)
    return deploy.ensure_endpoint(w, endpoint_name, config, ai_gateway=gateway)
