"""Unity Catalog's tables API over the endpoint's local tables: list, get, delete.

``/api/2.1/unity-catalog/tables`` as the databricks-sdk's ``w.tables`` calls it, over the
Delta tables under this endpoint's ``$MDK_HOME/warehouse``, read with delta-rs
(:mod:`recipes.tables.files`, no JVM): the inference tables it captures, the tables its
monitors watch and the metric tables their refreshes write. Behind the workspace double
these are the workspace's tables (``mdk teardown`` lists and deletes the kit's through here).

- ``GET /api/2.1/unity-catalog/tables?catalog_name=&schema_name=``: ``{"tables": [...]}``,
  sorted by name, ``max_results``/``page_token`` as offsets; both names are required, as on
  Databricks;
- ``GET /api/2.1/unity-catalog/tables/{full_name}``: one ``TableInfo``, 404 when missing;
- ``DELETE /api/2.1/unity-catalog/tables/{full_name}``: drop the table (its data and its
  Delta log, as ``DROP TABLE`` does to a managed table), 404 when missing.

A table exists when a Delta table is at its path. Its ``TableInfo`` has ``name``,
``catalog_name``, ``schema_name``, ``full_name``, ``table_type`` (``MANAGED``),
``data_source_format`` (``DELTA``), ``columns`` (from the Delta schema: ``name``,
``type_text``, ``type_name``, ``type_json``, ``position``, ``nullable``), ``storage_location``
(the table's folder) and ``properties`` (Delta's table configuration,
:func:`recipes.tables.properties`). Not imitated: creating tables through the API,
``include_browse`` and the other list options.
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter, Request

from recipes import tables
from recipes.errors import KitError, invalid, not_found

API = "/api/2.1/unity-catalog/tables"
PAGE = 1000


def _full_name(name: str) -> str:
    try:
        return ".".join(tables.check_table_name(name))
    except KitError as exc:
        raise invalid(str(exc)) from None


# Delta's primitive type names -> Spark SQL's (type_text) and Unity Catalog's ColumnTypeName.
_SQL = {"long": "bigint", "integer": "int", "short": "smallint", "byte": "tinyint"}
_UC = {"long": "LONG", "integer": "INT", "short": "SHORT", "byte": "BYTE"}


def type_text(delta_type) -> str:
    """A Delta schema type (its JSON form) as Spark SQL writes it: ``bigint``,
    ``map<string,string>``, ``struct<a:int,b:string>``, ``array<double>``."""
    if isinstance(delta_type, str):
        return _SQL.get(delta_type, delta_type)
    kind = delta_type["type"]
    if kind == "array":
        return f"array<{type_text(delta_type['elementType'])}>"
    if kind == "map":
        return f"map<{type_text(delta_type['keyType'])},{type_text(delta_type['valueType'])}>"
    return (
        "struct<"
        + ",".join(f"{f['name']}:{type_text(f['type'])}" for f in delta_type["fields"])
        + ">"
    )


def type_name(delta_type) -> str:
    """Unity Catalog's ``type_name`` of a Delta type: ``LONG``, ``DECIMAL``, ``MAP``, ..."""
    if isinstance(delta_type, str):
        return _UC.get(delta_type, delta_type.split("(")[0].upper())
    return delta_type["type"].upper()


def columns(full: str, home: Path) -> list[dict]:
    """The ``ColumnInfo`` list of existing local table ``full``, from its Delta schema."""
    fields = json.loads(tables.files.delta_schema(full, home=home).to_json())
    return [
        {
            "name": f["name"],
            "type_text": type_text(f["type"]),
            "type_name": type_name(f["type"]),
            "type_json": json.dumps(f, separators=(",", ":")),
            "position": i,
            "nullable": bool(f.get("nullable", True)),
        }
        for i, f in enumerate(fields["fields"])
    ]


def table_info(full: str, home: Path) -> dict:
    """The ``TableInfo`` of existing local Delta table ``full``."""
    catalog, schema, name = full.split(".")
    return {
        "name": name,
        "catalog_name": catalog,
        "schema_name": schema,
        "full_name": full,
        "table_type": "MANAGED",
        "data_source_format": "DELTA",
        "columns": columns(full, home),
        "storage_location": tables.table_path(full, home).as_uri(),
        "properties": tables.properties(full, home=home),
    }


def _offset(raw: str | None, default: int) -> int:
    if raw in (None, ""):
        return default
    if not raw.isdigit():
        raise invalid(f"max_results and page_token must be non-negative integers, got {raw!r}.")
    return int(raw)


def routes(home: Path, authorize) -> APIRouter:
    """The tables routes over ``home``'s warehouse; ``authorize(request)`` raises the 401."""
    router = APIRouter()

    @router.get(API)
    async def list_tables(request: Request):
        authorize(request)
        q = request.query_params
        catalog, schema = q.get("catalog_name"), q.get("schema_name")
        if not catalog or not schema:
            raise invalid("catalog_name and schema_name are required.")
        try:
            names = tables.files.list_tables(f"{catalog}.{schema}", home=home)
        except KitError as exc:
            raise invalid(str(exc)) from None
        start, size = _offset(q.get("page_token"), 0), _offset(q.get("max_results"), PAGE) or PAGE
        out: dict = {"tables": [table_info(n, home) for n in names[start : start + size]]}
        if start + size < len(names):
            out["next_page_token"] = str(start + size)
        return out

    def existing(full_name: str, request: Request, act) -> str:
        """``full_name`` checked, after ``act(full)`` said it exists (else the 404)."""
        authorize(request)
        full = _full_name(full_name)
        if not act(full):
            raise not_found(f"Table '{full}' does not exist.")
        return full

    @router.get(API + "/{full_name}")
    async def get_table(full_name: str, request: Request):
        full = existing(full_name, request, lambda t: tables.exists(t, home=home))
        return table_info(full, home)

    @router.delete(API + "/{full_name}")
    async def delete_table(full_name: str, request: Request):
        existing(full_name, request, lambda t: tables.files.drop(t, home=home))
        return {}

    return router
