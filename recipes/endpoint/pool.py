"""Warm spare workers, so deploys and cold starts wait for a model load, not for imports.

A worker process spends ~3 s importing MLflow and opening the registry and ~0.1 s loading
a small model after that. The pool keeps one started, warmed-up spare; an entity takes it,
sends it the model URI, and the pool starts the next spare in the background. A cold start
after scale-to-zero is then the model load plus the socket handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from recipes.endpoint import protocol
from recipes.threads import ONE_THREAD_ENV

WARM_TIMEOUT = 120.0


@dataclass
class Spare:
    """A started worker waiting for its model."""

    proc: asyncio.subprocess.Process
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    log_path: Path


class WorkerPool:
    """Hands out warm worker processes; keeps ``spares`` of them ready (default one).

    Args:
        env: extra environment for every worker (the MLflow URIs).
        log_dir: where a spare logs until an entity takes it (then the entity's log).
    """

    def __init__(self, env: dict[str, str], log_dir: Path, spares: int = 1):
        self.env = env
        self.log_dir = log_dir
        self.spares = spares
        self._ready: list[Spare] = []
        self._warming: set[asyncio.Task] = set()
        self._closed = False
        self.spawned = 0

    async def _spawn(self) -> Spare:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.spawned += 1
        log_path = self.log_dir / f"spare-{os.getpid()}-{self.spawned}.log"
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with log_path.open("ab") as out:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "recipes.endpoint.worker", "--fd", str(theirs.fileno()),
                    stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
                    pass_fds=(theirs.fileno(),), env={**ONE_THREAD_ENV, **os.environ, **self.env},
                )  # fmt: skip
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        reader, writer = await asyncio.open_unix_connection(sock=ours, limit=2**26)
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


async def discard(spare: Spare, timeout: float = 5.0) -> None:
    """Close a worker's socket (it exits at EOF) and reap it; kill it if it lingers."""
    spare.writer.close()
    try:
        await asyncio.wait_for(spare.proc.wait(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            spare.proc.kill()
        await spare.proc.wait()
