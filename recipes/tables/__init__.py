"""Tables by name: Delta in Unity Catalog on Databricks, versioned parquet files locally.

Every table has a three-level name, ``catalog.schema.table``. The same calls work on both
targets (``recipes.target``):

- **databricks**: Spark's own ``df.write.format("delta").mode(mode).saveAsTable(name)``,
  ``spark.table(name)``, ``spark.catalog`` and ``DROP TABLE``.
- **local**: a table is a folder of parquet files under ``$MDK_HOME/warehouse``, readable by
  name from any session and any process with no metastore (see :mod:`recipes.tables.local`
  for the layout). An overwrite is atomic: a failed write leaves the old table whole, and
  a reader sees either the old table or the new one.

On a local session from :func:`recipes.spark.get_spark`,
``df.write.format("delta").mode("overwrite").saveAsTable("predictions.churn_scores")`` and
``spark.table(...)`` land here too (:mod:`recipes.tables.delta`).
"""

from __future__ import annotations

from recipes.spark import on_local_session
from recipes.tables import delta
from recipes.tables.io import (
    TableWrite,
    drop_table,
    list_tables,
    read_rows,
    read_table,
    save_as_table,
    table_exists,
    write_table,
)
from recipes.tables.local import (
    TableExistsError,
    append,
    exists,
    read,
    read_arrow,
    row_count,
    version_folder,
)
from recipes.tables.names import (
    check_schema_name,
    check_table_name,
    kit_tables,
    qualify_table_name,
    table_path,
)
from recipes.tables.properties import mark_created, properties, set_properties

__all__ = [
    "TableExistsError",
    "TableWrite",
    "append",
    "check_schema_name",
    "check_table_name",
    "drop_table",
    "exists",
    "kit_tables",
    "list_tables",
    "mark_created",
    "properties",
    "qualify_table_name",
    "read",
    "read_arrow",
    "read_rows",
    "read_table",
    "row_count",
    "save_as_table",
    "set_properties",
    "table_exists",
    "table_path",
    "version_folder",
    "write_table",
]

# Local sessions from recipes.spark.get_spark route format("delta") saveAsTable and
# spark.table(<kit table>) here: the one registration this package makes when imported.
on_local_session(delta.install)
