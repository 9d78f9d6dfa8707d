"""Time windows: the ``granularity`` a monitor aggregates by, checked once, used by Spark."""

from __future__ import annotations

import re

from recipes.errors import ParameterError

_UNITS = ("second", "minute", "hour", "day", "week")
_GRANULARITY = re.compile(rf"^\s*([1-9]\d*)\s+({'|'.join(_UNITS)})s?\s*$")


def check_granularity(granularity: str) -> str:
    """``granularity`` normalized (``"1 hour"``, ``"30 minutes"``, ``"1 day"``…).

    Raises:
        ParameterError: for anything Spark's ``window()`` cannot take (months and years
            have no fixed length).
    """
    m = _GRANULARITY.match(str(granularity)) if isinstance(granularity, str) else None
    if not m:
        raise ParameterError(
            f"granularity {granularity!r} is not '<n> <unit>': use e.g. '5 minutes', '1 hour', "
            f"'1 day' or '1 week' (units: {', '.join(_UNITS)})."
        )
    n, unit = int(m.group(1)), m.group(2)
    return f"{n} {unit}" + ("s" if n > 1 else "")


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
