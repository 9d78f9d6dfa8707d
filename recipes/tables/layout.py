"""The on-disk layout of a local table: its paths, version folders, parts, lock and schema
checks. See :mod:`recipes.tables.local` for how writes use it and why they are atomic."""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from recipes.errors import KitError, ParameterError
from recipes.tables.names import check_table_name, table_path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the kit's local target needs POSIX
    fcntl = None

_clock = threading.Lock()
_last_us = 0


class TableExistsError(KitError, FileExistsError):
    """A create-only write found the table there already."""


# --------------------------------------------------------------------------- layout


class Layout:
    """The paths of one local table."""

    def __init__(self, name: str, home: Path | str | None = None):
        self.name = ".".join(check_table_name(name))
        self.link = table_path(self.name, home)
        folder, table = self.link.parent, self.link.name
        self.versions = folder / f".{table}.versions"
        self.staging = folder / f".{table}.staging"
        self.lock = folder / f".{table}.lock"
        self.properties = folder / f".{table}.properties.json"

    def current(self) -> Path | None:
        """The folder holding the current parts, or None when there is no table."""
        return resolve(self.link)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold this table's writer lock (an exclusive ``flock``, across processes)."""
        self.link.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def new_staging(self) -> Path:
        """A fresh, not yet existing staging folder path (its parent is created)."""
        self.staging.mkdir(parents=True, exist_ok=True)
        return self.staging / version_id()


def resolve(link: Path) -> Path | None:
    """The version folder ``link`` points at; a plain folder (a table written before
    versions existed) is its own version. None when there is no table."""
    try:
        target = os.readlink(link)
    except FileNotFoundError:
        return None
    except OSError:  # not a symlink
        return link if link.is_dir() else None
    path = link.parent / target
    return path if path.is_dir() else None


def version_id() -> str:
    """``v<utc-ts>-<uuid>``: unique, and sorted by creation time."""
    return f"v{_stamp()}-{uuid.uuid4().hex[:12]}"


def _stamp() -> str:
    """A UTC timestamp in microseconds, strictly increasing in this process."""
    global _last_us
    with _clock:
        _last_us = max(time.time_ns() // 1000, _last_us + 1)
        us = _last_us
    return f"{datetime.fromtimestamp(us // 1_000_000, UTC):%Y%m%dT%H%M%S}{us % 1_000_000:06d}Z"


def part_name() -> str:
    """``part-<utc-ts>-<uuid>.parquet``, sorted in write order within a process."""
    return f"part-{_stamp()}-{uuid.uuid4().hex}.parquet"


def _visible(entry: os.DirEntry) -> bool:
    return entry.name.endswith(".parquet") and entry.name[0] not in "._" and entry.is_file()


def parts(folder: Path | None) -> list[Path]:
    """The part files of a version folder, in name order (append order for kit parts)."""
    if folder is None:
        return []
    try:
        with os.scandir(folder) as it:
            return sorted(Path(e.path) for e in it if _visible(e))
    except (FileNotFoundError, NotADirectoryError):
        return []


def any_part(folder: Path | None) -> Path | None:
    """One part file, without listing (or sorting) the whole folder."""
    if folder is None:
        return None
    try:
        with os.scandir(folder) as it:
            return next((Path(e.path) for e in it if _visible(e)), None)
    except (FileNotFoundError, NotADirectoryError):
        return None


def fsync_dir(path: Path) -> None:
    if os.name != "posix":  # pragma: no cover - directories cannot be fsynced elsewhere
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- schemas


def _same_type(a: pa.DataType, b: pa.DataType) -> bool:
    # Spark writes timestamps as INT96 (read as ns), the kit as us: the same column.
    if pa.types.is_timestamp(a) and pa.types.is_timestamp(b):
        return a.tz == b.tz
    return a.equals(b)


def schemas_match(table: pa.Schema, data: pa.Schema) -> bool:
    """Same column names, order and types; nullability and metadata do not count
    (Spark writes non-nullable columns as required, pandas never does)."""
    return table.names == data.names and all(
        _same_type(f.type, g.type) for f, g in zip(table, data, strict=True)
    )


def describe_mismatch(table: pa.Schema, data: pa.Schema) -> str:
    have, got = {f.name: f for f in table}, {f.name: f for f in data}
    notes = [f"missing {n!r}" for n in have if n not in got]
    notes += [f"unexpected {n!r}" for n in got if n not in have]
    notes += [
        f"{n!r} is {have[n].type} in the table but {got[n].type} in the data"
        for n in have
        if n in got and not _same_type(have[n].type, got[n].type)
    ]
    return "; ".join(notes) or f"columns in another order (the table has {table.names})"


def check_schema(name: str, table: pa.Schema, data: pa.Schema) -> None:
    if not schemas_match(table, data):
        raise ParameterError(
            f"Data for table {name!r} does not match its schema: "
            f"{describe_mismatch(table, data)}; cast or select the columns to match, "
            "or overwrite the table."
        )
