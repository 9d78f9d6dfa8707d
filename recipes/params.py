"""The notebooks' first check: typed parameters, validated before any work starts.

A notebook's ``parameters`` cell declares typed literals (``n_rows: int = 5000``). papermill
injects overrides as plain assignments after it, so the annotations survive and say what
each value must be. :func:`check_parameters` compares every annotated value with its type,
and raises one :class:`~recipes.errors.ParameterError` line naming the fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from recipes.errors import ParameterError

_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def _type_of(annotation: Any) -> type:
    if isinstance(annotation, str):  # from __future__ annotations, or a string literal
        annotation = _TYPES.get(annotation, annotation)
    if annotation not in (int, float, str, bool):
        raise ParameterError(
            f"Unsupported parameter type {annotation!r}: use int, float, str or bool."
        )
    return annotation


def conforms(value: Any, kind: type) -> bool:
    """Whether ``value`` may stand for a parameter declared ``kind`` (int widens to float).

    bool is a subclass of int: True is never an int or float, nor 1 a bool.
    """
    if kind is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, kind)


def example(kind: type) -> str:
    """A value of ``kind`` as one would pass it with ``-p NAME VALUE``."""
    return {int: "5000", float: "1.5", bool: "True", str: "churn-predictor"}[kind]


def _coerce(name: str, value: Any, kind: type) -> Any:
    if not conforms(value, kind):
        raise ParameterError(
            f"Parameter {name!r} must be {kind.__name__}, got {type(value).__name__} {value!r}: "
            f"pass e.g. -p {name} {example(kind)}."
        )
    return float(value) if kind is float else value


def check_parameters(
    namespace: Mapping[str, Any],
    *,
    choices: Mapping[str, Iterable[Any]] | None = None,
    minimum: Mapping[str, float] | None = None,
    maximum: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Validate the notebook's annotated parameters.

    Args:
        namespace: the notebook's ``globals()``; its ``__annotations__`` are the contract.
        choices: allowed values per parameter name.
        minimum: inclusive lower bounds per numeric parameter name.
        maximum: inclusive upper bounds per numeric parameter name.

    Returns:
        The parameters as a dict (floats given as ints are widened to float).

    Raises:
        ParameterError: one line naming the parameter, what it got and what to pass.
    """
    annotations = dict(namespace.get("__annotations__", {}))
    if not annotations:
        raise ParameterError(
            "No typed parameters found: the notebook's `parameters` cell must declare "
            "typed literals such as `n_rows: int = 5000`."
        )
    params = {
        name: _coerce(name, namespace[name], _type_of(ann))
        for name, ann in annotations.items()
        if name in namespace
    }
    for name, allowed in (choices or {}).items():
        allowed = list(allowed)
        if params.get(name) not in allowed:
            raise ParameterError(
                f"Parameter {name!r} got {params.get(name)!r}: use one of "
                f"{', '.join(map(repr, allowed))}."
            )
    for name, low in (minimum or {}).items():
        if params[name] < low:
            raise ParameterError(
                f"Parameter {name!r} got {params[name]!r}: it must be at least {low}."
            )
    for name, high in (maximum or {}).items():
        if params[name] > high:
            raise ParameterError(
                f"Parameter {name!r} got {params[name]!r}: it must be at most {high}."
            )
    return params
