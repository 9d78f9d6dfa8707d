"""Warm spare workers, so deploys and cold starts wait for a model load, not for imports.

A worker process spends ~4 CPU-s importing MLflow and opening the registry and ~0.1 s
loading a small model after that. The pool keeps one started, warmed-up spare; an entity
takes it, sends it the model URI, and the pool starts the next spare in the background. A
cold start after scale-to-zero is then the model load plus the socket handshake.

On Linux the spares are forked from one zygote (:mod:`recipes.endpoint.zygote`) that has
done the imports once, so each further worker costs ~0.1 CPU-s instead of ~4. Elsewhere,
or if the zygote cannot start, each worker is its own ``python -m recipes.endpoint.worker``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from recipes.endpoint import protocol
from recipes.endpoint.zygote_client import ForkedProcess, ZygoteClient, ZygoteFailed
from recipes.threads import ONE_THREAD_ENV

log = logging.getLogger("mdk.serving")

WARM_TIMEOUT = 120.0


@dataclass
class Spare:
    """A started worker waiting for its model."""

    proc: asyncio.subprocess.Process | ForkedProcess
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    log_path: Path


class WorkerPool:
    """Hands out warm worker processes; keeps ``spares`` of them ready (default one).

    Args:
        env: extra environment for every worker (the MLflow URIs).
        log_dir: where a spare logs until an entity takes it (then the entity's log).
        fork: fork workers from a zygote (default: on Linux); else start each one afresh.
    """

    def __init__(
        self, env: dict[str, str], log_dir: Path, spares: int = 1, fork: bool | None = None
    ):
        self.env = env
        self.log_dir = log_dir
        self.spares = spares
        self.fork = (
            sys.platform.startswith("linux") and hasattr(os, "fork") if fork is None else fork
        )
        self._zygote: asyncio.Task | None = None
        self.fallback: str | None = None  # why forking was turned off, if it was
        self._ready: list[Spare] = []
        self._warming: set[asyncio.Task] = set()
        self._closed = False
        self.spawned = 0

    @property
    def _worker_env(self) -> dict[str, str]:
        return {**ONE_THREAD_ENV, **os.environ, **self.env}

    async def _forked(self, log_path: Path):
        """A worker forked from the zygote (started on first use, restarted if it died)."""
        if self._zygote is None or (
            self._zygote.done()
            and (self._zygote.exception() is not None or not self._zygote.result().alive)
        ):
            zygote = ZygoteClient(
                self._worker_env, self.log_dir / f"zygote-{os.getpid()}.log", WARM_TIMEOUT
            )
            self._zygote = asyncio.ensure_future(zygote.start())
        zygote = await asyncio.shield(self._zygote)
        return await zygote.fork(log_path)

    async def _exec(self, log_path: Path):
        """A worker of its own: ``python -m recipes.endpoint.worker``."""
        proc, ours = await protocol.start_process(
            "recipes.endpoint.worker", self._worker_env, log_path
        )
        reader, writer = await asyncio.open_unix_connection(sock=ours, limit=2**26)
        return proc, reader, writer

    async def _start_worker(self, log_path: Path):
        """Fork a worker; if the zygote died, once more from a new one. If no zygote can
        start at all, start this and every later worker afresh."""
        for attempt in (1, 2):
            if not self.fork:
                break
            try:
                return await self._forked(log_path)
            except ZygoteFailed as exc:
                self.fallback = f"{exc}; starting workers afresh from now on"
                log.warning("%s", self.fallback)
                self.fork = False
            except ConnectionError as exc:
                log.warning("forking a worker failed (attempt %d): %s", attempt, exc)
        return await self._exec(log_path)

    async def _spawn(self) -> Spare:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.spawned += 1
        log_path = self.log_dir / f"spare-{os.getpid()}-{self.spawned}.log"
        proc, reader, writer = await self._start_worker(log_path)
        spare = Spare(proc, reader, writer, log_path)
        try:
            hello = await asyncio.wait_for(protocol.read_message(reader), WARM_TIMEOUT)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError, asyncio.CancelledError):
            await discard(spare)
            raise
        if not hello.get("spare"):
            await discard(spare)
            raise ConnectionError(f"worker pid {proc.pid} did not warm up: {hello}")
        return spare

    def fill(self) -> None:
        """Start spares in the background until ``spares`` are ready or warming."""
        while not self._closed and len(self._ready) + len(self._warming) < self.spares:
            task = asyncio.ensure_future(self._spawn())
            self._warming.add(task)
            task.add_done_callback(self._warmed)

    def _warmed(self, task: asyncio.Task) -> None:
        self._warming.discard(task)
        if task.cancelled() or task.exception() is not None:
            return
        spare = task.result()
        if self._closed:
            asyncio.ensure_future(discard(spare))
        else:
            self._ready.append(spare)

    async def take(self) -> Spare:
        """A warm worker: a ready spare, else one being warmed, else a new one."""
        while self._ready:
            spare = self._ready.pop(0)
            if spare.proc.returncode is None and not spare.reader.at_eof():
                self.fill()
                return spare
            await discard(spare)
        if self._warming:
            task = next(iter(self._warming))
            self._warming.discard(task)
            task.remove_done_callback(self._warmed)
            self.fill()
            return await asyncio.shield(task)
        spare = await self._spawn()
        self.fill()
        return spare

    async def close(self) -> None:
        self._closed = True
        for task in list(self._warming):
            task.cancel()
        for task in list(self._warming):
            with contextlib.suppress(BaseException):
                await task
        spares, self._ready = self._ready, []
        for spare in spares:
            await discard(spare)
        if self._zygote is not None:
            if not self._zygote.done():
                self._zygote.cancel()
            with contextlib.suppress(BaseException):
                await (await self._zygote).close()


async def discard(spare: Spare, timeout: float = 5.0) -> None:
    """Close a worker's socket (it exits at EOF) and reap it; kill it if it lingers."""
    spare.writer.close()
    await protocol.reap(spare.proc, timeout)
