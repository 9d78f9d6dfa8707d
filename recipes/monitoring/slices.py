"""Slices: a monitor's ``slicing_exprs``, as Databricks computes them.

Metrics are always computed for the whole table (``slice_key`` and ``slice_value`` both
NULL). Each slicing expression adds a slice per value: ``"total_purchases > 10"`` gives the
slices ``true`` and ``false``, a column name such as ``"plan"`` one slice per value. The
``slice_key`` is the expression as written and ``slice_value`` its value as a string (NULL
where the expression is NULL), so within a window every row falls in exactly one slice of
each key, and the slices' counts add up to the whole table's.

Every row is repeated once per slicing expression plus once for the whole table (Spark's
``inline``), so one aggregation grouped by ``(slice_key, slice_value)`` computes them all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from recipes.errors import ParameterError
from recipes.monitoring.custom import spark_message

SLICE_KEY, SLICE_VALUE = "__slice_key", "__slice_value"
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def slice_entries(df, exprs: Sequence[str]):
    """An ``array<struct<__slice_key, __slice_value>>`` Column for ``inline``: the whole table
    first, then each expression of ``exprs`` evaluated on the row.

    Raises:
        ParameterError: an expression Spark cannot analyze on ``df``, with Spark's message.
    """
    from pyspark.errors import PySparkException
    from pyspark.sql import functions as F

    entries = [
        F.struct(
            F.lit(None).cast("string").alias(SLICE_KEY),
            F.lit(None).cast("string").alias(SLICE_VALUE),
        )
    ]
    for text in exprs:
        try:
            value = F.expr(text).cast("string")
            df.select(value).schema  # noqa: B018 - analysis only, classic and Connect alike
        except PySparkException as exc:
            raise ParameterError(
                f"slicing_exprs: {text!r} does not compile: {spark_message(exc)}"
            ) from None
        entries.append(F.struct(F.lit(text).alias(SLICE_KEY), value.alias(SLICE_VALUE)))
    return F.array(*entries)


def uses_only(text: str, columns: Iterable[str], have: Iterable[str]) -> bool:
    """Whether the SQL ``text`` names no column of ``columns`` (the monitored table's) that
    ``have`` (a baseline's) lacks: a word-level check, so asking never makes Spark fail (and
    log an error) on a column that is not there."""
    words = set(_WORD.findall(text))
    return not ((words & set(columns)) - set(have))


def usable(exprs: Sequence[str], columns: Iterable[str], have: Iterable[str]) -> list[str]:
    """The expressions of ``exprs`` a baseline with columns ``have`` can evaluate (one that
    lacks a column a slice uses has no such slice)."""
    return [text for text in exprs if uses_only(text, columns, have)]
