"""What every ``mdk doctor`` check returns, and the one machine fact most of them read."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class Check:
    """One doctor result.

    Attributes:
        name: what was checked.
        ok: whether it passed.
        required: whether a failure stops the kit from working (else informational).
        detail: what was found.
        fix: the command or step that fixes a failure (empty when ok).
    """

    name: str
    ok: bool
    required: bool
    detail: str
    fix: str = ""


def installed_version(dist: str) -> str | None:
    """The installed version of a distribution, or None."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
