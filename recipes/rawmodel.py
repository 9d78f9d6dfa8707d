"""A pyfunc model's raw sklearn estimator, where calling it gives what ``predict`` gives.

MLflow's ``pyfunc`` ``predict`` first checks the input against the signature: once per
column for typed columns (the demo models' ``long``), but value by value for ``Any`` columns
(~6.7 µs per row of Python, more than the model). A model logged with the ``sklearn`` flavor
and the default ``predict`` function gives the same predictions from its raw estimator on
one float64 array, for input the signature admits (the callers check the types first).
The serving endpoint's workers call it that way, only after comparing it with ``predict``
(through their numpy kernel's check).
"""

from __future__ import annotations

NUMERIC = {"double", "float", "integer", "boolean"}
# sklearn's warning when an estimator fitted on a DataFrame is given an array
NO_NAMES = "X does not have valid feature names"


def input_kinds(model) -> tuple[list[str] | None, list[str]]:
    """The signature's input column names and kinds (``number``/``long``/``string``/
    ``any``); ``(None, [])`` without named inputs."""
    schema = model.metadata.get_input_schema()
    if schema is None or not schema.has_input_names():
        return None, []
    names, kinds = [], []
    for spec in schema.inputs:
        names.append(spec.name)
        kind = str(getattr(spec.type, "name", spec.type)).lower()
        kinds.append(
            "number"
            if kind in NUMERIC
            else "long"
            if kind == "long"  # pyfunc takes int64 only: no float, bool, null
            else "string"
            if kind == "string"
            else "any"
        )
    return names, kinds


def raw_estimator(model, kinds: list[str]):
    """The raw sklearn estimator when every column is numeric, long or Any and the flavor
    is sklearn with the default ``predict``; else None."""
    flavors = model.metadata.flavors
    conf = flavors.get("python_function", {})
    if "sklearn" not in flavors or conf.get("loader_module") != "mlflow.sklearn":
        return None
    if conf.get("predict_fn", "predict") != "predict" or "string" in kinds:
        return None
    raw = model.get_raw_model()
    return raw if hasattr(raw, "predict") else None
