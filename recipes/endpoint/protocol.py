"""Framing between the serving front and a model worker: 4-byte length + pickle.

The front and each worker share a ``socketpair``, so there is no socket path and no race:
the worker inherits its end as a file descriptor. Messages are small Python objects
(lists of rows in, lists of predictions out); pickle protocol 5 costs a few microseconds.
"""

from __future__ import annotations

import asyncio
import pickle
import socket
import struct

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
