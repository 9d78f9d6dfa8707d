"""Feature tables: the data through :mod:`recipes.tables`, the metadata in a small JSON file.

A feature table is an ordinary Delta table, named in the Spark session's catalog (locally
under ``$MDK_HOME/warehouse``, :mod:`recipes.delta_lake`), plus
``$MDK_HOME/feature_store/<catalog>.<schema>.<table>.json`` holding its primary keys,
timestamp keys, description and feature columns. ``write_table(mode="merge")`` is Delta's own
``MERGE INTO`` on the primary keys. Everything here takes and returns Spark DataFrames through
``spark.sql`` and ``spark.table``; nothing uses ``sparkContext``, RDDs or ``DeltaTable``, so
it runs under Spark Connect.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from recipes import tables
from recipes.errors import KitError, NotFoundError, ParameterError
from recipes.jsonfile import write_json
from recipes.target import mdk_home

WRITE_MODES = ("merge", "overwrite")


@dataclass(frozen=True)
class FeatureTable:
    """A feature table's metadata, as ``FeatureEngineeringClient.get_table`` returns it.

    Attributes:
        name: ``catalog.schema.table`` (lowercase).
        primary_keys: the key columns; they include the timestamp key, if any.
        timestamp_keys: the time-series column (zero or one), for point-in-time lookups.
        features: the non-key columns, in table order.
        description: free text.
        tags: string tags.
        creation_timestamp: milliseconds since the epoch.
    """

    name: str
    primary_keys: list[str]
    timestamp_keys: list[str] = field(default_factory=list)
    features: list[str] = field(default_factory=list)
    description: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    creation_timestamp: int = 0

    @property
    def lookup_keys(self) -> list[str]:
        """The primary keys a ``FeatureLookup.lookup_key`` must match (no timestamp key)."""
        return [k for k in self.primary_keys if k not in self.timestamp_keys]

    @property
    def timeseries_column(self) -> str | None:
        return self.timestamp_keys[0] if self.timestamp_keys else None


def as_list(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def full_name(name: str) -> str:
    """``name`` checked and lowercased (three levels, as Unity Catalog wants)."""
    return ".".join(tables.check_table_name(name))


def meta_path(name: str, home: Path | None = None) -> Path:
    return (home or mdk_home()) / "feature_store" / f"{full_name(name)}.json"


def load_meta(name: str, home: Path | None = None) -> FeatureTable:
    """The table's metadata.

    Raises:
        NotFoundError: no feature table of that name (one line naming ``create_table``).
    """
    path = meta_path(name, home)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise NotFoundError(
            f"Feature table {full_name(name)!r} does not exist (no {path.name} under "
            f"{path.parent}): create it with fs.create_table(name=..., primary_keys=..., df=...)."
        ) from None
    return FeatureTable(**raw)


def save_meta(meta: FeatureTable, home: Path | None = None) -> None:
    """Write the metadata atomically (temp file, then rename)."""
    write_json(meta_path(meta.name, home), asdict(meta), sort_keys=True)


def spark_of(df) -> Any:
    return df.sparkSession


def _session(df, spark):
    """The session of Spark DataFrame ``df``, else ``spark``, else ``get_spark()``."""
    if hasattr(df, "sparkSession") and hasattr(df, "columns"):
        return df.sparkSession
    if spark is not None:
        return spark
    from recipes.spark import get_spark

    return get_spark()


def to_spark(df, spark=None):
    """A Spark DataFrame for ``df`` (Spark passes through; pandas goes through a session)."""
    if hasattr(df, "sparkSession") and hasattr(df, "columns"):
        return df
    import pandas as pd

    if isinstance(df, pd.DataFrame):
        from recipes.spark import get_spark

        return (spark or get_spark()).createDataFrame(df)
    raise ParameterError(
        f"Expected a Spark (or pandas) DataFrame, got {type(df).__name__}: "
        "build one with spark.createDataFrame(...)."
    )


def check_keys(df, keys: list[str], table: str) -> None:
    """One Spark job: no key column missing, no null key, no duplicate key.

    Raises:
        ParameterError: one line listing the missing columns or a few offending keys.
    """
    from pyspark.sql import functions as F

    missing = [k for k in keys if k not in df.columns]
    if missing:
        raise ParameterError(
            f"Feature table {table!r}: the DataFrame lacks key column(s) {missing} "
            f"(it has {df.columns}); add them or fix primary_keys."
        )
    any_null = F.lit(False)
    for k in keys:
        any_null = any_null | F.col(k).isNull()
    bad = (
        df.groupBy(*keys)
        .agg(F.count(F.lit(1)).alias("__n"), F.max(any_null.cast("int")).alias("__null"))
        .where("__n > 1 OR __null = 1")
        .limit(3)
        .collect()
    )
    if bad:
        shown = [tuple(r[k] for k in keys) for r in bad]
        what = "null" if all(r["__null"] for r in bad) else "duplicate (or null)"
        raise ParameterError(
            f"Feature table {table!r}: {what} primary key(s) {keys} in the DataFrame, e.g. "
            f"{shown}; keep one row per key (e.g. df.dropDuplicates({keys}))."
        )


def create(
    name: str,
    primary_keys: list[str],
    df,
    schema,
    timestamp_keys: list[str],
    description: str | None,
    tags: dict[str, str] | None,
    spark,
    home: Path | None,
) -> FeatureTable:
    table = full_name(name)
    session = _session(df, spark)
    if meta_path(table, home).exists() or tables.table_exists(table, spark=session):
        raise KitError(
            f"Table {table!r} already exists: add rows with fs.write_table(name={table!r}, "
            "df=..., mode='merge'), or fs.drop_table(name=...) first."
        )
    if not primary_keys:
        raise ParameterError(f"create_table({table!r}) needs primary_keys, e.g. ['customer_id'].")
    if len(timestamp_keys) > 1:
        raise ParameterError(
            f"create_table({table!r}): one timestamp key at most, got {timestamp_keys}."
        )
    stray = [t for t in timestamp_keys if t not in primary_keys]
    if stray:
        raise ParameterError(
            f"create_table({table!r}): timestamp key {stray[0]!r} must be one of primary_keys "
            f"(as in databricks-feature-engineering): use primary_keys={[*primary_keys, *stray]}."
        )
    if df is None and schema is None:
        raise ParameterError(f"create_table({table!r}) needs df= or schema=.")
    if df is None:
        df = session.createDataFrame([], schema)
    df = to_spark(df, session)
    if schema is not None:
        df = df.select(*[df[f.name].cast(f.dataType).alias(f.name) for f in schema.fields])
    check_keys(df, primary_keys, table)
    tables.write_table(table, df, mode="overwrite")
    meta = FeatureTable(
        name=table,
        primary_keys=list(primary_keys),
        timestamp_keys=list(timestamp_keys),
        features=[c for c in df.columns if c not in primary_keys],
        description=description,
        tags=dict(tags or {}),
        creation_timestamp=int(time.time() * 1000),
    )
    save_meta(meta, home)
    return meta


def read(name: str, spark, home: Path | None):
    load_meta(name, home)
    return tables.read_table(full_name(name), spark=spark)


#: Delta's error for two source rows with the key of one row of the table.
DUPLICATE_KEYS = "DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE"


def _quoted(column: str) -> str:
    return "`" + column.replace("`", "``") + "`"


def _first_sentence(exc: Exception) -> str:
    """Delta's message in one line, up to its first full stop (its text wraps over lines)."""
    text = " ".join(str(exc).split())
    end = text.find(". ")
    return text[: end + 1] if end > 0 else text


