"""Unpack an inference table: one row per scored record, with its request's context.

The payload table (``<catalog>.<schema>.<prefix>_payload``) is an AI Gateway
inference table: one row per request, the request and the response as JSON text, its arrival
``request_time``, and the answering served entity by id (``served_entity_id``). As Databricks
users do, the endpoint, served entity name, model name and version come from a join with the
system table ``system.serving.served_entities`` on that id (its latest row per id,
:func:`served_entities`). A request may carry many records, so
:func:`unpack_inference_table` explodes each request into one row per record and pairs it
with the prediction at the same position. It reads ``dataframe_records``, ``instances``
and ``inputs`` (lists of records, or columnar: ``{column: [values]}``, one value each for a
single record, as the endpoint accepts them) and ``dataframe_split`` (``columns`` +
``data``). All of
it is Spark column expressions (``from_json``, ``posexplode``), so it runs on a classic
session, Spark Connect and Databricks Connect, and nothing leaves Spark but a small sample
used to learn the feature names and types.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from recipes.errors import ApiError, KitError, ParameterError
from recipes.formats import MISSING, decode, parse

SAMPLE = 200  # requests read on the driver to learn the feature names and types
SERVED_ENTITIES = "system.serving.served_entities"
CONTEXT = (
    "timestamp",
    "databricks_request_id",
    "client_request_id",
    "endpoint_name",
    "served_entity_name",
    "model_name",
    "model_version",
    "row_index",
)
_RECORDS = "array<map<string,string>>"
_REQUEST = (
    f"struct<dataframe_records:{_RECORDS},instances:{_RECORDS},inputs:{_RECORDS},"
    "dataframe_split:struct<columns:array<string>,data:array<array<string>>>>"
)
_COLUMNAR = "struct<instances:map<string,string>,inputs:map<string,string>>"  # raw JSON values
_RESPONSE = "struct<predictions:array<string>>"
_ISO_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$"
)


class NoRequests(KitError):
    """The payload table holds no successful request (since the cutoff)."""


def read_payload(name: str, spark: Any = None):
    """The payload table ``name`` as a Spark DataFrame, by name in ``spark``'s catalog (None:
    :func:`recipes.spark.get_spark`).

    Raises:
        NotFoundError: no such table in that catalog (one line naming the fix).
    """
    from recipes import tables

    fix = "send traffic to an endpoint that has an inference table first, or check the name."
    return tables.require_table(name, fix=fix, spark=spark)


def served_entities(spark: Any):
    """``system.serving.served_entities``: the latest row (by ``change_time``) of each
    ``served_entity_id``, with the columns the context needs.

    Raises:
        NotFoundError: the session's catalog has no such table (one line naming the fix).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from recipes import tables

    fix = "an endpoint writes it when it captures its first request; send traffic first."
    table = tables.require_table(SERVED_ENTITIES, fix=fix, spark=spark)
    latest = Window.partitionBy("served_entity_id").orderBy(F.col("change_time").desc())
    return (
        table.withColumn("_latest", F.row_number().over(latest))
        .filter(F.col("_latest") == 1)
        .select(
            "served_entity_id",
            "endpoint_name",
            "served_entity_name",
            F.col("entity_name").alias("model_name"),
            F.col("entity_version").alias("model_version"),
        )
    )


def _kind(values: list) -> str:
    seen = [v for v in values if v is not None]
    if seen and all(isinstance(v, bool) for v in seen):
        return "boolean"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in seen):
        return "double"
    if seen and all(isinstance(v, str) and _ISO_TIME.match(v) for v in seen):
        return "timestamp"  # an event time sent as ISO 8601 text
    return "string"


def infer_columns(requests: Sequence[str], responses: Sequence[str]) -> tuple[dict, str]:
    """Feature ``{name: spark type}`` and the prediction's type, from sample JSON bodies:
    numbers are ``double``, booleans ``boolean``, ISO 8601 date-times (``2026-12-06T09:00:00Z``)
    ``timestamp``, anything else ``string``."""
    values: dict[str, list] = {}
    predictions: list = []
    for req, resp in zip(requests, responses, strict=True):
        try:  # the endpoint's own request parser: the formats it accepted, read the same way
            inv, out = parse(decode(req.encode())), json.loads(resp)
        except (ApiError, AttributeError, TypeError, ValueError):
            continue
        for j, name in enumerate(inv.columns):
            values.setdefault(name, []).extend(r[j] for r in inv.rows if r[j] is not MISSING)
        preds = out.get("predictions") if isinstance(out, dict) else None
        predictions += preds if isinstance(preds, list) else []
    return {k: _kind(v) for k, v in values.items()}, _kind(predictions)


