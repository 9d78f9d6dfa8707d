"""Tables by name on either target: write, save (``saveAsTable``), read, list and drop.

On the databricks target each call is Spark's own (``saveAsTable``, ``spark.table``,
``spark.catalog``, ``DROP TABLE``); locally it is :mod:`recipes.tables.local`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recipes.errors import ParameterError
from recipes.spark import get_spark
from recipes.tables import local
from recipes.tables.local import read, version_folder
from recipes.tables.names import (
    check_schema_name,
    check_table_name,
    kit_tables,
    qualify_table_name,
)
from recipes.tables.properties import mark_created

if TYPE_CHECKING:
    import pandas as pd

# Spark's save modes -> the local writer's.
_SAVE_MODES = {
    "overwrite": "overwrite",
    "append": "append",
    "error": "create",
    "errorifexists": "create",
    "default": "create",
    "ignore": "ignore",
}


@dataclass(frozen=True)
class TableWrite:
    """What a write did.

    Attributes:
        name: the ``catalog.schema.table`` written.
        location: the version folder written locally; the table name on Databricks.
        mode: the save mode (``overwrite``, ``append``, ``errorifexists`` or ``ignore``).
        rows: rows written (from the new files' footers locally; None when not cheaply known).
        seconds: wall time of the write.
        version: the local version folder's name (None on Databricks).
    """

    name: str
    location: str
    mode: str
    rows: int | None
    seconds: float
    version: str | None = None


def _on_databricks() -> bool:
    """Unity Catalog's tables through Spark (a real workspace), not the kit's folders."""
    return not kit_tables()


def write_table(
    name: str, data: Any, *, mode: str = "overwrite", home: Path | str | None = None
) -> TableWrite:
    """Write a Spark DataFrame (classic or Connect), a pandas DataFrame or a pyarrow Table.

    Args:
        name: ``catalog.schema.table``.
        data: the rows.
        mode: ``"overwrite"`` (atomic locally) or ``"append"`` (columns must match).
        home: the kit's home folder for local tables; None for ``$MDK_HOME``.

    Raises:
        ParameterError: a bad name, mode or data type, or appended columns that differ.
    """
    if mode not in ("overwrite", "append"):
        raise ParameterError(f"Bad mode {mode!r} for write_table: use 'overwrite' or 'append'.")
    return _write(".".join(check_table_name(name)), data, mode, home)


def save_as_table(
    df: Any, name: str, *, mode: str | None = None, home: Path | str | None = None
) -> TableWrite:
    """``df.write.format("delta").mode(mode).saveAsTable(name)``, on either target.

    Args:
        df: the rows (as for :func:`write_table`).
        name: ``table``, ``schema.table`` (catalog ``main``) or ``catalog.schema.table``.
        mode: ``overwrite``, ``append``, ``error``/``errorifexists`` (the default: fail if
            the table exists) or ``ignore`` (do nothing if it exists).
        home: the kit's home folder for local tables.

    Raises:
        TableExistsError: mode ``errorifexists`` and the table exists.
    """
    key = (mode or "errorifexists").lower()
    if key not in _SAVE_MODES:
        raise ParameterError(
            f"Bad save mode {mode!r}: use overwrite, append, errorifexists or ignore."
        )
    return _write(
        qualify_table_name(name), df, "errorifexists" if key in ("error", "default") else key, home
    )


def _write(full: str, data: Any, mode: str, home: Path | str | None) -> TableWrite:
    """Write, then mark the table ``created_by=mdk`` (what ``mdk teardown`` looks for) when
    this write created or replaced it: an append to, or an ``ignore`` of, a table that was
    there already leaves its properties alone."""
    start = time.perf_counter()
    if _on_databricks():
        spark = data.sparkSession if local.data_kind(data) == "spark" else _databricks_spark()
        mark = mode not in ("append", "ignore") or not spark.catalog.tableExists(full)
        rows = _databricks_write(full, data, mode)
        if mark:
            mark_created(full, spark=spark)
        return TableWrite(full, full, mode, rows, time.perf_counter() - start)
    mark = mode not in ("append", "ignore") or not local.exists(full, home=home)
    folder, rows = local.write(full, data, _SAVE_MODES[mode], home)
    if mark:
        mark_created(full, home=home)
    return TableWrite(full, str(folder), mode, rows, time.perf_counter() - start, folder.name)


def read_table(name: str, *, spark: Any = None, home: Path | str | None = None):
    """The table as a Spark DataFrame when ``spark`` is given, else as pandas.

    Locally Spark reads the current version's folder, so the DataFrame keeps reading that
    version even if the table is overwritten meanwhile (the previous version is kept).

    Raises:
        NotFoundError: the table does not exist (locally).
    """
    full = ".".join(check_table_name(name))
    if _on_databricks():
        session = spark if spark is not None else _databricks_spark()
        df = session.table(full)
        return df if spark is not None else df.toPandas()
    if spark is not None:
        return spark.read.parquet(str(version_folder(full, home=home)))
    return read(full, home=home)


def read_rows(
    name: str, column: str, values: Iterable[Any], *, home: Path | str | None = None
) -> pd.DataFrame:
    """The rows whose ``column`` is one of ``values``, as pandas.

    On Databricks the filter runs in Spark (``spark.table(name).where(col.isin(...))``), so
    only those rows reach this process; locally the table's files are read.

    Raises:
        NotFoundError: the table does not exist (locally).
    """
    wanted = list(values)
    full = ".".join(check_table_name(name))
    if _on_databricks():
        df = _databricks_spark().table(full)
        return df.where(df[column].isin(wanted)).toPandas()
    df = read(full, home=home)
    return df[df[column].isin(wanted)]


def table_exists(name: str, *, spark: Any = None, home: Path | str | None = None) -> bool:
    """Whether the table exists: in the catalog on Databricks, under ``home`` locally."""
    full = ".".join(check_table_name(name))
    if _on_databricks():
        session = spark if spark is not None else _databricks_spark()
        return bool(session.catalog.tableExists(full))
    return local.exists(full, home=home)


def list_tables(
    schema: str | None = None, *, home: Path | str | None = None, spark: Any = None
) -> list[str]:
    """Sorted ``catalog.schema.table`` names, of one ``catalog.schema`` or of all."""
    if not _on_databricks():
        return local.list_tables(schema, home=home)
    session = spark if spark is not None else _databricks_spark()
    if schema is None:
        rows = session.sql(
            "SELECT table_catalog, table_schema, table_name FROM system.information_schema.tables "
            "WHERE table_schema <> 'information_schema'"
        ).collect()
        return sorted(".".join(r) for r in rows)
    catalog, db = check_schema_name(schema)
    return sorted(
        f"{catalog}.{db}.{t.name}"
        for t in session.catalog.listTables(f"{catalog}.{db}")
        if not t.isTemporary
    )


def drop_table(name: str, *, home: Path | str | None = None, spark: Any = None) -> bool:
    """Drop the table. Returns True if it existed."""
    full = ".".join(check_table_name(name))
    if not _on_databricks():
        return local.drop_table(full, home=home)
    session = spark if spark is not None else _databricks_spark()
    existed = bool(session.catalog.tableExists(full))
    session.sql(f"DROP TABLE IF EXISTS {full}")  # the name is checked: plain identifiers
    return existed


# --------------------------------------------------------------------------- databricks


def _databricks_spark():
    return get_spark("databricks")


def _databricks_write(full: str, data: Any, mode: str) -> int | None:
    kind = local.data_kind(data)
    rows = None
    if kind != "spark":
        from pyspark.sql.pandas.types import from_arrow_schema

        pdf = data.to_pandas() if kind == "arrow" else data
        schema = from_arrow_schema(data.schema) if kind == "arrow" else None
        rows = len(pdf)
        data = _databricks_spark().createDataFrame(pdf, schema=schema)
    data.write.format("delta").mode(mode).saveAsTable(full)
    return rows
