"""Checks of a monitor's ``slicing_exprs`` and ``custom_metrics``, as far as they can be made
without Spark: their types, their shape (``MonitorMetric``), and the columns they name. A
refresh (``recipes.monitoring``) computes them; an expression that does not compile fails
that refresh with Spark's message.
"""

from __future__ import annotations

import json
import re

from recipes.errors import invalid

METRIC_TYPES = (
    "CUSTOM_METRIC_TYPE_AGGREGATE",
    "CUSTOM_METRIC_TYPE_DERIVED",
    "CUSTOM_METRIC_TYPE_DRIFT",
)
METRIC_FIELDS = ("type", "name", "definition", "input_columns", "output_data_type")
TABLE = ":table"
# the templates Databricks' custom-metric definitions use ("Use custom metrics with
# Databricks Lakehouse Monitoring")
TEMPLATES = ("input_column", "prediction_col", "label_col", "current_df", "base_df")
_IDENTIFIER = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*|`[^`]+`)$")
_TEMPLATE = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")
# a Spark SQL type as DDL: double, decimal(10,2), array<double>, map<string,bigint>, ...
_TYPE = re.compile(r"^[A-Za-z_]+(?:\s*\(\s*\d+\s*(?:,\s*\d+\s*)?\))?(?:\s*<.+>)?$", re.S)


def check_slicing_exprs(exprs, table: str, columns: list[str]) -> list[str] | None:
    """``slicing_exprs`` to store: a list of strings, each a column name (which must be one
    of the table's) or a SQL expression over the table's columns (compiled by the refresh).

    Raises:
        ApiError: 400 INVALID_PARAMETER_VALUE naming ``slicing_exprs[i]``.
    """
    if exprs is None:
        return None
    if not isinstance(exprs, list):
        raise invalid("slicing_exprs must be a list of strings, e.g. ['plan', 'age > 30'].")
    for i, expr in enumerate(exprs):
        if not isinstance(expr, str) or not expr.strip():
            raise invalid(
                f"slicing_exprs[{i}] must be a non-empty string (a column name or a SQL "
                f"expression such as 'age > 30'), got {expr!r}."
            )
        name = expr.strip()
        if _IDENTIFIER.match(name) and name.strip("`") not in columns:
            raise invalid(
                f"slicing_exprs[{i}] {expr!r} is not a column of {table} "
                f"(it has {', '.join(columns)})."
            )
        if expr in exprs[:i]:
            raise invalid(f"slicing_exprs[{i}] {expr!r} is given twice.")
    return list(exprs) or None


def _output_type(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid(
            f"{where}.output_data_type is required: a Spark StructField as JSON, e.g. "
            """'{"name":"output","type":"double","nullable":true,"metadata":{}}' """
            "(StructField('output', DoubleType()).json()), or a type name such as 'double'."
        )
    if value.lstrip().startswith("{"):
        try:
            field = json.loads(value)
        except ValueError:
            field = None
        if not isinstance(field, dict) or not isinstance(field.get("type"), str | dict):
            raise invalid(
                f"{where}.output_data_type {value!r} is not a StructField's JSON: it needs "
                """a "type", as StructField('output', DoubleType()).json() writes it."""
            )
    elif not _TYPE.match(value.strip()):
        raise invalid(f"{where}.output_data_type {value!r} is not a Spark SQL type name.")
    return value


def _check_metric(metric, where: str, table: str, columns: list[str], body: dict) -> dict:
    if not isinstance(metric, dict):
        raise invalid(f"{where} must be a MonitorMetric object.")
    unknown = sorted(set(metric) - set(METRIC_FIELDS))
    if unknown:
        raise invalid(f"{where}.{unknown[0]} is not a field of MonitorMetric.")
    if metric.get("type") not in METRIC_TYPES:
        raise invalid(
            f"{where}.type {metric.get('type')!r} is not one of {', '.join(METRIC_TYPES)}."
        )
    name = metric.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise invalid(
            f"{where}.name {name!r} must be a column name (letters, digits and _): "
            "the metric lands in a column of that name."
        )
    definition = metric.get("definition")
    if not isinstance(definition, str) or not definition.strip():
        raise invalid(f"{where}.definition is required: a SQL expression (a Jinja template).")
    log = body.get("inference_log") or {}
    for template in _TEMPLATE.findall(definition):
        if template not in TEMPLATES:
            raise invalid(
                f"{where}.definition uses {{{{{template}}}}}: the templates are "
                + ", ".join(f"{{{{{t}}}}}" for t in TEMPLATES)
                + "."
            )
        if template in ("prediction_col", "label_col") and not log.get(template):
            raise invalid(
                f"{where}.definition uses {{{{{template}}}}}, but the monitor has no "
                f"inference_log.{template}."
            )
    inputs = metric.get("input_columns")
    if not isinstance(inputs, list) or not inputs or not all(isinstance(c, str) for c in inputs):
        raise invalid(
            f"{where}.input_columns must be a non-empty list of column names or ':table'."
        )
    for column in inputs:
        if column != TABLE and column not in columns:
            raise invalid(
                f"{where}.input_columns {column!r} is not a column of {table} "
                f"(it has {', '.join(columns)}; ':table' means the whole table)."
            )
    output = _output_type(metric.get("output_data_type"), where)
    return {
        "type": metric["type"],
        "name": name,
        "definition": definition,
        "input_columns": list(inputs),
        "output_data_type": output,
    }


def check_custom_metrics(metrics, table: str, columns: list[str], body: dict) -> list | None:
    """``custom_metrics`` to store: ``MonitorMetric`` objects (type, name, definition,
    input_columns, output_data_type), with unique names and the table's columns.

    Raises:
        ApiError: 400 INVALID_PARAMETER_VALUE naming ``custom_metrics[i].<field>``.
    """
    if metrics is None:
        return None
    if not isinstance(metrics, list):
        raise invalid("custom_metrics must be a list of MonitorMetric objects.")
    checked = []
    for i, metric in enumerate(metrics):
        where = f"custom_metrics[{i}]"
        checked.append(_check_metric(metric, where, table, columns, body))
        if checked[-1]["name"] in [m["name"] for m in checked[:-1]]:
            raise invalid(f"{where}.name {checked[-1]['name']!r} is given twice.")
    return checked or None
