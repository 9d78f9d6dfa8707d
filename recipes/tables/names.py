"""Table names: ``catalog.schema.table``, checked once, and where a local table lives."""

from __future__ import annotations

import re
from pathlib import Path

from recipes.errors import ParameterError
from recipes.target import mdk_home, resolve, workspace_double

_PART = re.compile(r"[A-Za-z0-9_]+")
EXAMPLE = "main.default.churn_scores"
DEFAULT_CATALOG = "main"  # what a two-level name means, as in a Unity Catalog workspace
DEFAULT_SCHEMA = "default"


def check_table_name(name: str) -> tuple[str, str, str]:
    """Split a three-level table name into lowercase ``(catalog, schema, table)``.

    Args:
        name: ``catalog.schema.table``; each part letters, digits or underscores.

    Raises:
        ParameterError: when the name is not three such parts.
    """
    parts = name.split(".") if isinstance(name, str) else []
    if len(parts) != 3 or not all(_PART.fullmatch(p) for p in parts):
        raise ParameterError(
            f"Bad table name {name!r}: use catalog.schema.table with letters, digits and "
            f"underscores only in each part, e.g. {EXAMPLE!r}."
        )
    catalog, schema, table = (p.lower() for p in parts)
    return catalog, schema, table


def qualify_table_name(name: str) -> str:
    """A one-, two- or three-level name as ``catalog.schema.table``, the way Databricks reads it.

    ``t`` is ``main.default.t`` and ``s.t`` is ``main.s.t``: the workspace's current catalog
    (``main`` by default) and current schema (``default``). Backticks around a part are dropped.

    Raises:
        ParameterError: for anything that is not one to three simple parts.
    """
    parts = name.replace("`", "").split(".") if isinstance(name, str) else []
    if 1 <= len(parts) <= 2:
        parts = [DEFAULT_CATALOG, DEFAULT_SCHEMA][: 3 - len(parts)] + parts
    try:
        return ".".join(check_table_name(".".join(parts)))
    except ParameterError:
        raise ParameterError(
            f"Bad table name {name!r}: use table, schema.table or catalog.schema.table with "
            f"letters, digits and underscores only in each part, e.g. {EXAMPLE!r}."
        ) from None


def check_schema_name(schema: str) -> tuple[str, str]:
    """Split ``catalog.schema`` into lowercase parts.

    Raises:
        ParameterError: when it is not two simple parts.
    """
    parts = schema.split(".") if isinstance(schema, str) else []
    if len(parts) != 2 or not all(_PART.fullmatch(p) for p in parts):
        raise ParameterError(
            f"Bad schema name {schema!r}: use catalog.schema with letters, digits and "
            "underscores only in each part, e.g. 'main.default'."
        )
    return parts[0].lower(), parts[1].lower()


def kit_tables() -> bool:
    """Whether tables are the local warehouse's Delta tables, readable at their paths with
    delta-rs: on the local target. On the databricks target tables go through Spark by name:
    Unity Catalog's on a workspace, and on the local workspace double its Spark Connect
    server's catalog (:mod:`recipes.delta_lake`) over the double's warehouse."""
    return resolve().name == "local"


def warehouse(home: Path | str | None = None) -> Path:
    """``<home>/warehouse``, the root of the kit's tables (not created here). Without
    ``home``: ``$MDK_HOME``, or the workspace double's folder when the kit runs against it."""
    root = Path(home).expanduser() if home is not None else workspace_double() or mdk_home()
    return root / "warehouse"


def table_path(name: str, home: Path | str | None = None) -> Path:
    """The table's path, ``<home>/warehouse/<catalog>/<schema>/<table>`` (not created here):
    a Delta table, whose ``_delta_log`` says which parquet files are the table.

    Args:
        name: ``catalog.schema.table``.
        home: the kit's home folder; None for ``$MDK_HOME`` (see ``target.mdk_home``).
    """
    return warehouse(home).joinpath(*check_table_name(name))
