"""The worker pool: warm spares forked from one zygote, or started afresh where fork is off.

These run a real pool in this process (its own event loop) with real worker processes over
an empty sqlite registry in ``tmp_path``; no model is loaded.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from recipes.endpoint.pool import WorkerPool, discard
from recipes.endpoint.zygote_client import ForkedProcess, ZygoteClient, ZygoteFailed


def _pool(tmp_path, fork: bool) -> WorkerPool:
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    return WorkerPool(env, tmp_path / "logs", fork=fork)


def _gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def _all_gone(pids: list[int], timeout: float = 15) -> bool:
    """Whether every pid has ended within ``timeout`` s: a worker still holding the spare
    it was given ends at the SIGTERM its zygote's exit sends (PR_SET_PDEATHSIG), a moment
    after ``close()`` returns on a loaded machine."""
    deadline = time.monotonic() + timeout
    while not all(_gone(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_spares_are_forked_from_one_zygote_and_report_how_they_end(tmp_path, bystander):
    async def run():
        pool = _pool(tmp_path, fork=True)
        pool.fill()
        first = await pool.take()
        second = await pool.take()
        zygote = pool._zygote.result().proc.pid
        assert isinstance(first.proc, ForkedProcess) and isinstance(second.proc, ForkedProcess)
        assert {psutil.Process(s.proc.pid).ppid() for s in (first, second)} == {zygote}
        assert psutil.Process(zygote).ppid() == os.getpid()
        # the zygote signals only its own children not yet reaped: never a reused pid
        pool._zygote.result().request({"op": "kill", "pid": bystander.pid, "signal": 9})
        second.proc.kill()  # a request after it, so the first one was handled before
        assert await asyncio.wait_for(second.proc.wait(), 10) == -signal.SIGKILL
        with pytest.raises(ProcessLookupError):
            second.proc.kill()
        await discard(first)  # EOF on its socket: the worker exits by itself
        assert first.proc.returncode == 0
        spare_pid = (await pool.take()).proc.pid  # the refill was forked too
        assert psutil.Process(spare_pid).ppid() == zygote
        await pool.close()
        return zygote, [first.proc.pid, second.proc.pid, spare_pid]

    zygote, workers = asyncio.run(run())
    assert _gone(zygote) and _all_gone(workers)
    assert bystander.poll() is None


@pytest.fixture
def bystander():
    """A process of ours that no pool may signal."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def test_a_dead_zygote_takes_its_workers_along_and_the_pool_starts_another(tmp_path):
    async def run():
        pool = _pool(tmp_path, fork=True)
        spare = await pool.take()
        zygote = pool._zygote.result()
        os.kill(zygote.proc.pid, signal.SIGKILL)
        assert await asyncio.wait_for(spare.proc.wait(), 10) == -signal.SIGTERM
        deadline = time.monotonic() + 10
        while not _gone(spare.proc.pid):  # PR_SET_PDEATHSIG sent it SIGTERM
            assert time.monotonic() < deadline, "the orphaned worker lives on"
            await asyncio.sleep(0.05)
        await discard(spare)
        again = await pool.take()
        assert pool._zygote.result() is not zygote
        assert psutil.Process(again.proc.pid).ppid() == pool._zygote.result().proc.pid
        await pool.close()

    asyncio.run(run())


def test_a_zygote_that_cannot_start_turns_forking_off_and_workers_start_afresh(
    tmp_path, monkeypatch
):
    async def refuse(self):
        raise ZygoteFailed("the worker fork server did not start: EOF")

    monkeypatch.setattr(ZygoteClient, "start", refuse)

    async def run():
        pool = _pool(tmp_path, fork=True)
        spare = await pool.take()  # a worker of its own, as where fork is off
        assert isinstance(spare.proc, asyncio.subprocess.Process) and pool.fork is False
        assert pool.fallback == (
            "the worker fork server did not start: EOF; starting workers afresh from now on"
        )
        assert psutil.Process(spare.proc.pid).ppid() == os.getpid()
        assert "recipes.endpoint.worker" in " ".join(psutil.Process(spare.proc.pid).cmdline())
        await discard(spare, timeout=60)  # it may still be importing on a loaded machine
        await pool.close()
        return spare.proc.returncode

    assert asyncio.run(run()) == 0
