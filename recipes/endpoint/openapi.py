"""The endpoint's OpenAPI document, as ``w.serving_endpoints.get_open_api(name)`` returns it.

``GET /api/2.0/serving-endpoints/{name}/openapi`` ("Get the query schema of the serving
endpoint in OpenAPI format. The schema contains information for the supported paths, input
and output format and datatypes": the REST reference, and ``ServingEndpointsAPI.get_open_api``
in databricks-sdk). Its shape follows what Databricks' own consumer of it reads (the
serving type generator of ``databricks/appkit``): an OpenAPI 3 JSON document whose
``paths`` are ``/serving-endpoints/{name}/invocations`` and, per served entity,
``/serving-endpoints/{name}/served-models/{entity}/invocations``, each a ``post`` with a
``requestBody`` and a ``200`` response under ``application/json``.

Made from each served entity's MLflow signature (``Entity.signature``, the
``ModelSignature.to_dict()`` the worker reports in its handshake; JSON strings, parsed here
without MLflow):

- the request: one of the four input formats (``dataframe_split``, ``dataframe_records``,
  ``instances``, ``inputs``) with the model's columns and types, ``params`` from the params
  schema (names, types, defaults) and ``client_request_id``: the keys
  :func:`recipes.formats.parse` accepts, and no other (an unknown key is a 400 there);
- the answer: ``{"predictions": [...]}`` typed by the output schema, the
  ``served-model-name`` header, and the ``{"error_code", "message"}`` errors.

A model without a signature gets the same four formats with untyped columns.
"""

from __future__ import annotations

import json
import re
from typing import Any

from recipes.errors import conflict, unavailable
from recipes.formats import FORMATS, encode

OPENAPI_VERSION = "3.0.3"

# MLflow's column and param types (mlflow.types.DataType) as OpenAPI 3.0 schemas
_SCALARS: dict[str, dict] = {
    "boolean": {"type": "boolean"},
    "integer": {"type": "integer", "format": "int32"},
    "long": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "float"},
    "double": {"type": "number", "format": "double"},
    "string": {"type": "string"},
    "binary": {"type": "string", "format": "byte"},
    "datetime": {"type": "string", "format": "date-time"},
    "any": {},
}
# a tensor's numpy dtype
_DTYPES = (
    (re.compile(r"^float(16|32)$"), {"type": "number", "format": "float"}),
    (re.compile(r"^float"), {"type": "number", "format": "double"}),
    (re.compile(r"^u?int(8|16|32)$"), {"type": "integer", "format": "int32"}),
    (re.compile(r"^u?int"), {"type": "integer", "format": "int64"}),
    (re.compile(r"^bool"), {"type": "boolean"}),
    (re.compile(r"^(str|<U)"), {"type": "string"}),
)

ERROR = {
    "type": "object",
    "required": ["error_code", "message"],
    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
}
_ERRORS = {
    "400": "The body is not one of the four formats, or a column, a value or a param is wrong.",
    "401": "Missing or wrong bearer token.",
    "404": "No such endpoint or served entity.",
    "429": "A rate limit of the endpoint's AI Gateway was hit.",
    "503": "The served entity is not ready (starting, or it failed to load).",
}


def _spec_schema(spec: dict) -> dict:
    """One MLflow type spec (``{"type": ...}`` with ``items``/``properties``/``values``)."""
    kind = spec.get("type")
    if kind == "array":
        return {"type": "array", "items": _spec_schema(spec.get("items") or {})}
    if kind == "object":
        props = spec.get("properties") or {}
        out: dict[str, Any] = {
            "type": "object",
            "properties": {k: _spec_schema(v) for k, v in props.items()},
        }
        required = [k for k, v in props.items() if v.get("required", True)]
        if required:
            out["required"] = required
        return out
    if kind == "map":
        return {"type": "object", "additionalProperties": _spec_schema(spec.get("values") or {})}
    if kind == "tensor":
        tensor = spec.get("tensor-spec") or {}
        dtype = str(tensor.get("dtype", ""))
        schema = next((dict(s) for p, s in _DTYPES if p.match(dtype)), {})
        for _ in (tensor.get("shape") or [-1])[1:]:  # the first dimension is the batch
            schema = {"type": "array", "items": schema}
        return schema
    return dict(_SCALARS.get(str(kind), {}))


