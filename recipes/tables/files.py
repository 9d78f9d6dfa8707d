"""Local Delta tables without a JVM: read, count and append with delta-rs (``deltalake``).

The local warehouse is ``$MDK_HOME/warehouse/<catalog>/<schema>/<table>``, each table a Delta
table (Spark's, through :mod:`recipes.delta_lake`'s catalog, or delta-rs's: the same format and
log). The serving endpoint never imports pyspark, so it appends its inference tables here, and
the kit reads small tables here too without starting a JVM. Delta's transaction log makes each
append one atomic commit: a reader sees the table before it or after it, never half of it.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recipes.errors import NotFoundError
from recipes.tables.names import check_schema_name, check_table_name, table_path, warehouse

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

#: What the kit's inference tables start with: Databricks turns on the change data feed for
#: inference tables, and a checkpoint every 10 commits keeps reading a log of many small
#: appends fast.
INFERENCE_TABLE_CONFIG = {
    "delta.enableChangeDataFeed": "true",
    "delta.checkpointInterval": "10",
}


def is_delta(path: Path) -> bool:
    """Whether ``path`` is a Delta table (it has a ``_delta_log`` folder)."""
    return (Path(path) / "_delta_log").is_dir()


def exists(name: str, *, home: Path | str | None = None) -> bool:
    """Whether the local table exists (a Delta table at its path)."""
    return is_delta(table_path(name, home))


def _table(name: str, home: Path | str | None):
    from deltalake import DeltaTable

    path = table_path(name, home)
    if not is_delta(path):
        raise NotFoundError(
            f"Table {'.'.join(check_table_name(name))!r} does not exist (no Delta table at "
            f"{path}): write it first, or check the name and MDK_HOME."
        )
    return DeltaTable(str(path))


def read_arrow(name: str, *, home: Path | str | None = None) -> pa.Table:
    """The whole table, as of its latest version, as a pyarrow Table.

    Raises:
        NotFoundError: the table does not exist.
    """
    return _table(name, home).to_pyarrow_table()


def read(name: str, *, home: Path | str | None = None, filters: Any = None) -> pd.DataFrame:
    """The table as pandas (map columns as dicts, as Spark's ``toPandas()``).

    Args:
        filters: delta-rs filters, e.g. ``[("client_request_id", "in", ["a", "b"])]``.

    Raises:
        NotFoundError: the table does not exist.
    """
    return _table(name, home).to_pyarrow_table(filters=filters).to_pandas(maps_as_pydicts="lossy")


def delta_schema(name: str, *, home: Path | str | None = None):
    """The table's schema, from its Delta log (``deltalake.Schema``; no data file is read).

    Raises:
        NotFoundError: the table does not exist.
    """
    return _table(name, home).schema()


def column_names(name: str, *, home: Path | str | None = None) -> list[str]:
    """The table's column names, from its Delta log (no data file is read).

    Raises:
        NotFoundError: the table does not exist.
    """
    return [f.name for f in delta_schema(name, home=home).fields]


def row_count(name: str, *, home: Path | str | None = None) -> int:
    """The number of rows, from the log's file statistics (no data file is read).

    Raises:
        NotFoundError: the table does not exist.
    """
    return int(_table(name, home).count())


def version(name: str, *, home: Path | str | None = None) -> int:
    """The table's latest Delta version.

    Raises:
        NotFoundError: the table does not exist.
    """
    return int(_table(name, home).version())


def properties(name: str, *, home: Path | str | None = None) -> dict[str, str]:
    """The table's properties (``TBLPROPERTIES``, Delta's ``configuration``); ``{}`` when the
    table does not exist."""
    if not exists(name, home=home):
        return {}
    config = _table(name, home).metadata().configuration
    return {str(k): str(v) for k, v in config.items()}


def append(
    name: str,
    data: pa.Table,
    *,
    home: Path | str | None = None,
    configuration: dict[str, str] | None = None,
) -> int:
    """Append ``data`` as one commit, creating the table (with ``configuration``) if needed.

    Args:
        name: ``catalog.schema.table``.
        data: the rows; their columns must be the table's (Delta refuses other names, and
            casts values to the table's types where it can).
        home: the kit's home folder; None for ``$MDK_HOME``.
        configuration: the new table's properties; ignored when it exists. With a key
            outside ``delta.*`` the table is made empty in a first commit (delta-rs sets such
            keys only then), so the rows are its second.

    Returns:
        The table's version after the commit.
    """
    from deltalake import DeltaTable, write_deltalake
    from deltalake.exceptions import CommitFailedError

    path = table_path(name, home)
    config = dict(configuration or {})
    if not is_delta(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        if any(not k.startswith("delta.") for k in config):
            # delta-rs takes keys outside ``delta.*`` (the kit's created_by) only when it
            # creates a table: one commit makes it empty with them, then the rows follow
            with contextlib.suppress(CommitFailedError):  # another writer made it first
                DeltaTable.create(
                    str(path),
                    data.schema,
                    mode="ignore",
                    configuration=config,
                    raise_if_key_not_exists=False,
                )
        else:
            try:  # one commit makes the table with its rows
                write_deltalake(str(path), data, mode="append", configuration=config or None)
                return version(name, home=home)
            except CommitFailedError:
                pass  # another writer made it first: append to its table below
    write_deltalake(str(path), data, mode="append")
    return version(name, home=home)


def list_tables(schema: str | None = None, *, home: Path | str | None = None) -> list[str]:
    """Sorted ``catalog.schema.table`` names of the local Delta tables, of one
    ``catalog.schema`` or of all."""
    root = warehouse(home)
    if schema is not None:
        folders = [root.joinpath(*check_schema_name(schema))]
    else:
        folders = [s for c in _folders(root) for s in _folders(c)]
    return sorted(
        f"{folder.parent.name}.{folder.name}.{t.name}"
        for folder in folders
        for t in _folders(folder)
        if is_delta(t)
    )


def _folders(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.name[0] not in "._" and p.is_dir()]
    except (FileNotFoundError, NotADirectoryError):
        return []


def drop(name: str, *, home: Path | str | None = None) -> bool:
    """Delete the local table, data and log (what ``DROP TABLE`` does to a managed table).
    Returns True if it existed."""
    path = table_path(name, home)
    if not is_delta(path):
        return False
    shutil.rmtree(path)
    return True
