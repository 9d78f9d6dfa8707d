"""The monitors of one endpoint: their JSON state, refresh queues and refresh jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from recipes.endpoint.monitors.checks import check_monitor, now_ms, public, read, write
from recipes.endpoint.monitors.checks import table_name as _table
from recipes.endpoint.monitors.schedule import Timers
from recipes.errors import already_exists, not_found
from recipes.locks import locked

ACTIVE = ("PENDING", "RUNNING")
LIST_LIMIT = 25  # list_refreshes: the most recent 25, newest first (as documented)
STOP_SECONDS = 10.0
_JOB = "import sys; from recipes.monitoring.refresh import main; sys.exit(main(sys.argv[1:]))"
_SCRUB = ("SPARK_REMOTE", "MDK_SPARK_REMOTE")
_LOOPBACK = re.compile(r"^sc://(127\.0\.0\.1|localhost|\[::1\]):\d+(/.*)?$")
log = logging.getLogger("mdk.serving")


def job_env(environ: Mapping[str, str], home: Path) -> dict[str, str]:
    """The refresh job's environment: local Spark always. A Spark Connect server on this
    machine (``MDK_SPARK_REMOTE=sc://127.0.0.1:<port>``, as ``make test`` starts one) is kept,
    so a refresh does not start a JVM of its own; any other remote (a workspace) is dropped
    and the job starts classic local Spark."""
    env = {k: v for k, v in environ.items() if k not in _SCRUB}
    remote = environ.get("MDK_SPARK_REMOTE", "")
    if _LOOPBACK.match(remote):
        env["MDK_SPARK_REMOTE"] = remote
    env.update(MDK_HOME=str(home), MDK_TARGET="local")
    return env


class Monitors:
    """The monitors of one endpoint, their refresh queues and jobs."""

    def __init__(self, home: Path):
        self.home = Path(home)
        self.dir = self.home / "serving" / "monitors"
        self.procs: dict[str, subprocess.Popen] = {}
        self.tasks: dict[str, asyncio.Task] = {}
        self.stopping: dict[str, tuple[str, str]] = {}  # table -> (state, message) to record
        self.timers = Timers(self._scheduled)  # the monitors' schedules (schedule.py)
        self.closing = False

    # -- state ----------------------------------------------------------------------
    def _monitor_path(self, table: str) -> Path:
        return self.dir / table / "monitor.json"

    def _refresh_path(self, table: str, refresh_id: int) -> Path:
        return self.dir / table / "refreshes" / f"{int(refresh_id)}.json"

    def _load(self, table: str) -> dict:
        doc = read(self._monitor_path(table))
        if doc is None:
            raise not_found(f"Monitor for table '{table}' does not exist: create it first.")
        return doc

    def _refreshes(self, table: str) -> list[dict]:
        folder = self.dir / table / "refreshes"
        docs = [read(p) for p in folder.glob("*.json")] if folder.exists() else []
        return sorted((d for d in docs if d), key=lambda d: d["refresh_id"])

    # -- the API --------------------------------------------------------------------
    def create(self, table: str, body: dict) -> dict:
        table = _table(table)
        if self._monitor_path(table).exists():
            raise already_exists(
                f"Monitor for table '{table}' already exists: update or delete it."
            )
        doc = {**check_monitor(table, body, self.home), "monitor_version": 1}
        write(self._monitor_path(table), doc)
        self.run_refresh(table)  # Databricks starts the first refresh on creation
        self.timers.set(table, doc["schedule"])
        return self.get(table)

    def update(self, table: str, body: dict) -> dict:
        table = _table(table)
        old = self._load(table)
        doc = check_monitor(table, body, self.home, create=False, assets_dir=old.get("assets_dir"))
        doc["monitor_version"] = old["monitor_version"] + 1
        write(self._monitor_path(table), doc)  # a field left out is no longer set
        self.timers.set(table, doc["schedule"])
        return self.get(table)

    def get(self, table: str) -> dict:
        table = _table(table)
        doc = self._load(table)
        done = [r for r in self._refreshes(table) if r["state"] not in ACTIVE]
        if done and done[-1]["state"] == "FAILED":
            doc["latest_monitor_failure_msg"] = done[-1].get("message")
        return public(doc)

    async def delete(self, table: str) -> None:
        table = _table(table)
        self._load(table)
        self._monitor_path(table).unlink()  # first, so no further refresh starts
        self.timers.cancel(table)
        await self._stop(table, "CANCELED", "The monitor was deleted.")
        task = self.tasks.pop(table, None)
        if task is not None:
            task.cancel()
        shutil.rmtree(self.dir / table, ignore_errors=True)  # the metric tables stay

    def run_refresh(self, table: str, trigger: str = "MANUAL") -> dict:
        table = _table(table)
        self._load(table)
        ids = [r["refresh_id"] for r in self._refreshes(table)]
        doc = {
            "refresh_id": max(ids, default=0) + 1,
            "state": "PENDING",
            "start_time_ms": now_ms(),
            "trigger": trigger,
        }
        write(self._refresh_path(table, doc["refresh_id"]), doc)
        self._kick(table)
        return public(doc)

    def get_refresh(self, table: str, refresh_id: int) -> dict:
        table = _table(table)
        self._load(table)
        doc = read(self._refresh_path(table, refresh_id))
        if doc is None:
            raise not_found(f"Refresh {refresh_id} of the monitor on '{table}' does not exist.")
        return public(doc)

    def list_refreshes(self, table: str) -> dict:
        table = _table(table)
        self._load(table)
        recent = self._refreshes(table)[::-1][:LIST_LIMIT]
        return {"refreshes": [public(r) for r in recent]}

    async def cancel_refresh(self, table: str, refresh_id: int) -> None:
        self.get_refresh(table, refresh_id)
        table = _table(table)
        path = self._refresh_path(table, refresh_id)
        with locked(path.parent):  # the job claims PENDING refreshes under the same lock
            doc = read(path)
            if doc["state"] == "PENDING":
                write(path, {**doc, "state": "CANCELED", "end_time_ms": now_ms()})
        if doc["state"] == "RUNNING":
            await self._stop(table, "CANCELED", "Canceled by cancel_refresh.")

    def _scheduled(self, table: str) -> None:
        """A firing of the table's schedule: a refresh with trigger SCHEDULE, unless one of
        its refreshes is PENDING or RUNNING (then the firing is skipped, as Databricks skips
        a scheduled job run while the job's one allowed run is active)."""
        if self.closing or not self._monitor_path(table).exists():
            return
        active = [r["refresh_id"] for r in self._refreshes(table) if r["state"] in ACTIVE]
        if active:
            log.info("scheduled refresh of %s skipped: refresh %s is active", table, active[0])
            return
        self.run_refresh(table, trigger="SCHEDULE")

    # -- jobs -----------------------------------------------------------------------
    def _kick(self, table: str) -> None:
        task = self.tasks.get(table)
        if not self.closing and (task is None or task.done()):
            self.tasks[table] = asyncio.get_running_loop().create_task(self._drain(table))

    async def _drain(self, table: str) -> None:
        """Run a job while the table has PENDING refreshes: it runs them one at a time."""
        while not self.closing and self._monitor_path(table).exists():
            if not any(r["state"] == "PENDING" for r in self._refreshes(table)):
                return
            await self._run(table)

    async def _run(self, table: str) -> None:
        logs = self.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"monitor-{table}.log"
        env = job_env(os.environ, self.home)
        cmd = [
            sys.executable,
            "-c",
            _JOB,
            "--home",
            str(self.home),
            "--monitor",
            str(self._monitor_path(table)),
            "--refreshes",
            str(self.dir / table / "refreshes"),
        ]
        with log_path.open("ab") as out:
            proc = subprocess.Popen(
                cmd,
                env=env,
                cwd=self.home,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.procs[table] = proc
        try:
            while proc.poll() is None:
                await asyncio.sleep(0.1)
        finally:
            if self.procs.get(table) is proc:
                del self.procs[table]
        # what the job left unfinished: the refresh it ran when it died or was stopped, and,
        # if it crashed (not 0 or 1), the PENDING ones too, so that no job is restarted
        died = f"The refresh job exited with code {proc.returncode}: see {log_path}."
        stopped = table in self.stopping
        state, message = self.stopping.pop(table, ("FAILED", died))
        unfinished = ("RUNNING",) if stopped or proc.returncode in (0, 1) else ACTIVE
        for doc in self._refreshes(table):
            if doc["state"] in unfinished:
                doc.update(state=state, message=message, end_time_ms=now_ms())
                write(self._refresh_path(table, doc["refresh_id"]), doc)

    async def _stop(self, table: str, state: str, message: str) -> None:
        """Stop the table's running job (its whole process group) and record ``state``."""
        proc = self.procs.get(table)
        if proc is None or proc.poll() is not None:
            return
        self.stopping[table] = (state, message)
        for sig, wait in ((signal.SIGTERM, STOP_SECONDS), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            deadline = time.monotonic() + wait
            while proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if proc.poll() is not None:
                break
        while self.procs.get(table) is proc:  # until _run has recorded the state
            await asyncio.sleep(0.02)

    async def restore(self) -> list[str]:
        """At start-up: refreshes a previous endpoint left RUNNING failed; PENDING ones run;
        schedules fire again (firings missed while the endpoint was down are not made up)."""
        tables = sorted(p.parent.name for p in self.dir.glob("*/monitor.json"))
        for table in tables:
            for doc in self._refreshes(table):
                if doc["state"] == "RUNNING":
                    doc.update(
                        state="FAILED",
                        end_time_ms=now_ms(),
                        message="The serving endpoint stopped during the refresh: "
                        "run_refresh again.",
                    )
                    write(self._refresh_path(table, doc["refresh_id"]), doc)
            self._kick(table)
            self.timers.set(table, (read(self._monitor_path(table)) or {}).get("schedule"))
        return tables

    async def close(self) -> None:
        """At shutdown: stop every running job; PENDING refreshes run after a restart."""
        self.closing = True  # first, so no further refresh starts
        self.timers.close()
        message = "The serving endpoint stopped during the refresh: run_refresh again."
        await asyncio.gather(*(self._stop(t, "FAILED", message) for t in list(self.procs)))
        for task in self.tasks.values():
            task.cancel()