def _column(spec: dict) -> dict:
    schema = _spec_schema(spec)
    if not spec.get("required", True) and schema:
        schema["nullable"] = True
    return schema


def _param(spec: dict) -> dict:
    schema = _spec_schema(spec)
    if spec.get("shape"):  # (-1,): a list of that type
        schema = {"type": "array", "items": schema}
    if spec.get("default") is not None:
        schema["default"] = spec["default"]
    return schema


def _example(schema: dict):
    """A value ``schema`` admits (for the request examples)."""
    kind = schema.get("type")
    if kind == "array":
        return [_example(schema.get("items") or {})]
    if kind == "object":
        return {k: _example(v) for k, v in (schema.get("properties") or {}).items()}
    if kind == "string":
        return "2024-01-01T00:00:00Z" if schema.get("format") == "date-time" else ""
    return {"integer": 0, "number": 0.0, "boolean": False}.get(kind)


def _loads(value) -> list[dict] | None:
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else list(value)


def entity_schemas(signature: dict | None) -> tuple[dict, dict, dict]:
    """The request and response schemas of one served entity, and a request example
    (``{}`` without named columns).

    Args:
        signature: ``ModelSignature.to_dict()`` (``inputs``/``outputs``/``params`` as
            JSON strings or None), or None for a model without one.
    """
    signature = signature or {}
    inputs = _loads(signature.get("inputs")) or []
    outputs = _loads(signature.get("outputs")) or []
    params = _loads(signature.get("params")) or []
    named = bool(inputs) and all("name" in c for c in inputs)
    columns = {c["name"]: _column(c) for c in inputs} if named else {}
    required = [c["name"] for c in inputs if c.get("required", True)] if named else []

    record: dict[str, Any] = {"type": "object", "properties": columns}
    if required:
        record["required"] = required
    if not named:
        record["description"] = "The model has no named input columns: any columns."
    records = {"type": "array", "minItems": 1, "items": record}
    columnar: dict[str, Any] = {
        "type": "object",
        "description": "Columns by name: a list of values each (or a single value).",
        "properties": {
            n: {"anyOf": [{"type": "array", "items": s, "minItems": 1}, s]}
            for n, s in columns.items()
        },
    }
    if required:
        columnar["required"] = required
    split: dict[str, Any] = {
        "type": "object",
        "required": ["columns", "data"],
        "description": "Pandas' split orientation: each row of data follows columns' order.",
        "properties": {
            "columns": {"type": "array", "items": {"type": "string"}},
            "data": {"type": "array", "minItems": 1, "items": {"type": "array", "items": {}}},
            "index": {"type": "array", "items": {}},
        },
    }
    if columns:
        split["properties"]["columns"]["items"]["enum"] = list(columns)
    param_schema: dict[str, Any] = {
        "type": "object",
        "description": (
            "The model's params, as pyfunc.predict(df, params=...) takes them; an absent "
            "param takes its default, and an unknown name is ignored with a warning."
            if params
            else "The model declares no params: any given are ignored."
        ),
        "properties": {p["name"]: _param(p) for p in params},
    }
    request = {
        "type": "object",
        "description": "Exactly one of the four input formats, with optional params.",
        "properties": {
            "dataframe_split": split,
            "dataframe_records": records,
            "instances": {"anyOf": [records, columnar]},
            "inputs": {"anyOf": [records, columnar]},
            "params": param_schema,
            "client_request_id": {"type": "string"},
        },
        "oneOf": [{"required": [key]} for key in FORMATS],
        "additionalProperties": False,
    }
    example: dict[str, Any] = {}
    if columns:
        row = {name: _example(s) for name, s in columns.items()}
        defaults = {p["name"]: p["default"] for p in params if p.get("default") is not None}
        example = encode([row], "dataframe_split", params=defaults or None)

    if len(outputs) > 1 and all("name" in c for c in outputs):
        item: dict = {
            "type": "object",
            "properties": {c["name"]: _column(c) for c in outputs},
        }
    elif outputs:
        item = _column(outputs[0])
    else:
        item = {}
    response = {
        "type": "object",
        "required": ["predictions"],
        "properties": {"predictions": {"type": "array", "items": item}},
    }
    return request, response, example


