"""The processed inference table: the payload table unpacked once, then appended to.

Lakehouse Monitoring does not watch the payload table, whose requests and responses are
JSON text: it watches a processed table with one row per scored record. Keeping one makes
the JSON parse happen once per request, when the request is processed, instead of in every
profile, drift and quality pass.

:func:`process_inference_table` appends the requests the processed table does not hold
yet. It reads the processed table's newest ``timestamp`` and takes the payload rows from
:data:`LOOKBACK_MS` before it on (but never before its oldest record, so requests left
out by a first call's ``since`` stay out), leaving out the requests already there (by
``databricks_request_id``): a request captured late, or two in the same millisecond, is
neither lost nor counted twice. Profile, drift and quality then read the table.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from recipes.monitoring.unpack import (
    CONTEXT,
    NoRequests,
    read_payload,
    since_ms,
    unpack_inference_table,
)

LOOKBACK_MS = 10 * 60 * 1000  # capture writes within seconds; ten minutes of overlap is ample


@dataclass(frozen=True)
class Processed:
    """What one :func:`process_inference_table` call did."""

    table: str
    new_rows: int | None  # scored records appended (0: nothing new; None: not counted)
    cutoff_ms: int | None  # payload rows from this time on were read; None: all of them
    seconds: float

    def __str__(self) -> str:
        rows = "new" if self.new_rows is None else f"{self.new_rows:,} new"
        return f"{self.table}: {rows} scored records in {self.seconds:.1f} s"


def process_inference_table(
    payload_table: str,
    processed_table: str,
    *,
    spark: Any = None,
    since: datetime | float | None = None,
    features: Sequence[str] | None = None,
) -> Processed:
    """Append the payload table's new requests, unpacked, to ``processed_table``.

    Args:
        payload_table: the endpoint's inference (payload) table.
        processed_table: the Delta table of scored records (``catalog.schema.table``);
            created by the first call, with the columns of
            :func:`~recipes.monitoring.unpack.unpack_inference_table`, then appended to.
        spark: the session, whose catalog holds both tables; default
            :func:`recipes.spark.get_spark` for the current target.
        since: ignore requests before this time (a datetime, or epoch seconds).
        features: the feature columns; default those of the processed table, else every key
            seen in a sample of requests.

    Returns:
        How many scored records were appended, and the cutoff used.

    Raises:
        NotFoundError: the payload table does not exist.
        ParameterError: a named feature (or one the processed table has) is in no sampled
            new request.
    """
    from pyspark.sql import functions as F

    from recipes import tables

    started = time.perf_counter()
    cutoff = since_ms(since)  # checked before any Spark work
    if spark is None:
        from recipes.spark import get_spark

        spark = get_spark()
    raw = read_payload(payload_table, spark)
    done = None
    if tables.table_exists(processed_table, spark=spark):
        done = tables.read_table(processed_table, spark=spark)
        ms = F.unix_millis("timestamp")
        oldest, newest = done.agg(F.min(ms), F.max(ms)).first()
        if features is None:
            features = [c for c in done.columns if c not in (*CONTEXT, "prediction")]
        if newest is not None:
            start = max(newest - LOOKBACK_MS, oldest)  # never before the first record kept
            cutoff = start if cutoff is None else max(cutoff, start)
            seen = done.filter(F.col("timestamp") >= F.timestamp_millis(F.lit(start)))
            raw = raw.join(seen.select("databricks_request_id").distinct(),
                           "databricks_request_id", "left_anti")  # fmt: skip
    if cutoff is not None:
        raw = raw.filter(F.col("request_time") >= F.timestamp_millis(F.lit(cutoff)))
    try:  # its sample query finds out whether anything is new
        scored = unpack_inference_table(raw, spark=spark, features=features)
    except NoRequests:
        return Processed(processed_table, 0, cutoff, time.perf_counter() - started)
    written = tables.write_table(processed_table, scored, mode="append")  # one Delta commit
    return Processed(processed_table, written.rows, cutoff, time.perf_counter() - started)
