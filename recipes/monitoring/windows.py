"""Time windows: the ``granularity`` a monitor aggregates by, as Spark columns.

The granularities are the ones Databricks accepts (``"5 minutes"``, ``"30 minutes"``,
``"1 hour"``, ``"1 day"``, ``"<n> week(s)"``, ``"1 month"``, ``"1 year"``; the endpoint checks
a monitor's with :func:`recipes.granularity.check_granularity`). Seconds to days are tumbling
windows aligned on the Unix epoch (UTC), as Spark's ``window()`` makes them (computed here
from ``unix_micros``, so several granularities go in one ``select``, which ``window()``
refuses); weeks start on Monday, as ``date_trunc('week')`` does; months and years, which have
no fixed length, start on the first of a month (every ``n`` months counted from January
1970), so ``"1 month"`` is ``date_trunc('month', ts)``.
A snapshot monitor has no granularity: its one window is the moment of the refresh.
"""

from __future__ import annotations

import re
from datetime import datetime

from recipes.errors import ParameterError
from recipes.granularity import UNIT_SECONDS, WEEK_ORIGIN_SECONDS, check_granularity

__all__ = [
    "as_window",
    "check_granularity",
    "granularity_parts",
    "snapshot_window",
    "window_column",
    "window_starts",
]

UNITS = ("second", "minute", "hour", "day", "week", "month", "year")
_GRANULARITY = re.compile(rf"^\s*([1-9]\d*)\s+({'|'.join(UNITS)})s?\s*$", re.IGNORECASE)
_MICROS = {unit: seconds * 10**6 for unit, seconds in UNIT_SECONDS.items()}
_MONDAY = WEEK_ORIGIN_SECONDS * 10**6  # weeks start on the first Monday after the epoch


def granularity_parts(granularity: str) -> tuple[int, str]:
    """``(n, unit)`` of a granularity such as ``"30 minutes"`` or ``"1 month"``.

    Raises:
        ParameterError: not ``"<n> <unit>"`` with a unit among :data:`UNITS`.
    """
    m = _GRANULARITY.match(granularity) if isinstance(granularity, str) else None
    if not m:
        raise ParameterError(
            f"granularity {granularity!r} is not '<n> <unit>': use e.g. '5 minutes', '1 hour', "
            f"'1 day', '1 week', '1 month' or '1 year' (units: {', '.join(UNITS)})."
        )
    return int(m.group(1)), m.group(2).lower()


def as_window(w) -> dict | None:
    """A ``window`` struct (Spark Row or dict) as ``{"start", "end"}``; None stays None."""
    return None if w is None else {"start": w["start"], "end": w["end"]}


def window_starts(frame, column: str = "window"):
    """Each row's window start, from a metrics frame's ``window`` column."""
    return frame[column].map(lambda w: None if w is None else w["start"])


def window_column(granularity: str, timestamp: str = "timestamp"):
    """The ``window`` struct (``start``, ``end``) of each row's ``timestamp`` column (a
    timestamp), for any granularity of :func:`granularity_parts`."""
    from pyspark.sql import functions as F

    n, unit = granularity_parts(granularity)
    ts = F.col(f"`{timestamp}`").cast("timestamp")
    if unit in ("month", "year"):
        months = n * (12 if unit == "year" else 1)
        index = (F.year(ts) - 1970) * 12 + F.month(ts) - 1  # months since January 1970
        first = F.floor(index / months) * months
        epoch = F.lit("1970-01-01").cast("date")
        start = F.add_months(epoch, first.cast("int")).cast("timestamp")
        end = F.add_months(epoch, (first + months).cast("int")).cast("timestamp")
        return F.when(ts.isNotNull(), F.struct(start.alias("start"), end.alias("end")))
    length = n * _MICROS[unit]
    offset = _MONDAY if unit == "week" else 0
    micros = F.unix_micros(ts.cast("timestamp"))
    first = micros - F.pmod(micros - F.lit(offset), F.lit(length))
    return F.when(
        ts.isNotNull(),
        F.struct(
            F.timestamp_micros(first).alias("start"),
            F.timestamp_micros(first + F.lit(length)).alias("end"),
        ),
    )


def snapshot_window(at: datetime):
    """The one window of a snapshot: ``start`` = ``end`` = ``at`` (the refresh, UTC)."""
    from pyspark.sql import functions as F

    moment = F.lit(at.strftime("%Y-%m-%d %H:%M:%S.%f")).cast("timestamp")
    return F.struct(moment.alias("start"), moment.alias("end"))
