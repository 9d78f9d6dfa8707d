"""Tables by name: Delta Lake on both targets, Unity Catalog's on Databricks, the kit's
warehouse folder locally.

Every table has a three-level name, ``catalog.schema.table``. What notebooks type is Spark's
and Delta's own: ``df.write.format("delta").saveAsTable(name)``, ``spark.table``,
``spark.sql("... FROM main.mdk.t")``, ``MERGE INTO``, ``DESCRIBE HISTORY``, time travel and
``DeltaTable``. Locally every Spark session runs Delta Lake with a catalog that maps
``main.<schema>.<table>`` to ``$MDK_HOME/warehouse/main/<schema>/<table>``
(:mod:`recipes.delta_lake`). This package only names tables and holds the few helpers the
recipes share: writes and reads through Spark (:mod:`recipes.tables.io`), and, without a JVM,
reads and appends with delta-rs (:mod:`recipes.tables.files`). Importing it does nothing.
"""

from __future__ import annotations

from recipes.tables import files
from recipes.tables.files import (
    INFERENCE_TABLE_CONFIG,
    append,
    column_names,
    exists,
    properties,
    read,
    read_arrow,
    row_count,
)
from recipes.tables.io import (
    TableWrite,
    drop_table,
    list_tables,
    mark_created,
    read_rows,
    read_table,
    require_table,
    spark_frame,
    table_exists,
    write_table,
)
from recipes.tables.names import (
    check_schema_name,
    check_table_name,
    kit_tables,
    qualify_table_name,
    table_path,
)

__all__ = [
    "INFERENCE_TABLE_CONFIG",
    "TableWrite",
    "append",
    "check_schema_name",
    "check_table_name",
    "column_names",
    "drop_table",
    "exists",
    "files",
    "kit_tables",
    "list_tables",
    "mark_created",
    "properties",
    "qualify_table_name",
    "read",
    "read_arrow",
    "read_rows",
    "read_table",
    "require_table",
    "row_count",
    "spark_frame",
    "table_exists",
    "table_path",
    "write_table",
]
