"""``format("delta")`` on a local session: ``saveAsTable`` and ``spark.table`` through the kit.

The seed's code writes ``df.write.format("delta").mode("overwrite").saveAsTable(
"predictions.churn_scores")``. Locally there are no Delta jars (FACTS.md), so
:func:`install` (registered by :mod:`recipes.tables` with
:func:`recipes.spark.on_local_session`, so ``get_spark`` runs it for the local target, classic
and Spark Connect, never on Databricks) wraps these pyspark methods on the client side:

- ``DataFrameWriter.saveAsTable``: when the format is ``delta``, the write goes to
  :func:`recipes.tables.save_as_table` (atomic overwrite, append, errorifexists, ignore);
  any other format is Spark's own.
- ``DataFrameWriter.format`` and ``.mode`` (classic only): remember their arguments, which
  classic pyspark keeps only in the JVM. Connect's writer keeps them in its plan already.
- ``SparkSession.table`` and ``DataFrameReader.table``: a name that is a kit table
  (``t``, ``s.t`` or ``c.s.t``, two-level names in catalog ``main``) is read from the kit;
  other names go to Spark's catalog as before.

Why not a Python data source named ``delta`` (``spark.dataSource.register``): pyspark 4.3
runs one for ``saveAsTable`` (overwrite and append, classic; overwrite checked on Connect),
but its writer is given no table name or location (its options are empty), the schema must
first exist in Spark's session catalog (``[SCHEMA_NOT_FOUND] The schema
`spark_catalog`.`predictions` cannot be found``), a three-level name fails (``Couldn't find
a catalog to handle the identifier main.predictions.churn_scores``: no catalog ``main``, and
a catalog plugin needs a JVM class), and the in-memory catalog forgets the table with the
session. So such a writer cannot land rows in a table other sessions can read.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from recipes.errors import ParameterError
from recipes.tables.io import read_table, save_as_table
from recipes.tables.local import exists
from recipes.tables.names import kit_tables, qualify_table_name

_lock = threading.Lock()
_installed: set[str] = set()


def _is_delta(source: Any) -> bool:
    return isinstance(source, str) and source.strip().lower() == "delta"


def _local() -> bool:
    return kit_tables()


def _kit_table(name: Any) -> str | None:
    """The qualified name when ``name`` is an existing kit table, else None."""
    if not isinstance(name, str) or not _local():
        return None
    try:
        full = qualify_table_name(name)
    except ParameterError:
        return None
    return full if exists(full) else None


def _wrap_writer(cls: Any, *, classic: bool) -> None:
    original_save = cls.saveAsTable

    @functools.wraps(original_save)
    def saveAsTable(self, name, format=None, mode=None, partitionBy=None, **options):
        if classic:
            source = format or getattr(self, "_mdk_format", None)
            save_mode = mode or getattr(self, "_mdk_mode", None)
        else:
            source = format or self._write.source
            save_mode = mode or self._write.mode
        if not (_is_delta(source) and _local()):
            return original_save(self, name, format, mode, partitionBy, **options)
        df = self._df if classic else _connect_frame(self)
        save_as_table(df, name, mode=save_mode)  # partitionBy/options: layout only, ignored
        return None

    cls.saveAsTable = saveAsTable
    if not classic:
        return
    original_format, original_mode = cls.format, cls.mode

    @functools.wraps(original_format)
    def format(self, source):
        self._mdk_format = source
        return original_format(self, source)

    @functools.wraps(original_mode)
    def mode(self, saveMode):
        if saveMode is not None:
            self._mdk_mode = saveMode
        return original_mode(self, saveMode)

    cls.format, cls.mode = format, mode


def _connect_frame(writer: Any):
    from pyspark.sql.connect.dataframe import DataFrame

    return DataFrame(writer._df, writer._spark)


def _wrap_table(cls: Any, session_of) -> None:
    original = cls.table

    @functools.wraps(original)
    def table(self, tableName):
        full = _kit_table(tableName)
        if full is None:
            return original(self, tableName)
        return read_table(full, spark=session_of(self))

    cls.table = table


def install(kind: str = "classic") -> None:
    """Route ``format("delta")`` writes and table reads of local sessions to the kit.

    Args:
        kind: ``"classic"`` or ``"connect"``: which pyspark classes to wrap.

    Idempotent. Does nothing to other formats or names.
    """
    with _lock:
        if kind in _installed:
            return
        if kind == "connect":
            from pyspark.sql.connect import readwriter, session

            _wrap_writer(readwriter.DataFrameWriter, classic=False)
            _wrap_table(readwriter.DataFrameReader, lambda r: r._client)
        else:
            from pyspark.sql import readwriter, session

            _wrap_writer(readwriter.DataFrameWriter, classic=True)
            _wrap_table(readwriter.DataFrameReader, lambda r: r._spark)
        _wrap_table(session.SparkSession, lambda s: s)
        _installed.add(kind)
