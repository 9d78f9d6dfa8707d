"""``models:/`` URIs: build them, parse them, find their versions (:func:`version_of`), load them."""

from __future__ import annotations

import pandas as pd

from recipes.errors import NotFoundError, ParameterError, UnsupportedOnTarget
from recipes.registry.models import (
    _check_alias,
    _int,
    _unity_catalog,
    aliases,
    require_version,
    versions,
)
from recipes.registry.stages import STAGES, _no_stages_in_uc, _stage


def version_of(name: str, ref="latest") -> int:
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
    if ref.lower() in (s.lower() for s in STAGES):
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


def parse_uri(uri: str) -> tuple[str, str]:
    """Split ``models:/<name>@alias`` or ``models:/<name>/<ref>`` into (name, ref for version_of)."""
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
        ``record`` (default: the seed's integer record). A URI Unity Catalog refuses (a
        stage, ``/latest``) gets ``-`` and ``refused by Unity Catalog`` instead of failing.
    """
    import mlflow

    from recipes.data import seed_record

    record = record or seed_record()
    rows = []
    for uri in uris:
        name, ref = parse_uri(uri)
        try:
            version = version_of(name, ref)
        except UnsupportedOnTarget:  # a stage or /latest on Unity Catalog
            rows.append({"uri": uri, "version": "-", "prediction": "refused by Unity Catalog"})
            continue
        model = mlflow.pyfunc.load_model(uri)
        pred = model.predict(pd.DataFrame([record]))
        rows.append({"uri": uri, "version": version, "prediction": int(pd.Series(pred).iloc[0])})
    return pd.DataFrame(rows, columns=["uri", "version", "prediction"])
