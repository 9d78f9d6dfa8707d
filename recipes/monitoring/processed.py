"""The processed inference table: the payload table unpacked once, then kept up to date from
its change data feed.

Lakehouse Monitoring does not watch the payload table, whose requests and responses are
JSON text: it watches a processed table with one row per scored record. Keeping one makes
the JSON parse happen once per request, when the request is processed, instead of in every
profile, drift and quality pass.

:func:`process_inference_table` is incremental, as Databricks' inference-table examples
process the table: the first call reads the whole payload table (as of its latest version),
or its change data feed from a ``starting_version`` (:func:`next_version` before sending
traffic: only what comes after), and creates the processed table; each later call reads only
the payload table's change data feed (Delta's ``readChangeFeed``) from the version after the
last one processed, and appends what was inserted. The state is a table property of the processed table,
:data:`VERSION_PROPERTY` (with :data:`SOURCE_PROPERTY`, the payload table's name), set by
each call once its rows are appended, so it lives and dies with the table: drop the table
and the next call starts again from a full read. The kit's payload tables have the change
feed on from their first commit (``delta.enableChangeDataFeed``), as Databricks' inference
tables do.

The append and the property are two commits: a call that dies between them leaves the
property one step behind, and the next call appends those requests again. One process at a
time keeps a processed table.

A ``label_col`` makes the processed table carry the label, NULL until labels arrive and are
merged in (``MERGE INTO ... WHEN MATCHED THEN UPDATE SET``), as the monitor's ``label_col``
then reads them. Every call appends NULL for the columns the table has beyond the unpacked
ones.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from recipes.errors import ParameterError
from recipes.monitoring.unpack import CONTEXT, NoRequests, read_payload, unpack_inference_table

SOURCE_PROPERTY = "mdk.processed.source"  # the payload table the rows come from
VERSION_PROPERTY = "mdk.processed.source_version"  # its last version processed
_INSERTED = ("insert", "update_postimage")  # change types that are a request's row now


@dataclass(frozen=True)
class Processed:
    """What one :func:`process_inference_table` call did.

    Attributes:
        new_rows: scored records appended (0: nothing new; None: not counted, on Databricks).
        first_version, last_version: the payload table's versions read (None, None when
            nothing was new); ``first_version`` is None for the first call's full read.
    """

    table: str
    new_rows: int | None
    first_version: int | None
    last_version: int | None
    seconds: float

    @property
    def full_read(self) -> bool:
        return self.first_version is None and self.last_version is not None

    def __str__(self) -> str:
        rows = "new" if self.new_rows is None else f"{self.new_rows:,} new"
        if self.last_version is None:
            read = "nothing new in the payload table"
        elif self.full_read:
            read = f"a full read of the payload table at version {self.last_version}"
        else:
            read = f"the change feed of versions {self.first_version}..{self.last_version}"
        return f"{self.table}: {rows} scored records from {read}, in {self.seconds:.1f} s"


def _latest_version(spark, table: str) -> int:
    return int(spark.sql(f"DESCRIBE HISTORY {table} LIMIT 1").first()["version"])


def next_version(payload_table: str, *, spark: Any = None) -> int:
    """The version the payload table's next commit will have (0 when the table does not
    exist yet): taken before sending traffic, the ``starting_version`` from which the change
    data feed holds that traffic and nothing older."""
    from recipes import tables

    if spark is None:
        from recipes.spark import get_spark

        spark = get_spark()
    payload = ".".join(tables.check_table_name(payload_table))
    if not tables.table_exists(payload, spark=spark):
        return 0
    return _latest_version(spark, payload) + 1


def _properties(spark, table: str) -> dict[str, str]:
    return {r["key"]: r["value"] for r in spark.sql(f"SHOW TBLPROPERTIES {table}").collect()}


def _state(spark, payload: str, processed: str) -> int:
    """The payload table's last version processed into ``processed``.

    Raises:
        ParameterError: the table was not made by this function, or from another table.
    """
    props = _properties(spark, processed)
    done, source = props.get(VERSION_PROPERTY), props.get(SOURCE_PROPERTY)
    if done is None or source != payload:
        whence = f"from {source}" if source and source != payload else "by another writer"
        raise ParameterError(
            f"{processed} was made {whence}, not by process_inference_table from {payload} "
            f"(its property {VERSION_PROPERTY} says which version it holds): drop it, or "
            "name another processed table."
        )
    return int(done)


def process_inference_table(
    payload_table: str,
    processed_table: str,
    *,
    spark: Any = None,
    features: Sequence[str] | None = None,
    label_col: str | None = None,
    starting_version: int | None = None,
) -> Processed:
    """Append the payload table's new requests, unpacked, to ``processed_table``.

    Args:
        payload_table: the endpoint's inference (payload) table.
        processed_table: the Delta table of scored records (``catalog.schema.table``);
            created by the first call, with the columns of
            :func:`~recipes.monitoring.unpack.unpack_inference_table` (then ``label_col``),
            then appended to.
        spark: the session, whose catalog holds both tables; default
            :func:`recipes.spark.get_spark` for the current target.
        features: the feature columns; default those of the processed table, else every key
            seen in a sample of the requests read.
        label_col: when the first call creates the table, a label column of the prediction's
            type, NULL until labels are merged in; later calls keep it NULL for new rows.
        starting_version: read no payload version before this one (``readChangeFeed``'s
            ``startingVersion``): the first call reads the change feed from it instead of
            the whole table; a later call from the later of it and the version after its
            last. None: the whole table, then the versions after the last.

    Returns:
        How many scored records were appended, and the payload versions read.

    Raises:
        NotFoundError: the payload table does not exist.
        ParameterError: the processed table was not made by this function from this payload
            table; ``label_col`` names a column of the records, or one the existing table
            lacks; ``starting_version`` is not a version number; a named feature (or one the
            processed table has) is in no sampled new request.
    """
    from pyspark.sql import functions as F

    from recipes import tables

    started = time.perf_counter()
    if starting_version is not None and (
        not isinstance(starting_version, int)
        or isinstance(starting_version, bool)
        or starting_version < 0
    ):
        raise ParameterError(
            f"starting_version must be a version number (an int >= 0), got {starting_version!r}."
        )
    if spark is None:
        from recipes.spark import get_spark

        spark = get_spark()
    payload = ".".join(tables.check_table_name(payload_table))
    processed = ".".join(tables.check_table_name(processed_table))
    read_payload(payload, spark)  # one line naming the fix when it is missing
    latest = _latest_version(spark, payload)
    exists = tables.table_exists(processed, spark=spark)
    first, extra = None, {}
    if exists:
        done = _state(spark, payload, processed)
        table = spark.table(processed)
        names = table.columns
        if features is None:  # the unpacked columns are the context, features, prediction
            features = names[len(CONTEXT) : names.index("prediction")]
        if label_col is not None and label_col not in names:
            raise ParameterError(
                f"{processed} has no label column {label_col!r}: it was made "
                "without it; drop it to make it again."
            )
        kept = {*CONTEXT, *features, "prediction"}
        extra = {n: t for n, t in table.dtypes if n not in kept}  # the labels merged in
        first = max(done + 1, starting_version or 0)
    elif starting_version is not None:
        first = starting_version
    if first is not None and first > latest:
        return Processed(processed, 0, None, None, time.perf_counter() - started)
    if first is None:
        raw = spark.read.option("versionAsOf", latest).table(payload)
    else:
        raw = (
            spark.read.option("readChangeFeed", "true")
            .option("startingVersion", first)
            .option("endingVersion", latest)
            .table(payload)
            .filter(F.col("_change_type").isin(*_INSERTED))
        )
    try:  # its sample query finds out whether anything is new
        scored = unpack_inference_table(raw, spark=spark, features=features)
    except NoRequests:
        if exists:  # those versions held no successful request: nothing to read again
            _record(spark, processed, payload, latest)
        return Processed(processed, 0, first, latest, time.perf_counter() - started)
    if label_col is not None and not exists:
        if label_col in scored.columns:
            raise ParameterError(
                f"label_col {label_col!r} is a column of the records already: "
                "name the label another way."
            )
        prediction_type = dict(scored.dtypes)["prediction"]
        extra = {label_col: prediction_type}
    scored = scored.select("*", *[F.lit(None).cast(t).alias(n) for n, t in extra.items()])
    written = tables.write_table(processed, scored, mode="append")  # one Delta commit
    _record(spark, processed, payload, latest)
    return Processed(processed, written.rows, first, latest, time.perf_counter() - started)


def _record(spark, processed: str, payload: str, version: int) -> None:
    """Set the processed table's state: ``payload`` read up to ``version``."""
    spark.sql(
        f"ALTER TABLE {processed} SET TBLPROPERTIES ('{SOURCE_PROPERTY}' = '{payload}', "
        f"'{VERSION_PROPERTY}' = '{version}')"
    )