def _key(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def _operation(op_id: str, summary: str, request: dict, response: dict, examples: dict) -> dict:
    body: dict[str, Any] = {"schema": request}
    if examples:
        body["examples"] = {k: {"value": v} for k, v in examples.items()}
    return {
        "operationId": op_id,
        "summary": summary,
        "requestBody": {"required": True, "content": {"application/json": body}},
        "responses": {
            "200": {
                "description": "The model's predictions.",
                "headers": {
                    "served-model-name": {
                        "description": "The served entity that answered.",
                        "schema": {"type": "string"},
                    }
                },
                "content": {"application/json": {"schema": response}},
            },
            **{
                code: {
                    "description": text,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
                for code, text in _ERRORS.items()
            },
        },
    }


def document(
    name: str,
    signatures: dict[str, dict | None],
    routes: tuple[tuple[str, int], ...] | list,
    *,
    version: int | str = 1,
) -> dict:
    """The endpoint's OpenAPI 3 document.

    Args:
        name: the endpoint's name.
        signatures: per served entity, its ``ModelSignature.to_dict()`` (or None).
        routes: ``(served entity, traffic percentage)``: the endpoint's own path takes the
            request of the entities with traffic (one schema, or any of theirs).
        version: the endpoint's config version (the document's ``info.version``).

    The schemas are inline, not ``$ref``s: appkit's type generator reads them in place. No
    ``servers``: OpenAPI's default then resolves the paths against the host the document
    came from (the workspace double proxies the endpoint, so its own host would be wrong).
    """
    paths: dict[str, Any] = {}
    built = {}
    for served, signature in sorted(signatures.items()):
        request, response, example = built[served] = entity_schemas(signature)
        paths[f"/serving-endpoints/{name}/served-models/{served}/invocations"] = {
            "post": _operation(
                f"query_{_key(name)}_{_key(served)}",
                f"Query served entity {served} of endpoint {name}.",
                request,
                response,
                {"dataframe_split": example} if example else {},
            )
        }
    live = [n for n, pct in routes if pct > 0 and n in built] or sorted(built)
    distinct: list[str] = []  # the live entities with a request/response of their own
    for n in live:
        if all(built[n][:2] != built[d][:2] for d in distinct):
            distinct.append(n)
    if distinct:
        one = len(distinct) == 1
        paths[f"/serving-endpoints/{name}/invocations"] = {
            "post": _operation(
                f"query_{_key(name)}",
                f"Query endpoint {name}: its traffic config picks the served entity.",
                built[distinct[0]][0] if one else {"anyOf": [built[n][0] for n in distinct]},
                built[distinct[0]][1] if one else {"anyOf": [built[n][1] for n in distinct]},
                {n: built[n][2] for n in distinct if built[n][2]},
            )
        }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": name,
            "version": str(version),
            "description": f"Serving endpoint {name}: its invocation paths, made from the "
            "served models' MLflow signatures.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }


def endpoint_document(ep) -> dict:
    """:func:`document` for a running endpoint (``Endpoint``: ``name``, ``active``,
    ``entities``), once every served entity has loaded its model (so its signature is known).

    Raises:
        ApiError: 503 ``TEMPORARILY_UNAVAILABLE`` while the config or an entity is still
            starting (the SDK retries a 503: the document comes once the models have
            loaded); 409 ``RESOURCE_CONFLICT`` when an entity's model failed to load and
            never has (retrying does not help: update the config).
    """
    cfg = ep.active
    if cfg is None:
        raise unavailable(f"Endpoint {ep.name!r} is not ready yet: no served entity has loaded.")
    signatures = {}
    for served in (s.name for s in cfg.entities):
        ent = ep.entities.get(served)
        if ent is None or ent.stats.last_load_seconds is None:  # never loaded: no signature
            if ent is not None and ent.deployment == "DEPLOYMENT_FAILED":
                raise conflict(
                    f"Served entity {served!r} of endpoint {ep.name!r} failed to load its "
                    f"model, so its signature is unknown: {ent.message}"
                )
            raise unavailable(
                f"Served entity {served!r} of endpoint {ep.name!r} is still loading its model."
            )
        signatures[served] = ent.signature
    return document(ep.name, signatures, cfg.routes, version=cfg.version)
