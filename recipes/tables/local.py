"""Local tables: versioned parquet folders under ``$MDK_HOME/warehouse``, swapped atomically.

Layout of ``c.s.t`` (Delta cannot be had locally, see FACTS.md)::

    warehouse/c/s/t                  symlink -> .t.versions/<version>   (the table)
    warehouse/c/s/.t.versions/<v>/   part-*.parquet (Spark adds _SUCCESS and .crc files)
    warehouse/c/s/.t.staging/<v>/    writes in progress, never read
    warehouse/c/s/.t.lock            flock held by writers for their short commit step
    warehouse/c/s/.t.properties.json the table's properties (recipes.tables.properties)

Why an overwrite is atomic: the new version is written completely in ``.t.staging`` (a
failed job leaves only staging files, which are deleted), renamed into ``.t.versions``, and
only then is the table's symlink replaced with ``os.replace`` of a fresh symlink, which is
one ``rename(2)``. A reader resolves the symlink once and lists that version's folder, so it
sees the old version or the new one, whole. The previous version is kept (older ones are
deleted) so a reader that resolved the link just before a swap can finish.

An append adds part files to the current version: pyarrow parts one file at a time (temp
file + rename), Spark parts written to staging first and then renamed in, so a reader can
see some of a Spark append's parts before the others. Writers hold ``.t.lock`` only while
committing; readers never lock, and tables never share a lock, so writers of different
tables never wait for each other. Spark and pyarrow ignore names starting with ``.`` or ``_``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from recipes.errors import NotFoundError, ParameterError
from recipes.tables.layout import (
    Layout,
    TableExistsError,
    any_part,
    check_schema,
    fsync_dir,
    part_name,
    parts,
    resolve,
    version_id,
)
from recipes.tables.names import check_schema_name, warehouse

if TYPE_CHECKING:
    import pandas as pd

STALE_STAGING_S = 24 * 3600  # staging folders of killed writers older than this are removed


# --------------------------------------------------------------------------- writing


def write_part(data: pa.Table, path: Path) -> None:
    """Write ``data`` to the new file ``path`` and fsync it.

    Timestamps are stored in microseconds, which Spark reads (it cannot read nanoseconds).
    """
    with open(path, "xb") as f:
        pq.write_table(data, f, coerce_timestamps="us", allow_truncated_timestamps=True)
        f.flush()
        os.fsync(f.fileno())


def append(name: str, data: pa.Table, *, home: Path | str | None = None) -> Path:
    """Append ``data`` to the table as one new part file, creating the table if needed.

    The part is written to ``.<part>.tmp`` in the current version folder, fsynced and
    renamed, so a crash mid-write leaves the table as it was.

    Args:
        name: ``catalog.schema.table``.
        data: the rows; its columns must match the table's (names, order and types).
        home: the kit's home folder; None for ``$MDK_HOME``.

    Returns:
        The new part file, as a path through the table's path.

    Raises:
        ParameterError: for a bad name, data that is not a ``pyarrow.Table``, or columns
            that differ from the table's.
    """
    lay = Layout(name, home)
    if not isinstance(data, pa.Table):
        raise ParameterError(
            f"append({name!r}) needs a pyarrow.Table, got {type(data).__name__}: convert it "
            "first, e.g. pa.Table.from_pandas(df, preserve_index=False)."
        )
    with lay.locked():
        current = lay.current()
        if current is None:  # a new table: a first version holding this part
            staged = lay.new_staging()
            staged.mkdir()
            try:
                write_part(data, staged / part_name())
                current = _install_version(lay, staged, previous=None)
            except BaseException:
                shutil.rmtree(staged, ignore_errors=True)
                raise
            return lay.link / parts(current)[0].name
        first = any_part(current)
        if first is not None:
            check_schema(lay.name, pq.read_schema(first), data.schema)
        final = current / part_name()
        tmp = current / f".{final.name}.tmp"
        try:
            write_part(data, tmp)
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(current)
    return lay.link / final.name


def _install_version(lay: Layout, staged: Path, previous: Path | None) -> Path:
    """Under the lock: move ``staged`` into the versions, point the table at it, and
    delete versions other than it and ``previous``. Returns the new version folder."""
    lay.versions.mkdir(exist_ok=True)
    final = lay.versions / staged.name
    os.rename(staged, final)
    if previous is not None and previous == lay.link:  # a plain folder: keep it as a version
        previous = lay.versions / f"{version_id()}-plain"
        os.rename(lay.link, previous)
    tmp = lay.link.parent / f".{lay.link.name}.link-{uuid.uuid4().hex}"
    os.symlink(f"{lay.versions.name}/{final.name}", tmp)
    try:
        os.replace(tmp, lay.link)  # the atomic swap
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(lay.link.parent)
    keep = {final.name} | ({previous.name} if previous is not None else set())
    _remove_old(lay, keep)
    return final


def _remove_old(lay: Layout, keep: set[str]) -> None:
    with os.scandir(lay.versions) as it:
        old = [Path(e.path) for e in it if e.name not in keep]
    for path in old:
        shutil.rmtree(path, ignore_errors=True)
    now = time.time()
    with contextlib.suppress(FileNotFoundError), os.scandir(lay.staging) as it:
        stale = [
            Path(e.path)
            for e in it
            if now - e.stat(follow_symlinks=False).st_mtime > STALE_STAGING_S
        ]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)


def data_kind(data: Any) -> str:
    """``"arrow"``, ``"pandas"`` or ``"spark"`` (classic or Connect DataFrame)."""
    if isinstance(data, pa.Table):
        return "arrow"
    import sys

    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(data, pd.DataFrame):
        return "pandas"
    if hasattr(data, "write") and hasattr(data, "sparkSession"):
        return "spark"
    raise ParameterError(
        f"Cannot write a {type(data).__module__}.{type(data).__name__} as a table: pass a "
        "Spark DataFrame, a pandas DataFrame or a pyarrow Table."
    )


def _stage(data: Any, kind: str, staged: Path) -> None:
    """Write ``data`` completely into the new folder ``staged``."""
    if kind == "spark":
        # No sparkContext or RDDs: this is the DataFrame API, classic, Connect or Databricks.
        data.write.mode("error").parquet(str(staged))
        return
    table = data if kind == "arrow" else pa.Table.from_pandas(data, preserve_index=False)
    staged.mkdir()
    write_part(table, staged / part_name())


def write(name: str, data: Any, mode: str, home: Path | str | None = None) -> tuple[Path, int]:
    """Write ``data`` as the table's new version, or append it.

    Args:
        mode: ``overwrite``; ``append``; ``create`` (fail if the table exists) or
            ``ignore`` (do nothing if it exists).

    Returns:
        The table's current version folder and the rows written (0 when ignored).

    Raises:
        TableExistsError: ``create`` found the table.
        ParameterError: ``append`` with columns that differ from the table's.
    """
    lay = Layout(name, home)
    kind = data_kind(data)
    staged = lay.new_staging()
    try:
        _stage(data, kind, staged)
        new = parts(staged)
        rows = sum(pq.read_metadata(p).num_rows for p in new)
        with lay.locked():
            current = lay.current()
            if current is not None and mode in ("create", "ignore"):
                if mode == "ignore":
                    shutil.rmtree(staged, ignore_errors=True)
                    return current, 0
                raise TableExistsError(
                    f"Table {lay.name!r} already exists: use mode('overwrite') to replace it "
                    "or mode('append') to add rows."
                )
            if current is None or mode != "append":
                return _install_version(lay, staged, previous=current), rows
            first = any_part(current)
            if first is not None and new:
                check_schema(lay.name, pq.read_schema(first), pq.read_schema(new[0]))
            for part in new:
                os.rename(part, current / part_name())
            fsync_dir(current)
        shutil.rmtree(staged, ignore_errors=True)
        return current, rows
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


# --------------------------------------------------------------------------- reading


def _snapshot(name: str, home: Path | str | None) -> tuple[Path, list[Path]]:
    """The current version folder and its parts, resolved once."""
    lay = Layout(name, home)
    current = lay.current()
    found = parts(current)
    if not found:
        raise NotFoundError(
            f"Table {lay.name!r} does not exist (no part files in {lay.link}): write or "
            "append to it first, or check the name and MDK_HOME."
        )
    return current, found


def _retrying(read, name: str, home: Path | str | None, attempts: int = 3):
    """Run ``read(folder, parts)`` on a snapshot, again if its files vanish meanwhile (two
    overwrites happened during the read, so the version was deleted)."""
    for attempt in range(attempts):
        folder, found = _snapshot(name, home)
        try:
            return read(folder, found)
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise


def exists(name: str, *, home: Path | str | None = None) -> bool:
    """True when the table has at least one part file."""
    return any_part(Layout(name, home).current()) is not None


def version_folder(name: str, *, home: Path | str | None = None) -> Path:
    """The current version's folder: what Spark reads (it never changes once written,
    except by appends).

    Raises:
        NotFoundError: when the table has no part files.
    """
    return _snapshot(name, home)[0]


def read_arrow(name: str, *, home: Path | str | None = None) -> pa.Table:
    """The whole table as a pyarrow Table, parts in name order."""
    import pyarrow.dataset as ds

    def read(_folder, found):
        first = pq.read_schema(found[0])
        schema = pa.schema([f.with_nullable(True) for f in first], metadata=first.metadata)
        return ds.dataset([str(p) for p in found], schema=schema, format="parquet").to_table()

    return _retrying(read, name, home)


def read(name: str, *, home: Path | str | None = None) -> pd.DataFrame:
    """The whole table as a pandas DataFrame, rows in append order.

    Map columns become dicts, as in Spark's ``toPandas()``.

    Raises:
        NotFoundError: when the table has no part files.
    """
    return read_arrow(name, home=home).to_pandas(maps_as_pydicts="lossy")


def row_count(name: str, *, home: Path | str | None = None) -> int:
    """The number of rows, from the part files' parquet footers (no data is read).

    Raises:
        NotFoundError: when the table has no part files.
    """
    return _retrying(
        lambda _folder, found: sum(pq.read_metadata(p).num_rows for p in found), name, home
    )


def list_tables(schema: str | None = None, *, home: Path | str | None = None) -> list[str]:
    """Sorted ``catalog.schema.table`` names of the tables that exist (have parts)."""
    root = warehouse(home)
    if schema is not None:
        folders = [root.joinpath(*check_schema_name(schema))]
    else:
        folders = [s for c in _entries(root) for s in _entries(c)]
    names = []
    for folder in folders:
        for entry in _entries(folder, dirs_only=False):
            if any_part(resolve(entry)) is not None:
                names.append(f"{folder.parent.name}.{folder.name}.{entry.name}")
    return sorted(names)


def _entries(folder: Path, dirs_only: bool = True) -> list[Path]:
    try:
        with os.scandir(folder) as it:
            return [
                Path(e.path)
                for e in it
                if e.name[0] not in "._" and (not dirs_only or e.is_dir(follow_symlinks=False))
            ]
    except (FileNotFoundError, NotADirectoryError):
        return []


def drop_table(name: str, *, home: Path | str | None = None) -> bool:
    """Remove the table and its versions. Returns True if it existed.

    A write still in progress elsewhere keeps its staging folder and recreates the table
    when it commits.
    """
    lay = Layout(name, home)
    with lay.locked():
        if lay.link.is_symlink():
            lay.link.unlink()
            existed = True
        elif lay.link.is_dir():
            shutil.rmtree(lay.link)
            existed = True
        else:
            existed = False
        shutil.rmtree(lay.versions, ignore_errors=True)
        lay.properties.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            lay.staging.rmdir()  # only when no write is in progress
        fsync_dir(lay.link.parent)
    return existed