def merge(table: str, df, keys: list[str]) -> None:
    """Delta's ``MERGE WITH SCHEMA EVOLUTION INTO table USING df ON <keys>``: a matched row
    takes df's columns (``UPDATE SET *``: the table's other columns keep their values), a new
    key is inserted (``INSERT *``: columns df lacks are null), and df's new columns become
    the table's. ``df`` is a temporary view of a unique name for the statement's length, so
    merges on one session never meet. SQL, so classic and Spark Connect sessions alike.

    Raises:
        KitError: two rows of ``df`` have the key of one row of the table (Delta's
            ``DELTA_MULTIPLE_SOURCE_ROW_MATCHING_TARGET_ROW_IN_MERGE``), in one line.
    """
    spark = df.sparkSession
    view = f"mdk_merge_source_{uuid.uuid4().hex}"
    on = " AND ".join(f"t.{_quoted(k)} = s.{_quoted(k)}" for k in keys)
    df.createOrReplaceTempView(view)
    try:
        spark.sql(
            f"MERGE WITH SCHEMA EVOLUTION INTO {table} AS t USING {view} AS s ON {on} "
            "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *"
        ).collect()  # the table name is checked (plain identifiers), the columns quoted
    except Exception as exc:
        condition = getattr(exc, "getCondition", lambda: None)()
        if condition != DUPLICATE_KEYS and DUPLICATE_KEYS not in str(exc):
            raise
        raise KitError(
            f"write_table({table!r}, mode='merge') failed and left the table as it was: "
            f"{_first_sentence(exc)} Keep one row per primary key {keys} in the DataFrame "
            f"(e.g. df.dropDuplicates({keys})) and write again."
        ) from None
    finally:
        spark.catalog.dropTempView(view)


