"""Persistent local tables: one directory of parquet part files per ``catalog.schema.table``.

Locally there is no Delta and no shared metastore (see FACTS.md), so a table is the folder
``$MDK_HOME/warehouse/<catalog>/<schema>/<table>/`` holding ``part-<utc-ts>-<uuid>.parquet``
files. Any process reads it by name (:func:`read`) and Spark reads it as a path
(``spark.read.parquet(str(table_path(name)))``). Each :func:`append` writes one new part
atomically (a hidden temp file, fsync, rename), so a reader never sees half a write; files
whose names start with ``.`` or ``_`` are ignored by the kit and by Spark alike.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from recipes.errors import NotFoundError, ParameterError
from recipes.target import mdk_home

if TYPE_CHECKING:
    import pandas as pd

_PART = re.compile(r"[A-Za-z0-9_]+")
_EXAMPLE = "main.default.churn_scores"
_clock = threading.Lock()
_last_us = 0


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
            f"underscores only in each part, e.g. {_EXAMPLE!r}."
        )
    catalog, schema, table = (p.lower() for p in parts)
    return catalog, schema, table


def table_path(name: str, home: Path | str | None = None) -> Path:
    """The table's folder, ``<home>/warehouse/<catalog>/<schema>/<table>`` (not created here).

    Args:
        name: ``catalog.schema.table``.
        home: the kit's home folder; None for ``$MDK_HOME`` (see ``target.mdk_home``).
    """
    root = Path(home).expanduser() if home is not None else mdk_home()
    return root.joinpath("warehouse", *check_table_name(name))


def _visible(entry: os.DirEntry) -> bool:
    return entry.name.endswith(".parquet") and entry.name[0] not in "._" and entry.is_file()


def _parts(path: Path) -> list[Path]:
    """The table's part files in append order (their names start with a UTC timestamp)."""
    try:
        with os.scandir(path) as it:
            return sorted(Path(e.path) for e in it if _visible(e))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _any_part(path: Path) -> Path | None:
    """One part file, without listing (or sorting) the whole folder."""
    try:
        with os.scandir(path) as it:
            return next((Path(e.path) for e in it if _visible(e)), None)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _existing_parts(name: str, home: Path | str | None) -> list[Path]:
    path = table_path(name, home)
    parts = _parts(path)
    if not parts:
        raise NotFoundError(
            f"Table {name!r} does not exist (no part files in {path}): append to it first, "
            "or check the name and MDK_HOME."
        )
    return parts


def _part_name() -> str:
    """``part-<utc-ts>-<uuid>.parquet``, with timestamps strictly increasing in this process."""
    global _last_us
    with _clock:
        _last_us = max(time.time_ns() // 1000, _last_us + 1)
        us = _last_us
    stamp = datetime.fromtimestamp(us // 1_000_000, UTC).strftime("%Y%m%dT%H%M%S")
    return f"part-{stamp}{us % 1_000_000:06d}Z-{uuid.uuid4().hex}.parquet"


def _write_part(data: pa.Table, tmp: Path) -> None:
    """Write ``data`` to the new file ``tmp`` and fsync it."""
    with open(tmp, "xb") as f:
        pq.write_table(data, f)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # pragma: no cover - directories cannot be fsynced elsewhere
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _describe_mismatch(table: pa.Schema, data: pa.Schema) -> str:
    def kind(f: pa.Field) -> str:
        return f"{f.type}{'' if f.nullable else ' not null'}"

    have, got = {f.name: f for f in table}, {f.name: f for f in data}
    notes = [f"missing {n!r}" for n in have if n not in got]
    notes += [f"unexpected {n!r}" for n in got if n not in have]
    notes += [
        f"{n!r} is {kind(have[n])} in the table but {kind(got[n])} in the data"
        for n in have
        if n in got and not have[n].equals(got[n])
    ]
    return "; ".join(notes) or f"columns in another order (the table has {table.names})"


def append(name: str, data: pa.Table, *, home: Path | str | None = None) -> Path:
    """Append ``data`` to the table as one new part file, creating the table if needed.

    The part is written to ``.<part>.tmp`` in the table folder, fsynced and renamed, so a
    crash mid-write leaves the table as it was.

    Args:
        name: ``catalog.schema.table``.
        data: the rows; its schema must equal the table's (column names, order and types).
        home: the kit's home folder; None for ``$MDK_HOME``.

    Returns:
        The new part file.

    Raises:
        ParameterError: for a bad name, data that is not a ``pyarrow.Table``, or a schema
            that differs from the table's.
    """
    path = table_path(name, home)
    if not isinstance(data, pa.Table):
        raise ParameterError(
            f"append({name!r}) needs a pyarrow.Table, got {type(data).__name__}: convert it "
            "first, e.g. pa.Table.from_pandas(df, preserve_index=False)."
        )
    first = _any_part(path)
    if first is not None:
        schema = pq.read_schema(first)
        if not schema.equals(data.schema, check_metadata=False):
            raise ParameterError(
                f"Data for table {name!r} does not match its schema: "
                f"{_describe_mismatch(schema, data.schema)}; cast or select the columns to "
                "match, or append to a new table."
            )
    path.mkdir(parents=True, exist_ok=True)
    final = path / _part_name()
    tmp = path / f".{final.name}.tmp"
    try:
        _write_part(data, tmp)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path)
    return final


def exists(name: str, *, home: Path | str | None = None) -> bool:
    """True when the table has at least one part file."""
    return _any_part(table_path(name, home)) is not None


def read(name: str, *, home: Path | str | None = None) -> pd.DataFrame:
    """The whole table as a pandas DataFrame, rows in append order.

    Map columns become dicts, as in Spark's ``toPandas()``.

    Raises:
        NotFoundError: when the table has no part files.
    """
    import pyarrow.dataset as ds

    parts = _existing_parts(name, home)
    table = ds.dataset([str(p) for p in parts], format="parquet").to_table()
    return table.to_pandas(maps_as_pydicts="lossy")


def row_count(name: str, *, home: Path | str | None = None) -> int:
    """The number of rows, from the part files' parquet footers (no data is read).

    Raises:
        NotFoundError: when the table has no part files.
    """
    return sum(pq.read_metadata(p).num_rows for p in _existing_parts(name, home))
