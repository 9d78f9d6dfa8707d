"""Helpers the checks of several questions share: an error in one line, a model's aliases."""

from __future__ import annotations


def one_line(exc: BaseException, limit: int = 260) -> str:
    """``<type>: <message>``, whitespace collapsed, the message cut at ``limit`` characters."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:limit]}"


def first_sentence(exc: BaseException, limit: int = 220) -> str:
    """``<type>: <first sentence of the message>``, cut at ``limit`` characters."""
    text = " ".join(str(exc).split())
    first = text.split(". ")[0]
    return f"{type(exc).__name__}: {first[:limit]}"


def alias_versions(client, name: str) -> dict[str, int]:
    """The registered model's aliases and the versions they name."""
    return {a: int(v) for a, v in (client.get_registered_model(name).aliases or {}).items()}
