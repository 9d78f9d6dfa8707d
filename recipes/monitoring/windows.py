"""Time windows: the ``granularity`` a monitor aggregates by (checked by
:func:`recipes.formats.check_granularity`, which the endpoint shares), used by Spark."""

from __future__ import annotations

from recipes.formats import check_granularity

__all__ = ["as_window", "check_granularity", "window_column", "window_starts"]


def as_window(w) -> dict | None:
    """A ``window`` struct (Spark Row or dict) as ``{"start", "end"}``; None stays None."""
    return None if w is None else {"start": w["start"], "end": w["end"]}


def window_starts(frame, column: str = "window"):
    """Each row's window start, from a metrics frame's ``window`` column."""
    return frame[column].map(lambda w: w["start"])


def window_column(granularity: str, timestamp: str = "timestamp"):
    """The ``window`` struct (``start``, ``end``) of each row's ``timestamp`` column."""
    from pyspark.sql import functions as F

    return F.window(F.col(timestamp), check_granularity(granularity)).alias("window")
