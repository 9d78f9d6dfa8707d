"""Aliases such as ``champion`` and ``challenger``: named, movable pointers to versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from recipes.errors import ParameterError
from recipes.registry.models import _check_alias, _client, aliases, require_version

if TYPE_CHECKING:
    from recipes.registry.gate import GateDecision


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


def set_alias(
    name: str,
    alias: str,
    version,
    *,
    gate: GateDecision | None = None,
    dry_run: bool = False,
) -> AliasChange:
    """Point ``alias`` at ``version``. Writes only when it would change something.

    Args:
        gate: a :class:`GateDecision` from :func:`validate_challenger`; when it failed, nothing
            moves and the result's ``blocked`` says why.
        dry_run: report what would change without writing.
    """
    alias = _check_alias(alias)
    v = int(require_version(name, version).version)  # also: the model exists
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


def ensure_alias(name: str, alias: str, version) -> AliasChange:
    """Set ``alias`` to ``version`` only when the alias is not set yet (never moves it)."""
    alias = _check_alias(alias)
    current = aliases(name).get(alias)
    if current is not None:
        return AliasChange(name, alias, current, current, False)
    return set_alias(name, alias, version)
