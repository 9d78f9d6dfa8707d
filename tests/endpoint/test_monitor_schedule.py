"""A monitor's schedule without a server: Quartz cron expressions evaluated as Quartz does
(croniter under a mapping), Java time zone ids, and the firing rule (one refresh at a time
per table; a schedule is restored with its monitor). The SDK tests in
``test_quality_monitors.py`` fire real schedules on the endpoint."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from recipes.endpoint.monitors.manager import Monitors
from recipes.endpoint.monitors.schedule import CronError, Timers, check_schedule, next_fire
from recipes.errors import ApiError

JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday


def fires(expression: str, n: int = 3, tz: str = "UTC", after: datetime = JAN_1) -> list[str]:
    schedule = {"quartz_cron_expression": expression, "timezone_id": tz}
    out = []
    for _ in range(n):
        after = next_fire(schedule, after)
        out.append(after.strftime("%a %m-%d %H:%M:%S %z"))
    return out


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("0 0 12 * * ?", ["Thu 01-01 12:00:00 +0000", "Fri 01-02 12:00:00 +0000"]),
        ("*/20 * * * * ?", ["Thu 01-01 00:00:20 +0000", "Thu 01-01 00:00:40 +0000"]),
        # Quartz counts days of the week from 1 = Sunday: 2 is Monday, 6 is Friday
        ("0 0 12 ? * 2", ["Mon 01-05 12:00:00 +0000", "Mon 01-12 12:00:00 +0000"]),
        ("0 0 12 ? * 2-6", ["Thu 01-01 12:00:00 +0000", "Fri 01-02 12:00:00 +0000"]),
        ("0 0 12 ? * 1,7", ["Sat 01-03 12:00:00 +0000", "Sun 01-04 12:00:00 +0000"]),
        ("0 15 10 ? * 6L", ["Fri 01-30 10:15:00 +0000", "Fri 02-27 10:15:00 +0000"]),
        ("0 15 10 ? * FRIL", ["Fri 01-30 10:15:00 +0000", "Fri 02-27 10:15:00 +0000"]),
        ("0 15 10 ? * 6#3", ["Fri 01-16 10:15:00 +0000", "Fri 02-20 10:15:00 +0000"]),
        ("0 15 10 ? * mon#1", ["Mon 01-05 10:15:00 +0000", "Mon 02-02 10:15:00 +0000"]),
        ("0 0 0 L * ?", ["Sat 01-31 00:00:00 +0000", "Sat 02-28 00:00:00 +0000"]),
        ("0 0 0 15W * ?", ["Thu 01-15 00:00:00 +0000", "Mon 02-16 00:00:00 +0000"]),
        ("0 0 12 1 JAN ? 2028", ["Sat 01-01 12:00:00 +0000", None]),
    ],
)
def test_quartz_expressions_fire_when_quartz_fires_them(expression, expected):
    if expected[-1] is None:  # a year field: no firing after it
        schedule = {"quartz_cron_expression": expression, "timezone_id": "UTC"}
        first = next_fire(schedule, JAN_1)
        assert first.strftime("%a %m-%d %H:%M:%S %z") == expected[0] and first.year == 2028
        assert next_fire(schedule, first) is None
        return
    assert fires(expression, n=len(expected)) == expected


def test_time_zones_are_java_ids_with_their_short_forms():
    # dbdemos' schedule: noon in "PST", which Java reads as America/Los_Angeles (DST included)
    assert fires("0 0 12 * * ?", n=1, tz="PST") == ["Thu 01-01 12:00:00 -0800"]
    july = datetime(2026, 7, 1, tzinfo=UTC)
    assert fires("0 0 12 * * ?", n=1, tz="PST", after=july) == ["Wed 07-01 12:00:00 -0700"]
    assert fires("0 0 12 * * ?", n=1, tz="Europe/Paris") == ["Thu 01-01 12:00:00 +0100"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quartz_cron_expression", "0 12 * * *", "has 5 field(s); Quartz has 6 or 7"),
        ("quartz_cron_expression", "0 0 12 * * *", "'?' in exactly one of day-of-month"),
        ("quartz_cron_expression", "0 0 12 ? * ?", "'?' in exactly one of day-of-month"),
        ("quartz_cron_expression", "0 0 25 * * ?", "out of range"),
        ("quartz_cron_expression", "0 0 12 ? * 8", "day of week 8 is out of range"),
        ("quartz_cron_expression", "H 0 12 * * ?", "'H' is not a Quartz seconds value"),
        ("quartz_cron_expression", "0 0 12 LW * ?", "does not evaluate"),
        ("quartz_cron_expression", "0 0 12 30 2 ?", "never fires again"),
        ("quartz_cron_expression", "0 0 12 * * ? 2020", "never fires again"),
        ("quartz_cron_expression", "", "quartz_cron_expression is required"),
        ("timezone_id", "Mars/Base", "'Mars/Base' is not a Java time zone id"),
        ("timezone_id", "../../etc/passwd", "is not a Java time zone id"),
        ("pause_status", "STOPPED", "pause_status 'STOPPED' is not one of PAUSED, UNPAUSED"),
        ("cron", "0 0 12 * * ?", "schedule.cron is not a field of MonitorCronSchedule"),
    ],
)
def test_a_bad_schedule_is_a_400_naming_its_field(field, value, message):
    raw = {"quartz_cron_expression": "0 0 12 * * ?", "timezone_id": "UTC", field: value}
    with pytest.raises(ApiError) as exc:
        check_schedule(raw)
    assert exc.value.status == 400 and exc.value.error_code == "INVALID_PARAMETER_VALUE"
    assert f"schedule.{field}" in exc.value.message and message in exc.value.message
    assert "\n" not in exc.value.message


def test_pause_status_is_stored_as_databricks_reports_it():
    base = {"quartz_cron_expression": "0 0 12 * * ?", "timezone_id": "UTC"}
    assert check_schedule(base)["pause_status"] == "UNPAUSED"
    assert check_schedule({**base, "pause_status": "UNSPECIFIED"})["pause_status"] == "UNPAUSED"
    assert check_schedule({**base, "pause_status": "PAUSED"}) == {**base, "pause_status": "PAUSED"}
    with pytest.raises(CronError):
        next_fire({**base, "timezone_id": "Nowhere/Else"}, JAN_1)


def _monitors(tmp_path, table: str, schedule: dict | None) -> Monitors:
    """A Monitors over ``tmp_path`` whose refreshes are recorded, never run (no job, no Spark)."""
    monitors = Monitors(tmp_path)
    monitors._kick = lambda table: None
    path = monitors._monitor_path(table)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"table_name": table, "schedule": schedule}))
    return monitors


def test_a_firing_queues_a_schedule_refresh_only_when_none_is_active(tmp_path):
    table = "main.mdk.t"
    monitors = _monitors(tmp_path, table, None)
    monitors._scheduled(table)
    monitors._scheduled(table)  # refresh 1 is PENDING: skipped
    assert [(r["refresh_id"], r["state"], r["trigger"]) for r in monitors._refreshes(table)] == [
        (1, "PENDING", "SCHEDULE")
    ]
    for state in ("RUNNING", "SUCCESS"):
        path = monitors._refresh_path(table, 1)
        path.write_text(json.dumps({**json.loads(path.read_text()), "state": state}))
        monitors._scheduled(table)
    assert [r["trigger"] for r in monitors._refreshes(table)] == ["SCHEDULE", "SCHEDULE"]
    monitors.closing = True
    monitors._scheduled(table)
    assert len(monitors._refreshes(table)) == 2


def test_restore_restarts_the_timers_of_unpaused_schedules(tmp_path):
    every_second = {
        "quartz_cron_expression": "* * * * * ?",
        "timezone_id": "UTC",
        "pause_status": "UNPAUSED",
    }
    monitors = _monitors(tmp_path, "main.mdk.on", every_second)
    paused = monitors._monitor_path("main.mdk.off")
    paused.parent.mkdir(parents=True)
    paused.write_text(json.dumps({"schedule": {**every_second, "pause_status": "PAUSED"}}))

    async def restore_and_wait():
        await monitors.restore()
        assert set(monitors.timers.tasks) == {"main.mdk.on"}
        for _ in range(40):  # a firing within 1 s (2 s at most)
            if monitors._refreshes("main.mdk.on"):
                break
            await asyncio.sleep(0.05)
        await monitors.close()
        assert not monitors.timers.tasks

    asyncio.run(restore_and_wait())
    assert [r["trigger"] for r in monitors._refreshes("main.mdk.on")] == ["SCHEDULE"]
    assert monitors._refreshes("main.mdk.off") == []


def test_a_timer_survives_a_failed_firing_and_stops_when_canceled():
    calls = []

    def fire(table):
        calls.append(table)
        raise RuntimeError("boom")

    async def run():
        timers = Timers(fire)
        timers.set("t", {"quartz_cron_expression": "* * * * * ?", "timezone_id": "UTC"})
        task = timers.tasks["t"]
        while len(calls) < 2:
            await asyncio.sleep(0.05)
        timers.set("t", None)  # a schedule removed by update
        assert not timers.tasks
        await asyncio.sleep(0.01)
        assert task.cancelled()

    asyncio.run(asyncio.wait_for(run(), timeout=5))
    assert calls == ["t", "t"]
