"""Custom metrics as Databricks defines them (``MonitorMetric``): AGGREGATE, DERIVED and DRIFT.

A definition is a SQL expression with Databricks' templates: ``{{input_column}}``,
``{{prediction_col}}``, ``{{label_col}}`` and, for DRIFT, ``{{current_df}}`` and
``{{base_df}}``. Each metric lands in a column named after it, typed by its
``output_data_type`` (a Spark ``StructField`` as JSON, as ``StructField(...).json()`` writes
it, or a bare type such as ``"double"``), on the ``':table'`` row or on each input column's
row:

- AGGREGATE: computed by Spark in the refresh's aggregation, over the rows of each window,
  model and slice (``avg({{input_column}})``, or over several columns with ``[":table"]``);
- DERIVED: an expression over the row's metrics, by name (``sqrt(squared_avg)``);
- DRIFT: over the row's metrics and its comparison's, in the drift table
  (``{{current_df}}.avg - {{base_df}}.avg``; the comparison is the previous window or the
  baseline).

DERIVED and DRIFT run in Spark too, on the few metric rows, so SQL means the same everywhere
and a definition that does not compile fails with Spark's own message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from recipes.errors import ParameterError
from recipes.monitoring.schema import TABLE

TYPES = ("CUSTOM_METRIC_TYPE_AGGREGATE", "CUSTOM_METRIC_TYPE_DERIVED", "CUSTOM_METRIC_TYPE_DRIFT")
_TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SQLSTATE = re.compile(r"SQLSTATE: \w+")


@dataclass(frozen=True)
class CustomMetric:
    """One ``MonitorMetric``: ``kind`` is ``AGGREGATE``, ``DERIVED`` or ``DRIFT``; ``ddl`` the
    output type as Spark DDL (``double``, ``struct<a:int>``)."""

    kind: str
    name: str
    input_columns: tuple[str, ...]
    definition: str
    ddl: str

    def render(
        self, column: str, *, prediction_col: str | None = None, label_col: str | None = None
    ) -> str:
        """The definition for ``column`` (``':table'`` or an input column), templates filled:
        ``{{current_df}}``/``{{base_df}}`` name the two sides' structs; any other ``{{x}}`` is
        the column or metric ``x``."""
        values = {
            "input_column": column,
            "prediction_col": prediction_col,
            "label_col": label_col,
            "current_df": "current_df",
            "base_df": "base_df",
        }

        def fill(m: re.Match) -> str:
            key = m.group(1)
            if key in values:
                if values[key] is None:
                    raise ParameterError(
                        f"Custom metric {self.name!r} uses {{{{{key}}}}}, but the monitor has "
                        f"no {key}: set it in inference_log, or change the definition."
                    )
                return str(values[key])
            return f"`{key}`"

        return _TEMPLATE.sub(fill, self.definition)


def output_ddl(output_data_type: Any, name: str = "") -> str:
    """The Spark DDL type of an ``output_data_type``: a ``StructField`` JSON string (the
    SDK's form), a ``DataType`` JSON, or a bare type name (``double``)."""
    from pyspark.sql.types import StructField, _parse_datatype_json_value

    text = output_data_type if isinstance(output_data_type, str) else json.dumps(output_data_type)
    try:
        doc = json.loads(text)
    except ValueError:
        return text.strip()  # a bare DDL type, checked when the metric is computed
    try:
        if isinstance(doc, dict) and "name" in doc and "type" in doc:
            return StructField.fromJson(doc).dataType.simpleString()
        return _parse_datatype_json_value(doc).simpleString()
    except (KeyError, TypeError, ValueError) as exc:
        raise ParameterError(
            f"Custom metric {name!r}: output_data_type {text!r} is not a Spark type "
            f"({exc}): use StructField('output', DoubleType()).json() or 'double'."
        ) from None


def parse_metrics(metrics: Iterable[Mapping[str, Any]] | None) -> tuple[CustomMetric, ...]:
    """The monitor document's ``custom_metrics`` (``MonitorMetric.as_dict()`` shapes).

    Raises:
        ParameterError: an unknown type, a missing field or a name used twice.
    """
    out, seen = [], set()
    for m in metrics or ():
        name = m.get("name")
        kind = getattr(m.get("type"), "value", m.get("type"))
        if kind not in TYPES:
            raise ParameterError(
                f"Custom metric {name!r}: type must be one of {TYPES}, got {kind!r}."
            )
        if not name or not m.get("definition") or not m.get("input_columns"):
            raise ParameterError(
                f"Custom metric {name!r} needs name, definition and input_columns ([':table'] "
                "or column names)."
            )
        if name in seen:
            raise ParameterError(f"Custom metric {name!r} is defined twice.")
        seen.add(name)
        ddl = output_ddl(m.get("output_data_type") or "double", name)
        out.append(
            CustomMetric(
                kind.rsplit("_", 1)[-1], name, tuple(m["input_columns"]), m["definition"], ddl
            )
        )
    return tuple(out)


def of_kind(metrics: Sequence[CustomMetric], kind: str) -> list[CustomMetric]:
    return [m for m in metrics if m.kind == kind]


def check_inputs(metrics: Sequence[CustomMetric], profiled: Iterable[str]) -> None:
    """Every input column is ``':table'`` or a profiled column (each gets a metric row).

    Raises:
        ParameterError: naming the metric and the column.
    """
    have = set(profiled)
    for m in metrics:
        for c in m.input_columns:
            if c != TABLE and c not in have:
                raise ParameterError(
                    f"Custom metric {m.name!r}: input column {c!r} is not profiled (not a "
                    f"column of the table, or its timestamp, model id or a nested column): "
                    f"use ':table' or one of {sorted(have)}."
                )


def spark_message(exc: Exception) -> str:
    """Spark's message on one line, up to its ``SQLSTATE`` (the query plan after it left out)."""
    text = " ".join(str(exc).split())
    m = _SQLSTATE.search(text)
    return f"{type(exc).__name__}: {text[: m.end()] if m else text}"


def compile_error(metric: CustomMetric, exc: Exception) -> ParameterError:
    """A refresh's error for a definition Spark refuses: the metric, then Spark's message."""
    return ParameterError(
        f"Custom metric {metric.name!r} ({metric.definition!r}) does not "
        f"compile: {spark_message(exc)}"
    )


def aggregate_columns(
    df, metrics: Sequence[CustomMetric], *, prediction_col: str | None, label_col: str | None
) -> dict[tuple[str, str], Any]:
    """``{(metric, input column): Column}`` of the AGGREGATE metrics, cast to their types and
    checked against ``df`` (analysis only, no job).

    Raises:
        ParameterError: a definition Spark cannot analyze, with Spark's message.
    """
    from pyspark.errors import PySparkException
    from pyspark.sql import functions as F

    out = {}
    for m in of_kind(metrics, "AGGREGATE"):
        for column in m.input_columns:
            sql = m.render(column, prediction_col=prediction_col, label_col=label_col)
            try:
                expr = F.expr(sql).cast(m.ddl)
                df.agg(expr).schema  # noqa: B018 - analysis as an aggregate, classic and Connect
            except PySparkException as exc:
                raise compile_error(m, exc) from None
            out[(m.name, column)] = expr
    return out


def _with_metrics(
    spark,
    rows: list[dict],
    fields: Sequence[tuple[str, str]],
    metrics: Sequence[CustomMetric],
    side_fields: Sequence[tuple[str, str]],
    prediction_col: str | None,
    label_col: str | None,
):
    """A DataFrame of ``rows`` with a column per metric, analyzed (no job)."""
    from pyspark.errors import PySparkException
    from pyspark.sql import functions as F

    from recipes.monitoring.schema import struct_type

    columns = [("__i", "bigint"), ("column_name", "string"), *fields]
    if side_fields:
        side = "struct<" + ",".join(f"`{n}`:{t}" for n, t in side_fields) + ">"
        columns += [("current_df", side), ("base_df", side)]
    sdf = spark.createDataFrame(
        [{**r, "__i": i} for i, r in enumerate(rows)], schema=struct_type(columns)
    )
    for m in metrics:
        values = None
        for column in m.input_columns:
            sql = m.render(column, prediction_col=prediction_col, label_col=label_col)
            try:
                value = F.expr(sql).cast(m.ddl)
            except PySparkException as exc:
                raise compile_error(m, exc) from None
            hit = F.col("column_name") == F.lit(column)
            values = F.when(hit, value) if values is None else values.when(hit, value)
        try:
            sdf = sdf.withColumn(m.name, values)
            sdf.schema  # noqa: B018 - analysis, on classic and Connect alike
        except PySparkException as exc:
            raise compile_error(m, exc) from None
    return sdf


def check_rows(
    spark,
    fields: Sequence[tuple[str, str]],
    metrics: Sequence[CustomMetric],
    *,
    side_fields: Sequence[tuple[str, str]] = (),
    prediction_col: str | None = None,
    label_col: str | None = None,
) -> None:
    """Analyze DERIVED (or DRIFT) ``metrics`` on no rows, before any is computed.

    Raises:
        ParameterError: a definition Spark cannot analyze, with Spark's message.
    """
    if metrics:
        _with_metrics(spark, [], fields, metrics, side_fields, prediction_col, label_col)


def evaluate_rows(
    spark,
    rows: list[dict],
    fields: Sequence[tuple[str, str]],
    metrics: Sequence[CustomMetric],
    *,
    side_fields: Sequence[tuple[str, str]] = (),
    prediction_col: str | None = None,
    label_col: str | None = None,
) -> list[dict[str, Any]]:
    """Evaluate DERIVED (or DRIFT) ``metrics`` on metric ``rows`` in Spark, in one job.

    Each row has ``column_name`` and the fields ``fields`` (DERIVED: the profile row's
    metrics) or the structs ``current_df`` and ``base_df`` of ``side_fields`` (DRIFT). A
    metric is computed on the rows of its input columns (null elsewhere), in order, so a
    DERIVED metric may use an earlier one.

    Returns:
        One ``{metric: value}`` per row.

    Raises:
        ParameterError: a definition Spark cannot analyze, with Spark's message.
    """
    from pyspark.sql import functions as F

    if not rows or not metrics:
        return [{} for _ in rows]
    sdf = _with_metrics(spark, rows, fields, metrics, side_fields, prediction_col, label_col)
    got = sdf.select("__i", *[F.col(f"`{m.name}`") for m in metrics]).collect()
    out = [{} for _ in rows]
    for r in got:
        out[r["__i"]] = {m.name: plain(r[m.name]) for m in metrics}
    return out


def plain(value: Any) -> Any:
    """A collected Spark value as plain Python (Rows as dicts), for pandas and rewriting."""
    from pyspark.sql import Row

    if isinstance(value, Row):
        return {k: plain(v) for k, v in value.asDict().items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value
