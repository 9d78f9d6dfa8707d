"""Table properties (``TBLPROPERTIES``): the kit's ``created_by`` mark on the tables it writes.

- **databricks**: ``ALTER TABLE <name> SET TBLPROPERTIES ('created_by' = 'mdk')``; Unity
  Catalog lists them with the table (``w.tables.list(...)[i].properties``), which is how
  ``mdk teardown`` finds the kit's tables without reading any other table's rows.
- **local**: a small JSON file beside the table, ``.<table>.properties.json`` (see
  :mod:`recipes.tables.local`), dropped with the table; the workspace double's tables API
  reports it as the table's ``properties``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from recipes.names import CREATED_BY
from recipes.tables.layout import Layout


def properties(name: str, *, home: Path | str | None = None) -> dict[str, str]:
    """A local table's properties (``{}`` when it has none)."""
    try:
        doc = json.loads(Layout(name, home).properties.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in doc.items()} if isinstance(doc, dict) else {}


def set_properties(name: str, values: dict[str, str], *, home: Path | str | None = None) -> None:
    """Merge ``values`` into a local table's properties (written atomically)."""
    lay = Layout(name, home)
    merged = properties(name, home=home) | {str(k): str(v) for k, v in values.items()}
    lay.properties.parent.mkdir(parents=True, exist_ok=True)
    tmp = lay.properties.with_name(f"{lay.properties.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(merged, sort_keys=True))
    tmp.replace(lay.properties)


def mark_created(name: str, *, spark: Any = None, home: Path | str | None = None) -> None:
    """Put :data:`recipes.names.CREATED_BY` on table ``name``: a property on Databricks
    (through ``spark``, a Databricks Connect session), the local file otherwise."""
    key, value = CREATED_BY
    if spark is None:
        set_properties(name, {key: value}, home=home)
        return
    # the name is checked by the caller (three plain identifiers), the tag is a constant
    spark.sql(f"ALTER TABLE {name} SET TBLPROPERTIES ('{key}' = '{value}')")
