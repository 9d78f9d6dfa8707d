"""A monitor's ``schedule``: its Quartz cron expression and time zone, checked as Databricks
checks them, and the timers that fire its refreshes while the endpoint runs.

``MonitorCronSchedule(quartz_cron_expression=..., timezone_id=..., pause_status=...)`` is a
Quartz cron expression (``"0 0 12 * * ?"``: seconds, minutes, hours, day of month, month, day
of week, optional year; exactly one of the two day fields is ``?``) evaluated in a Java time
zone id (``"UTC"``, ``"America/Los_Angeles"``, or a short id such as ``"PST"``).

No maintained Python library parses Quartz itself (PyPI's Quartz parsers were last released in
2016 and 2019), so :func:`croniter_expression` maps Quartz's syntax onto croniter's (seconds
first, its seventh field the year): Quartz counts the days of the week from 1 (Sunday) to 7,
croniter from 0, and writes "last Friday" ``6L`` where croniter writes ``L5``. Quartz's
``LW`` and ``L-<n>`` (day of month), which croniter does not evaluate, get a 400.

A firing queues a refresh with trigger ``SCHEDULE`` unless one of the table's refreshes is
PENDING or RUNNING: then it is skipped, as Databricks skips a scheduled job run while the
job's one allowed run is active ("Triggered runs are skipped when they exceed the configured
max concurrency for a job", Databricks' "Trigger types for Databricks Jobs"). Missed firings
(the endpoint was down) are not made up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recipes.errors import invalid

log = logging.getLogger("mdk.serving")

FIELDS = ("quartz_cron_expression", "timezone_id", "pause_status")
PAUSE_STATUSES = ("UNPAUSED", "PAUSED")  # UNSPECIFIED (the SDK's third value) means UNPAUSED
MAX_SLEEP = 60.0  # a timer wakes at least this often, so a clock change cannot strand it

# java.time.ZoneId.SHORT_IDS: the three-letter ids Java's TimeZone (and so Databricks'
# scheduler) accepts beside the tz database's names
JAVA_SHORT_IDS = {
    "ACT": "Australia/Darwin",
    "AET": "Australia/Sydney",
    "AGT": "America/Argentina/Buenos_Aires",
    "ART": "Africa/Cairo",
    "AST": "America/Anchorage",
    "BET": "America/Sao_Paulo",
    "BST": "Asia/Dhaka",
    "CAT": "Africa/Harare",
    "CNT": "America/St_Johns",
    "CST": "America/Chicago",
    "CTT": "Asia/Shanghai",
    "EAT": "Africa/Addis_Ababa",
    "ECT": "Europe/Paris",
    "IET": "America/Indiana/Indianapolis",
    "IST": "Asia/Kolkata",
    "JST": "Asia/Tokyo",
    "MIT": "Pacific/Apia",
    "NET": "Asia/Yerevan",
    "NST": "Pacific/Auckland",
    "PLT": "Asia/Karachi",
    "PNT": "America/Phoenix",
    "PRT": "America/Puerto_Rico",
    "PST": "America/Los_Angeles",
    "SST": "Pacific/Guadalcanal",
    "VST": "Asia/Ho_Chi_Minh",
}
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_NUM = r"\d+"
_DAY = rf"(?:{_NUM}|{'|'.join(_DAYS)})"
_MONTH = rf"(?:{_NUM}|{'|'.join(_MONTHS)})"


def _field(value: str, *, step_of: str = _NUM) -> str:
    """A Quartz field term: ``*``, ``v``, ``a-b``, each with an optional ``/step``."""
    return rf"(?:\*|{value}(?:-{value})?)(?:/{step_of})?"


# the terms each Quartz field takes (a comma joins terms); croniter checks the ranges
_TERMS = (
    ("seconds", _field(_NUM)),
    ("minutes", _field(_NUM)),
    ("hours", _field(_NUM)),
    ("day of month", rf"\?|L|{_NUM}W|{_field(_NUM)}"),
    ("month", _field(_MONTH)),
    ("day of week", rf"\?|L|{_DAY}L|{_DAY}#[1-5]|{_field(_DAY)}"),
    ("year", _field(_NUM)),
)


class CronError(ValueError):
    """A Quartz cron expression the local scheduler cannot evaluate (one line, no prefix)."""


def _dow(term: str) -> str:
    """A Quartz day-of-week value (``1``-``7`` from Sunday, or ``SUN``-``SAT``) for croniter."""
    if term.isdigit():
        if not 1 <= int(term) <= 7:
            raise CronError(f"day of week {term} is out of range: use 1-7 (1 = SUN) or SUN-SAT")
        return str(int(term) - 1)
    return term


def _dow_term(term: str) -> str:
    if term in ("?", "*"):
        return term
    if term == "L":  # Quartz: L alone in day of week is its last day, Saturday
        return "6"
    if m := re.fullmatch(rf"({_DAY})L", term):
        day = _dow(m.group(1))
        return "L" + (day if day.isdigit() else str(_DAYS.index(day)))
    if m := re.fullmatch(rf"({_DAY})#([1-5])", term):
        return f"{_dow(m.group(1))}#{m.group(2)}"
    head, _, step = term.partition("/")
    lo, dash, hi = head.partition("-")
    mapped = "*" if lo == "*" else _dow(lo) + (dash + _dow(hi) if dash else "")
    return mapped + (f"/{step}" if step else "")


def croniter_expression(quartz: str) -> str:
    """``quartz`` as croniter's expression (with ``second_at_beginning=True``).

    Raises:
        CronError: not a Quartz expression, or Quartz syntax croniter does not evaluate.
    """
    fields = quartz.upper().split()
    if len(fields) not in (6, 7):
        raise CronError(
            f"it has {len(fields)} field(s); Quartz has 6 or 7: seconds minutes hours "
            "day-of-month month day-of-week [year], e.g. '0 0 12 * * ?'"
        )
    for value, (name, term) in zip(fields, _TERMS, strict=False):
        for part in value.split(","):
            if part in ("LW",) or part.startswith("L-"):
                raise CronError(
                    f"the day of month {part!r} is Quartz syntax the local scheduler does not "
                    "evaluate: use L (the last day) or <n>W"
                )
            if not re.fullmatch(term, part):
                raise CronError(f"{part!r} is not a Quartz {name} value")
    if (fields[3] == "?") == (fields[5] == "?"):
        raise CronError(
            "give '?' in exactly one of day-of-month and day-of-week, as Quartz requires "
            "(e.g. '0 0 12 * * ?' or '0 0 12 ? * MON')"
        )
    fields[5] = ",".join(_dow_term(t) for t in fields[5].split(","))
    return " ".join(fields)


def zone(timezone_id: str) -> ZoneInfo:
    """The time zone of a Java time zone id (a tz database name, or a short id like PST).

    Raises:
        CronError: an id neither knows.
    """
    key = JAVA_SHORT_IDS.get(timezone_id, timezone_id)
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(
            f"{timezone_id!r} is not a Java time zone id: use a tz database name such as "
            "'UTC' or 'America/Los_Angeles'"
        ) from None


def next_fire(schedule: dict, after: datetime) -> datetime | None:
    """The first firing of ``schedule`` strictly after ``after`` (None: it never fires again).

    Raises:
        CronError: the expression or time zone is not one the scheduler evaluates.
    """
    from croniter import CroniterBadDateError, CroniterError, croniter

    tz = zone(schedule["timezone_id"])
    expression = croniter_expression(schedule["quartz_cron_expression"])
    try:
        it = croniter(expression, after.astimezone(tz), second_at_beginning=True)
        return it.get_next(datetime)
    except CroniterBadDateError:
        return None
    except (CroniterError, ValueError) as exc:
        raise CronError(" ".join(str(exc).split())) from None


def check_schedule(raw) -> dict:
    """The schedule to store from a ``MonitorCronSchedule`` body, ``pause_status`` included.

    Raises:
        ApiError: 400 INVALID_PARAMETER_VALUE naming the field.
    """
    if not isinstance(raw, dict):
        raise invalid("schedule must be a MonitorCronSchedule object.")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise invalid(f"schedule.{unknown[0]} is not a field of MonitorCronSchedule.")
    expression, tz = raw.get("quartz_cron_expression"), raw.get("timezone_id")
    if not isinstance(expression, str) or not expression.strip():
        raise invalid("schedule.quartz_cron_expression is required, e.g. '0 0 12 * * ?'.")
    if not isinstance(tz, str) or not tz:
        raise invalid("schedule.timezone_id is required, e.g. 'UTC' or 'America/Los_Angeles'.")
    pause = raw.get("pause_status") or "UNSPECIFIED"
    if pause not in (*PAUSE_STATUSES, "UNSPECIFIED"):
        raise invalid(f"schedule.pause_status {pause!r} is not one of PAUSED, UNPAUSED.")
    doc = {
        "quartz_cron_expression": expression,
        "timezone_id": tz,
        "pause_status": "UNPAUSED" if pause == "UNSPECIFIED" else pause,
    }
    try:
        zone(tz)
    except CronError as exc:
        raise invalid(f"schedule.timezone_id: {exc}.") from None
    try:
        fires = next_fire(doc, datetime.now().astimezone())
    except CronError as exc:
        raise invalid(
            f"schedule.quartz_cron_expression {expression!r} is not a Quartz cron expression "
            f"the local scheduler evaluates: {exc}."
        ) from None
    if fires is None:
        raise invalid(f"schedule.quartz_cron_expression {expression!r} never fires again.")
    return doc


class Timers:
    """One asyncio task per scheduled, unpaused monitor; each calls ``fire(table)`` when its
    schedule is due. ``fire`` decides whether a refresh is queued."""

    def __init__(self, fire: Callable[[str], None]):
        self.fire = fire
        self.tasks: dict[str, asyncio.Task] = {}

    def set(self, table: str, schedule: dict | None) -> None:
        """(Re)start ``table``'s timer for ``schedule``; none when it is absent or PAUSED."""
        self.cancel(table)
        if schedule and schedule.get("pause_status") != "PAUSED":
            loop = asyncio.get_running_loop()
            self.tasks[table] = loop.create_task(self._run(table, dict(schedule)))

    def cancel(self, table: str) -> None:
        task = self.tasks.pop(table, None)
        if task is not None:
            task.cancel()

    def close(self) -> None:
        for table in list(self.tasks):
            self.cancel(table)

    @staticmethod
    def _next(table: str, schedule: dict, after: datetime) -> datetime | None:
        try:
            return next_fire(schedule, after)
        except (CronError, KeyError) as exc:  # a monitor.json that no check made
            log.error("the schedule of the monitor on %s cannot fire: %s", table, exc)
            return None

    async def _run(self, table: str, schedule: dict) -> None:
        after = datetime.now().astimezone()
        while (due := self._next(table, schedule, after)) is not None:
            while (left := (due - datetime.now(due.tzinfo)).total_seconds()) > 0:
                await asyncio.sleep(min(left, MAX_SLEEP))
            try:
                self.fire(table)
            except Exception:  # a timer outlives one failed firing
                log.exception("the scheduled refresh of %s could not be queued", table)
            after = max(due, datetime.now(due.tzinfo))  # missed firings are not made up
        log.info("the schedule of the monitor on %s fires no more", table)
        with contextlib.suppress(KeyError):
            if self.tasks[table] is asyncio.current_task():
                del self.tasks[table]
