"""A served model's params schema, enforced on a request's ``params`` as pyfunc enforces it.

``PyFuncModel.predict(df, params=...)`` checks ``params`` against the signature's params
schema (MLflow's ``_enforce_params_schema`` and ``_enforce_param_datatype``), and so does the
front, before a request is queued:

* a declared parameter that is absent gets its default, so the model always sees them all;
* a value of the wrong type is refused: a 400 ``BAD_REQUEST`` naming the parameter. As in
  MLflow, an ``int`` widens to ``long``, ``float`` and ``double``; nothing else converts (a
  ``bool`` is no number, ``"0.7"`` no double); a ``null`` passes as ``None``; a ``shape
  [-1]`` parameter takes a list of such values; a ``datetime`` takes what
  ``numpy.datetime64`` reads;
* an undeclared name is ignored, with MLflow's warning (returned, for the endpoint's log);
* a model without a params schema ignores every param, with MLflow's warning for that.

The schema comes from the worker's handshake (``ModelSignature.to_dict()["params"]``, JSON),
so the front never imports MLflow. ``object`` parameters are checked to be JSON objects here;
their fields are left to MLflow's own enforcement in the worker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from recipes.errors import bad_request

# the Python types MLflow's DataType.check_type accepts for a JSON value, per param type
# (exact types: True is no int), and the conversions _ALLOWED_CONVERSIONS_FOR_PARAMS adds
_EXACT: dict[str, tuple[type, ...]] = {
    "boolean": (bool,),
    "integer": (int,),
    "long": (int,),
    "float": (float, int),
    "double": (float, int),
    "string": (str,),
    "binary": (bytes,),
}
_CAST: dict[str, type] = {
    "boolean": bool,
    "integer": int,
    "long": int,
    "float": float,
    "double": float,
    "string": str,
    "binary": bytes,
}


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter: ``name``, MLflow ``type``, ``default``, ``shape`` (None or
    ``(-1,)``)."""

    name: str
    type: str
    default: Any
    shape: tuple[int, ...] | None = None


class _Invalid(ValueError):
    pass


def _scalar(value: Any, kind: str) -> Any:
    """``value`` as MLflow's ``_enforce_param_datatype`` returns it, or _Invalid."""
    if value is None:
        return None
    if kind == "datetime":
        import warnings

        import numpy as np

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = np.datetime64(value).item()
        except (ValueError, TypeError):
            out = 0
        if isinstance(out, int):  # unparsable, or finer than datetime's microseconds
            raise _Invalid(f"expects a datetime (e.g. '2026-01-31T12:00:00'), got {value!r}")
        return out
    if kind == "object":
        if not isinstance(value, dict):
            raise _Invalid(f"expects an object, got {value!r} ({type(value).__name__})")
        return value
    if isinstance(value, list | dict):
        raise _Invalid(f"expects a single {kind}, got {value!r}")
    if type(value) not in _EXACT.get(kind, (type(value),)):
        raise _Invalid(
            f"expects {_article(kind)} {kind}, got {value!r} ({type(value).__name__}), which "
            "MLflow's params schema refuses"
        )
    return _CAST[kind](value) if kind in _CAST else value


def _article(kind: str) -> str:
    return "an" if kind[0] in "aeiou" else "a"


def _check(spec: ParamSpec, value: Any) -> Any:
    if spec.shape is None:
        return _scalar(value, spec.type)
    if not isinstance(value, list) or any(isinstance(v, list | dict) for v in value):
        raise _Invalid(f"expects a list of {spec.type} (shape (-1,)), got {value!r}")
    return [_scalar(v, spec.type) for v in value]


@dataclass(frozen=True)
class ParamsSchema:
    """The params a model declares, by name."""

    specs: tuple[ParamSpec, ...]

    @classmethod
    def from_signature(cls, signature: dict | None) -> ParamsSchema | None:
        """From ``ModelSignature.to_dict()`` (``params``: a JSON list, or None)."""
        raw = (signature or {}).get("params")
        if not raw:
            return None
        specs = []
        for item in json.loads(raw) if isinstance(raw, str) else raw:
            kind, shape = str(item.get("type") or item.get("dtype")), item.get("shape")
            shape = tuple(shape) if shape else None
            specs.append(ParamSpec(item["name"], kind, item.get("default"), shape))
        return cls(tuple(specs))

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs]


def enforce_params(schema: ParamsSchema | None, params: dict | None) -> tuple[dict | None, str]:
    """The params to call the model with, and the warning to log ("" for none).

    Raises:
        ApiError: 400 ``BAD_REQUEST`` naming every parameter whose value has the wrong type.
    """
    if schema is None:
        if not params:
            return None, ""
        return None, (
            "`params` can only be specified at inference time if the model signature defines "
            "a params schema. This model does not define a params schema. Ignoring provided "
            f"params: {list(params)}"
        )
    params = params or {}
    names = schema.names
    ignored = [k for k in params if k not in names]
    warning = (
        f"Unrecognized params {ignored} are ignored for inference. Supported params are: "
        f"{names}. To enable them, please add corresponding schema in ModelSignature."
        if ignored
        else ""
    )
    out, problems = {}, []
    for spec in schema.specs:
        given = spec.name in params
        try:
            out[spec.name] = _check(spec, params[spec.name] if given else spec.default)
        except _Invalid as exc:
            if not given:  # a default MLflow logged is never wrong; pass it through as is
                out[spec.name] = spec.default
                continue
            problems.append(f"{spec.name!r} {exc}")
    if problems:
        raise bad_request(
            f"Invalid parameter{'s' if len(problems) > 1 else ''} for the model's params "
            f"schema: {'; '.join(problems)}."
        )
    return out, warning
