"""Monitoring window granularities: which Lakehouse Monitoring accepts, and how each cuts time.

:func:`check_granularity` takes exactly the ones Databricks accepts (``"5 minutes"`` …
``"1 year"``), spelled as Databricks spells them; the endpoint's quality-monitors API, the
monitor's refresh and 06's parameter check all use it. :func:`window_start` is the one Python
rule for where a window starts; :mod:`recipes.monitoring.windows` makes the same cuts as Spark
columns from :data:`UNIT_SECONDS` and :data:`WEEK_ORIGIN_SECONDS`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from recipes.errors import ParameterError

# As the databricks-sdk documents MonitorInferenceLog/MonitorTimeSeries.granularities ("5
# minutes", "30 minutes", "1 hour", "1 day", "<n> week(s)", "1 month", "1 year") and the
# data-quality API enumerates them (AggregationGranularity: 1 to 4 weeks).
GRANULARITIES = (
    "5 minutes",
    "30 minutes",
    "1 hour",
    "1 day",
    "1 week",
    "2 weeks",
    "3 weeks",
    "4 weeks",
    "1 month",
    "1 year",
)
_WEEKS = re.compile(r"^([1-4]) weeks?$")


def check_granularity(granularity: str) -> str:
    """``granularity`` as Databricks spells it (``"1 hour"``, ``"2 weeks"``, ``"1 month"``…).

    Exactly the granularities Lakehouse Monitoring accepts (:data:`GRANULARITIES`); a number
    of weeks may be written ``week`` or ``weeks`` and comes back in the canonical spelling.
    Months and years have no fixed length: whoever windows by them (``recipes.monitoring``)
    cannot use Spark's ``window()`` for them.

    Raises:
        ParameterError: for any other value (``"2 minutes"``, ``"7 seconds"``, ``"1 hours"``).
    """
    if isinstance(granularity, str):
        if granularity in GRANULARITIES:
            return granularity
        if m := _WEEKS.match(granularity):
            n = int(m.group(1))
            return f"{n} week" + ("s" if n > 1 else "")
    raise ParameterError(
        f"granularity {granularity!r} is not one Databricks accepts: use one of "
        "'5 minutes', '30 minutes', '1 hour', '1 day', '<n> week(s)' (n from 1 to 4), "
        "'1 month' or '1 year'."
    )


# How a granularity cuts time into windows (recipes.monitoring.windows makes the same cuts as
# Spark columns): fixed lengths from the Unix epoch (UTC), weeks from the first Monday after it,
# as date_trunc('week'), months and years every n months counted from January 1970.
UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}
WEEK_ORIGIN_SECONDS = 4 * 86400  # the epoch (1970-01-01) was a Thursday
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start(t: datetime, granularity: str) -> datetime:
    """The start (UTC) of the monitoring window of ``granularity`` that holds ``t`` (aware).

    Raises:
        ParameterError: a granularity Databricks does not accept (:func:`check_granularity`).
    """
    n_text, unit = check_granularity(granularity).split()
    n, unit = int(n_text), unit.rstrip("s")
    if unit in ("month", "year"):
        months = n * (12 if unit == "year" else 1)
        first = ((t.year - 1970) * 12 + t.month - 1) // months * months
        return datetime(1970 + first // 12, first % 12 + 1, 1, tzinfo=UTC)
    length = timedelta(seconds=n * UNIT_SECONDS[unit])
    origin = _EPOCH + timedelta(seconds=WEEK_ORIGIN_SECONDS if unit == "week" else 0)
    return origin + (t - origin) // length * length
