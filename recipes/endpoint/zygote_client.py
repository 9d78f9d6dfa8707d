"""The front's side of the worker fork server (:mod:`recipes.endpoint.zygote`).

:class:`ZygoteClient` starts the zygote, asks it for workers, and turns its exit reports
into :class:`ForkedProcess` objects that stand in for ``asyncio.subprocess.Process`` (pid,
returncode, wait, kill), since a forked worker is the zygote's child, not the front's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import signal
import socket
from pathlib import Path

from recipes.endpoint import protocol

log = logging.getLogger("mdk.serving")


class ZygoteFailed(ConnectionError):
    """The zygote did not start (so forking is off for this pool)."""


class ForkedProcess:
    """A worker the zygote forked; its exit code arrives from the zygote."""

    def __init__(self, zygote: ZygoteClient, pid: int):
        self.pid = pid
        self.returncode: int | None = None
        self._zygote = zygote
        self._done = asyncio.Event()

    def _exited(self, code: int) -> None:
        if self.returncode is None:
            self.returncode = code
        self._done.set()

    async def wait(self) -> int:
        await self._done.wait()
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is not None:
            raise ProcessLookupError(self.pid)
        self._zygote.request({"op": "kill", "pid": self.pid, "signal": int(sig)})

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ZygoteClient:
    """One zygote process and its control socket.

    Args:
        env: the zygote's whole environment (its workers inherit it).
        log_path: the zygote's log (each worker gets its own).
        timeout: seconds to wait for the zygote's imports.
    """

    def __init__(self, env: dict[str, str], log_path: Path, timeout: float):
        self.env = env
        self.log_path = log_path
        self.timeout = timeout
        self.proc: asyncio.subprocess.Process | None = None
        self._sock: socket.socket | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._events: asyncio.Task | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._procs: dict[int, ForkedProcess] = {}

    @property
    def alive(self) -> bool:
        return self._events is not None and not self._events.done()

    async def start(self) -> ZygoteClient:
        """Start the zygote and wait for its imports; this client, ready to fork."""
        self.proc, ours = await protocol.start_process(
            "recipes.endpoint.zygote", self.env, self.log_path
        )
        self._sock = ours
        try:
            reader, self._writer = await asyncio.open_unix_connection(sock=ours.dup())
            hello = await asyncio.wait_for(protocol.read_message(reader), self.timeout)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError) as exc:
            await self.close()
            raise ZygoteFailed(f"the worker fork server did not start: {exc!r}") from None
        except BaseException:  # cancelled (the pool is closing): stop the zygote too
            await self.close()
            raise
        if not hello.get("zygote"):
            await self.close()
            raise ZygoteFailed(f"the worker fork server said {hello!r}")
        self._events = asyncio.ensure_future(self._read_events(reader))
        return self

    def request(self, msg: dict, fds: tuple[int, ...] = ()) -> None:
        """Send one request (a few bytes: the socket buffer always has room)."""
        if self._sock is None or not self.alive:
            raise ConnectionError("the worker fork server is not running")
        socket.send_fds(self._sock, [protocol.pack(msg)], list(fds))

    async def fork(self, log_path: Path):
        """A new worker: ``(ForkedProcess, reader, writer)`` on its own socketpair."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            fid = next(self._ids)
            future = self._pending[fid] = asyncio.get_running_loop().create_future()
            try:
                self.request(
                    {"op": "fork", "id": fid, "log_path": str(log_path)}, (theirs.fileno(),)
                )
            finally:
                theirs.close()
            proc = await future
            reader, writer = await asyncio.open_unix_connection(sock=ours, limit=2**26)
        except BaseException:
            self._pending.pop(fid, None)
            ours.close()  # a worker already forked reads EOF and exits
            raise
        return proc, reader, writer

    async def _read_events(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                msg = await protocol.read_message(reader)
                if "forked" in msg:
                    proc = self._procs[msg["pid"]] = ForkedProcess(self, msg["pid"])
                    future = self._pending.pop(msg["forked"], None)
                    if future is not None and not future.done():
                        future.set_result(proc)
                elif "exited" in msg:
                    proc = self._procs.pop(msg["exited"], None)
                    if proc is not None:
                        proc._exited(msg["code"])
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            log.info("worker fork server pid %s stopped", self.proc and self.proc.pid)
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("the worker fork server exited"))
            self._pending.clear()
            for proc in self._procs.values():  # its workers got SIGTERM (PR_SET_PDEATHSIG)
                proc._exited(-signal.SIGTERM)
            self._procs.clear()

    async def close(self, timeout: float = 5.0) -> None:
        """Close the control socket (the zygote exits at EOF) and reap the zygote."""
        if self._writer is not None:
            self._writer.close()
        if self._sock is not None:
            self._sock.close()
        if self._events is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(self._events), timeout)
        if self.proc is not None:
            await protocol.reap(self.proc, timeout)
