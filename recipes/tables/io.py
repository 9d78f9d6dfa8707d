"""Tables by name on either target, through Spark: write, read, list and drop.

Each call is Spark's and Delta's own on both targets: ``df.writeTo(name).using("delta")``
(``saveAsTable``), ``spark.table``, ``spark.catalog`` and ``DROP TABLE``. Locally the session's
catalog (:mod:`recipes.delta_lake`) puts ``main.<schema>.<table>`` under
``$MDK_HOME/warehouse``; on Databricks it is Unity Catalog. Where a caller has no Spark
session and only wants pandas, local tables are read with delta-rs (:mod:`recipes.tables.files`)
rather than by starting a JVM.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recipes.errors import NotFoundError, ParameterError
from recipes.spark import get_spark
from recipes.tables import files
from recipes.tables.names import check_schema_name, check_table_name, kit_tables
from recipes.workspace_names import CREATED_BY

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class TableWrite:
    """What a write did.

    Attributes:
        name: the ``catalog.schema.table`` written.
        mode: ``overwrite`` or ``append``.
        rows: rows written (Delta's ``numOutputRows`` locally; None on Databricks).
        seconds: wall time of the write.
        version: the table's Delta version after the write (None on Databricks).
    """

    name: str
    mode: str
    rows: int | None
    seconds: float
    version: int | None = None


def data_kind(data: Any) -> str:
    """``"arrow"``, ``"pandas"`` or ``"spark"`` (classic or Connect DataFrame)."""
    import sys

    pa = sys.modules.get("pyarrow")
    if pa is not None and isinstance(data, pa.Table):
        return "arrow"
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(data, pd.DataFrame):
        return "pandas"
    if hasattr(data, "write") and hasattr(data, "sparkSession"):
        return "spark"
    raise ParameterError(
        f"Cannot write a {type(data).__module__}.{type(data).__name__} as a table: pass a "
        "Spark DataFrame, a pandas DataFrame or a pyarrow Table."
    )


def spark_frame(data: Any, spark: Any = None):
    """``data`` as a Spark DataFrame (pandas and pyarrow through ``spark.createDataFrame``)."""
    kind = data_kind(data)
    if kind == "spark":
        return data
    session = spark if spark is not None else get_spark()
    if kind == "arrow":
        from pyspark.sql.pandas.types import from_arrow_schema

        return session.createDataFrame(data.to_pandas(), schema=from_arrow_schema(data.schema))
    return session.createDataFrame(data)


def write_table(name: str, data: Any, *, mode: str = "overwrite", spark: Any = None) -> TableWrite:
    """Write rows as the Delta table ``name``: ``overwrite`` replaces it (one commit: a failed
    job leaves the old table whole), ``append`` adds to it (creating it if needed).

    The schema is created if missing (``CREATE SCHEMA IF NOT EXISTS``), and a table this call
    creates or replaces carries the kit's ``created_by`` property in the same commit.

    Args:
        name: ``catalog.schema.table``.
        data: a Spark DataFrame, or pandas / pyarrow (made a Spark DataFrame in ``spark``).
        mode: ``"overwrite"`` or ``"append"``.
        spark: the session for pandas / pyarrow data; None for :func:`recipes.spark.get_spark`.

    Raises:
        ParameterError: a bad name, mode or data type.
    """
    if mode not in ("overwrite", "append"):
        raise ParameterError(f"Bad mode {mode!r} for write_table: use 'overwrite' or 'append'.")
    catalog, schema, _ = check_table_name(name)
    full = ".".join(check_table_name(name))
    start = time.perf_counter()
    df = spark_frame(data, spark)
    session = df.sparkSession
    session.sql(f"CREATE SCHEMA IF NOT EXISTS {catalog}.{schema}")  # checked plain identifiers
    writer = df.writeTo(full).using("delta")
    if mode == "append" and session.catalog.tableExists(full):
        writer.append()
    else:
        key, value = CREATED_BY
        writer.tableProperty(key, value).createOrReplace()
    seconds = time.perf_counter() - start
    if not kit_tables():
        return TableWrite(full, mode, None, seconds)
    commit = session.sql(f"DESCRIBE HISTORY {full} LIMIT 1").collect()[0]  # this write's
    rows = (commit["operationMetrics"] or {}).get("numOutputRows")
    return TableWrite(
        full, mode, None if rows is None else int(rows), seconds, int(commit["version"])
    )


def read_table(name: str, *, spark: Any = None, home: Path | str | None = None):
    """The table as a Spark DataFrame when ``spark`` is given, else as pandas.

    Without ``spark`` a local table is read with delta-rs (no JVM); a workspace's through the
    Databricks Connect session.

    Raises:
        NotFoundError: the local table does not exist.
    """
    full = ".".join(check_table_name(name))
    if spark is not None:
        return spark.table(full)
    if kit_tables():
        return files.read(full, home=home)
    return get_spark("databricks").table(full).toPandas()


def require_table(name: str, *, fix: str, spark: Any = None):
    """``spark.table(name)`` (in :func:`recipes.spark.get_spark`'s session when ``spark`` is
    None), or one line saying the session's catalog has no such table, and ``fix``.

    Raises:
        NotFoundError: the table does not exist there.
    """
    session = spark if spark is not None else get_spark()
    if not table_exists(name, spark=session):
        raise NotFoundError(f"Table {name!r} does not exist in this Spark session's catalog: {fix}")
    return session.table(".".join(check_table_name(name)))


def read_rows(
    name: str, column: str, values: Iterable[Any], *, home: Path | str | None = None
) -> pd.DataFrame:
    """The rows whose ``column`` is one of ``values``, as pandas.

    The filter runs where the table is: in delta-rs's scan locally, in Spark on Databricks
    (``spark.table(name).where(col.isin(...))``), so only those rows reach this process.

    Raises:
        NotFoundError: the local table does not exist.
    """
    wanted = list(values)
    full = ".".join(check_table_name(name))
    if kit_tables():
        return files.read(full, home=home, filters=[(column, "in", wanted)] if wanted else None)
    df = get_spark("databricks").table(full)
    return df.where(df[column].isin(wanted)).toPandas()


def table_exists(name: str, *, spark: Any = None, home: Path | str | None = None) -> bool:
    """Whether the table exists: in ``spark``'s catalog, else locally at its path."""
    full = ".".join(check_table_name(name))
    if spark is None and kit_tables():
        return files.exists(full, home=home)
    session = spark if spark is not None else get_spark("databricks")
    return bool(session.catalog.tableExists(full))


def list_tables(
    schema: str | None = None, *, home: Path | str | None = None, spark: Any = None
) -> list[str]:
    """Sorted ``catalog.schema.table`` names, of one ``catalog.schema`` or of all."""
    if spark is None and kit_tables():
        return files.list_tables(schema, home=home)
    session = spark if spark is not None else get_spark("databricks")
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
    """Drop the table (``DROP TABLE IF EXISTS``). Returns True if it existed."""
    full = ".".join(check_table_name(name))
    if spark is None and kit_tables():
        return files.drop(full, home=home)
    session = spark if spark is not None else get_spark("databricks")
    existed = bool(session.catalog.tableExists(full))
    session.sql(f"DROP TABLE IF EXISTS {full}")  # the name is checked: plain identifiers
    return existed


def mark_created(name: str, *, spark: Any) -> None:
    """Put :data:`recipes.workspace_names.CREATED_BY` on an existing table, through ``spark``
    (``ALTER TABLE ... SET TBLPROPERTIES``), as on a Unity Catalog workspace."""
    key, value = CREATED_BY
    full = ".".join(check_table_name(name))
    spark.sql(f"ALTER TABLE {full} SET TBLPROPERTIES ('{key}' = '{value}')")
