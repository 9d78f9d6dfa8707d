"""Feature tables: the data through :mod:`recipes.tables`, the metadata in a small JSON file.

A feature table is an ordinary kit table (parquet under ``$MDK_HOME/warehouse`` locally)
plus ``$MDK_HOME/feature_store/<catalog>.<schema>.<table>.json`` holding its primary keys,
timestamp keys, description and feature columns. Everything here takes and returns Spark
DataFrames; nothing uses ``sparkContext`` or RDDs, so it runs under Spark Connect.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from recipes import tables
from recipes.errors import KitError, NotFoundError, ParameterError
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
    path = meta_path(meta.name, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(meta), indent=2, sort_keys=True))
    os.replace(tmp, path)


def spark_of(df) -> Any:
    return df.sparkSession


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
    if meta_path(table, home).exists() or tables.exists(table, home=home):
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
        from recipes.spark import get_spark

        df = (spark or get_spark()).createDataFrame([], schema)
    df = to_spark(df, spark)
    if schema is not None:
        df = df.select(*[df[f.name].cast(f.dataType).alias(f.name) for f in schema.fields])
    check_keys(df, primary_keys, table)
    tables.write_table(table, df, mode="overwrite", home=home)
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
    return tables.read_table(full_name(name), spark=spark, home=home)


def write(name: str, df, mode: str, spark, home: Path | None) -> FeatureTable:
    """Merge (upsert on the primary keys) or overwrite ``df`` into the table."""
    from pyspark.sql import functions as F

    if mode not in WRITE_MODES:
        raise ParameterError(f"write_table mode {mode!r} is not one of {WRITE_MODES}.")
    meta = load_meta(name, home)
    df = to_spark(df, spark)
    keys = meta.primary_keys
    check_keys(df, keys, meta.name)
    if mode == "overwrite":
        new = df
    else:
        old = tables.read_table(meta.name, spark=spark_of(df), home=home)
        have, got = dict(old.dtypes), dict(df.dtypes)
        clash = [f"{c} ({have[c]} vs {got[c]})" for c in got if c in have and have[c] != got[c]]
        if clash:
            raise ParameterError(
                f"write_table({meta.name!r}): column types differ from the table's: "
                f"{', '.join(clash)}; cast them first."
            )
        # Rows of df update (or insert) whole; columns df lacks keep the table's values.
        kept = [c for c in old.columns if c not in df.columns]
        updates = df.join(old.select(*keys, *kept), on=keys, how="left") if kept else df
        untouched = old.join(df.select(*keys), on=keys, how="left_anti")
        added = [c for c in df.columns if c not in old.columns]
        for c in added:
            untouched = untouched.withColumn(c, F.lit(None).cast(got[c]))
        new = untouched.unionByName(updates.select(*untouched.columns))
    tables.write_table(meta.name, new, mode="overwrite", home=home)
    features = [c for c in new.columns if c not in keys]
    if features != meta.features:
        meta = FeatureTable(**{**asdict(meta), "features": features})
        save_meta(meta, home)
    return meta


def drop(name: str, home: Path | None) -> None:
    meta = load_meta(name, home)  # a plain (non-feature) table is never dropped here
    tables.drop_table(meta.name, home=home)
    meta_path(meta.name, home).unlink(missing_ok=True)
