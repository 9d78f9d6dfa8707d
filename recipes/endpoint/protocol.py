"""Framing between the serving front and a model worker: 4-byte length + pickle.

The front and each worker share a ``socketpair``, so there is no socket path and no race:
the worker inherits its end as a file descriptor. Messages are small Python objects
(lists of rows in, lists of predictions out); pickle protocol 5 costs a few microseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import pickle
import socket
import struct
import sys
from pathlib import Path

HEADER = struct.Struct("!I")
MAX_MESSAGE = 256 * 1024 * 1024


def pack(obj: object) -> bytes:
    """One framed message."""
    body = pickle.dumps(obj, protocol=5)
    return HEADER.pack(len(body)) + body


def _check(size: int) -> int:
    if size > MAX_MESSAGE:
        raise ConnectionError(f"message of {size} bytes exceeds the {MAX_MESSAGE} limit")
    return size


async def read_message(reader: asyncio.StreamReader) -> object:
    """Read one message (asyncio side); raises ``asyncio.IncompleteReadError`` at EOF."""
    (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    return pickle.loads(await reader.readexactly(_check(size)))


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if k == 0:
            raise EOFError("the front closed the connection")
        got += k
    return bytes(buf)


def recv(sock: socket.socket) -> object:
    """Read one message (blocking side, in the worker); raises EOFError at EOF."""
    (size,) = HEADER.unpack(_recv_exactly(sock, HEADER.size))
    return pickle.loads(_recv_exactly(sock, _check(size)))


def send(sock: socket.socket, obj: object) -> None:
    """Write one message (blocking side)."""
    sock.sendall(pack(obj))


async def start_process(
    module: str, env: dict[str, str], log_path: Path
) -> tuple[asyncio.subprocess.Process, socket.socket]:
    """``python -m <module> --fd N`` holding one end of a new socketpair (fd ``N``), with
    stdout and stderr appended to ``log_path``; the process and our end."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with log_path.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                module,
                "--fd",
                str(theirs.fileno()),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                pass_fds=(theirs.fileno(),),
                env=env,
            )
    except BaseException:
        ours.close()
        raise
    finally:
        theirs.close()
    return proc, ours


async def reap(proc, timeout: float) -> int | None:
    """Wait up to ``timeout`` for ``proc`` (a ``Process`` or a forked worker) to exit, then
    kill it; its return code."""
    try:
        return await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        return await proc.wait()