def write(name: str, df, mode: str, spark, home: Path | None) -> FeatureTable:
    """Merge ``df`` into the table (Delta's ``MERGE INTO`` on the primary keys), or overwrite
    the table with it.

    ``merge`` checks the key columns and the types of the columns the table has (no Spark
    job), then leaves the rows to Delta: two rows of ``df`` for a key of the table fail as
    Delta fails them. ``overwrite`` checks the keys (null or duplicate) first, as
    ``create_table`` does, then replaces the table (one commit).

    Raises:
        ParameterError: a bad mode, a missing key column, a type that differs from the
            table's, or (overwrite) null or duplicate keys.
        KitError: (merge) two rows of ``df`` for one key of the table.
    """
    if mode not in WRITE_MODES:
        raise ParameterError(f"write_table mode {mode!r} is not one of {WRITE_MODES}.")
    meta = load_meta(name, home)
    df = to_spark(df, spark)
    keys = meta.primary_keys
    if mode == "overwrite":
        check_keys(df, keys, meta.name)
        tables.write_table(meta.name, df, mode="overwrite")
        columns = list(df.columns)
    else:
        missing = [k for k in keys if k not in df.columns]
        if missing:
            raise ParameterError(
                f"Feature table {meta.name!r}: the DataFrame lacks key column(s) {missing} "
                f"(it has {df.columns}); add them or fix primary_keys."
            )
        have = dict(tables.read_table(meta.name, spark=df.sparkSession).dtypes)
        got = dict(df.dtypes)
        clash = [f"{c} ({have[c]} vs {got[c]})" for c in got if c in have and have[c] != got[c]]
        if clash:
            raise ParameterError(
                f"write_table({meta.name!r}): column types differ from the table's: "
                f"{', '.join(clash)}; cast them first."
            )
        merge(meta.name, df, keys)
        columns = [*have, *(c for c in got if c not in have)]  # schema evolution appends them
    features = [c for c in columns if c not in keys]
    if features != meta.features:
        meta = FeatureTable(**{**asdict(meta), "features": features})
        save_meta(meta, home)
    return meta


def drop(name: str, spark, home: Path | None) -> None:
    """``DROP TABLE`` of a feature table, and its metadata. A table without metadata (not a
    feature table) is never dropped here: :class:`NotFoundError` comes first, before Spark."""
    meta = load_meta(name, home)
    tables.drop_table(meta.name, spark=_session(None, spark))
    meta_path(meta.name, home).unlink(missing_ok=True)