def _columnar_records(request, names: Sequence[str]):
    """``inputs``/``instances`` given as ``{column: [values]}`` (or a single value per column)
    as a list of records of ``names``, like the endpoint's ``payload.parse``; null for the
    other forms. Linear in the request: each column is parsed once and zipped by position."""
    from pyspark.sql import functions as F

    if not names:
        return F.lit(None).cast(_RECORDS)
    columns = F.from_json(request, _COLUMNAR)
    given = F.coalesce(columns["inputs"], columns["instances"])
    arrays = [
        F.when(given[n].startswith("["), F.from_json(given[n], "array<string>"))
        .otherwise(F.array(given[n]))
        .alias(n)
        for n in names
    ]
    per_row = F.transform(
        F.arrays_zip(*arrays), lambda r: F.create_map(*[x for n in names for x in (F.lit(n), r[n])])
    )
    return F.when(given.isNotNull(), per_row)


def since_ms(since: datetime | float | int | None) -> int | None:
    """``since`` (a datetime, or epoch seconds) in epoch milliseconds; None stays None."""
    if since is None:
        return None
    if isinstance(since, datetime):
        return int(since.timestamp() * 1000)
    if isinstance(since, int | float) and not isinstance(since, bool):
        return int(since * 1000)  # epoch seconds, as time.time() gives
    raise ParameterError(f"since must be a datetime or epoch seconds, got {since!r}.")


def unpack_inference_table(
    payload_table: str | Any,
    *,
    spark: Any = None,
    features: Sequence[str] | None = None,
    since: datetime | float | None = None,
):
    """The inference table as a Spark DataFrame of scored records.

    Args:
        payload_table: the payload table's name, or its Spark DataFrame.
        spark: the session; default :func:`recipes.spark.get_spark` for the current target.
        features: the feature columns to extract; default every key seen in a sample of
            ``SAMPLE`` requests (numbers become ``double``, booleans ``boolean``, ISO 8601
            date-times ``timestamp``, the rest ``string``).
        since: only requests at or after this time (a datetime, or epoch seconds).

    Returns:
        Columns :data:`CONTEXT` (``timestamp`` the ``request_time``, ``endpoint_name``,
        ``served_entity_name``, ``model_name`` and ``model_version`` from
        ``system.serving.served_entities`` by ``served_entity_id``, ``row_index`` the record's
        position in its request), then
        the features, then ``prediction``. Only requests answered with status 200. A value
        that does not parse as its column's type is null (``try_cast``), not an error.

    Raises:
        NotFoundError: no payload table of that name, or no ``system.serving.served_entities``,
            in the session's catalog.
        NoRequests: the table holds no successful request (since ``since``); a KitError.
        ParameterError: a named feature is in no sampled request.
    """
    from pyspark.sql import functions as F

    cutoff = since_ms(since)  # checked before any Spark work
    if isinstance(payload_table, str):
        if spark is None:
            from recipes.spark import get_spark

            spark = get_spark()
        raw = read_payload(payload_table, spark)
    else:
        raw = payload_table
        spark = spark if spark is not None else raw.sparkSession
    ok = raw.filter(F.col("status_code") == 200)
    if cutoff is not None:
        ok = ok.filter(F.col("request_time") >= F.timestamp_millis(F.lit(cutoff)))
    sample = ok.select("request", "response").limit(SAMPLE).toPandas()
    if sample.empty:
        name = payload_table if isinstance(payload_table, str) else "the payload table"
        raise NoRequests(
            f"{name} has no successful request{' since then' if cutoff else ''}: send "
            "traffic to the endpoint first (recipes.serving.traffic.send)."
        )
    kinds, prediction_kind = infer_columns(sample["request"], sample["response"])
    if features is not None:
        missing = [f for f in features if f not in kinds]
        if missing:
            raise ParameterError(
                f"Feature(s) {missing} are in no sampled request: the requests carry "
                f"{', '.join(sorted(kinds)) or 'no records'}."
            )
        kinds = {f: kinds[f] for f in features}

    req = F.from_json("request", _REQUEST)
    split = req["dataframe_split"]
    # each row carries its copy of the column names: a lambda that read them from `split`
    # would parse the request again for every row (quadratic in the rows per request)
    named_rows = F.arrays_zip(
        split["data"].alias("values"),
        F.array_repeat(split["columns"], F.size(split["data"])).alias("columns"),
    )
    split_records = F.transform(named_rows, lambda r: F.map_from_arrays(r["columns"], r["values"]))
    records = F.coalesce(
        req["dataframe_records"],
        req["instances"],
        req["inputs"],
        split_records,
        _columnar_records(F.col("request"), list(kinds)),
    )
    entities = served_entities(spark)  # a few rows: broadcast to the requests
    parsed = ok.join(F.broadcast(entities), "served_entity_id", "left").select(
        F.col("request_time").alias("timestamp"),
        "databricks_request_id",
        "client_request_id",
        "endpoint_name",
        "served_entity_name",
        "model_name",
        "model_version",
        F.from_json("response", _RESPONSE)["predictions"].alias("_predictions"),
        F.posexplode(records).alias("row_index", "_record"),
    )
    rec = F.col("_record")
    prediction = F.get(F.col("_predictions"), F.col("row_index"))
    return parsed.select(
        *CONTEXT,
        *[rec[name].try_cast(kind).alias(name) for name, kind in kinds.items()],
        prediction.try_cast(prediction_kind).alias("prediction"),
    )
