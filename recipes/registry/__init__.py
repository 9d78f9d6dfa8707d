"""The MLflow Model Registry verbs: register, stages, aliases, tags, URIs, describe, the gate.

Every verb checks before it writes, can dry-run, and answers bad input with one
:class:`~recipes.errors.KitError` line naming the fix. Version numbers come back from MLflow
as int (sqlite) or str (REST); here they are always int.

- :mod:`~recipes.registry.models`: names, lookups, ``register``, ``annotate``, ``describe``;
- :mod:`~recipes.registry.stages`: ``transition_stage`` (deprecated; not on Unity Catalog);
- :mod:`~recipes.registry.aliases`: ``set_alias``, ``delete_alias``, ``ensure_alias``;
- :mod:`~recipes.registry.uris`: ``version_of``, ``model_uri``, ``parse_uri``, ``load_uris``;
- :mod:`~recipes.registry.gate`: ``validate_challenger`` and its ``GateDecision``;
- :mod:`~recipes.registry.refusals`: ``unity_catalog_refuses``, UC's refusals in one line.
"""

from recipes.registry.aliases import AliasChange, delete_alias, ensure_alias, set_alias
from recipes.registry.gate import GateDecision, validate_challenger
from recipes.registry.models import (
    aliases,
    annotate,
    check_model_name,
    describe,
    register,
    require_model,
    require_version,
    tag_created,
    versions,
)
from recipes.registry.refusals import unity_catalog_refuses
from recipes.registry.stages import STAGES, StageChange, transition_stage
from recipes.registry.uris import load_uris, model_uri, parse_uri, version_of

__all__ = [
    "STAGES",
    "AliasChange",
    "StageChange",
    "GateDecision",
    "aliases",
    "annotate",
    "check_model_name",
    "delete_alias",
    "describe",
    "ensure_alias",
    "load_uris",
    "model_uri",
    "parse_uri",
    "register",
    "require_model",
    "require_version",
    "version_of",
    "set_alias",
    "tag_created",
    "transition_stage",
    "unity_catalog_refuses",
    "validate_challenger",
    "versions",
]
