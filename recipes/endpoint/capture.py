"""The inference table: every request an endpoint answers, appended in small batches.

The serving front calls :meth:`CaptureWriter.add` from its event loop (a list append under a
lock); a daemon thread appends each table's buffered rows to its Delta table as one commit
with delta-rs (:func:`recipes.tables.append`): no JVM and no pyspark import here. A table
is created on its first flush with :data:`TABLE_CONFIG`: the change data feed on, a checkpoint
every 10 commits, and the kit's ``created_by`` mark. Delta's transaction log makes each
append all or nothing, and lets Spark jobs read, stream or ``OPTIMIZE`` the table meanwhile.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from recipes import tables
from recipes.errors import KitError, ParameterError
from recipes.names import CREATED_BY

log = logging.getLogger(__name__)

_COLUMNS = (  # name, Arrow type, Python type(s) that CaptureWriter.add accepts
    ("databricks_request_id", pa.string(), str),
    ("client_request_id", pa.string(), (str, type(None))),
    ("date", pa.date32(), date),
    ("timestamp_ms", pa.int64(), int),
    ("status_code", pa.int32(), int),
    ("execution_time_ms", pa.int64(), int),
    ("sampling_fraction", pa.float64(), float),
    ("request", pa.string(), str),  # JSON text
    ("response", pa.string(), str),  # JSON text
    ("request_metadata", pa.map_(pa.string(), pa.string()), dict),
)
PAYLOAD_SCHEMA = pa.schema(
    [pa.field(name, t, nullable=name == "client_request_id") for name, t, _ in _COLUMNS]
)
#: The properties an inference table is created with (Delta's ``configuration``).
TABLE_CONFIG = {**tables.INFERENCE_TABLE_CONFIG, CREATED_BY[0]: CREATED_BY[1]}
_TYPES = {name: py for name, _, py in _COLUMNS}
_INT_LIMITS = (("timestamp_ms", 2**63), ("status_code", 2**31), ("execution_time_ms", 2**63))
_CLOSED = "This CaptureWriter is closed: create a new one to capture more rows."


def make_row(
    *,
    request_id: str,
    client_request_id: str | None,
    status_code: int,
    execution_time_ms: int,
    request: str,
    response: str,
    endpoint_name: str,
    model_name: str | None,
    model_version: str | int | None,
    served_entity_name: str | None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """One inference-table row in :data:`PAYLOAD_SCHEMA` order.

    Args:
        request_id: the endpoint's id for the request (``databricks_request_id``).
        client_request_id: the caller's ``client_request_id``, or None.
        request: the request body as JSON text; ``response`` likewise.
        timestamp_ms: when the request arrived (epoch ms); None for now. ``date`` is its
            UTC day.
        endpoint_name: with ``model_name``, ``model_version`` and ``served_entity_name``,
            goes into the ``request_metadata`` map (None when no entity answered).
    """
    ts = int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms)
    return {
        "databricks_request_id": request_id,
        "client_request_id": client_request_id,
        "date": datetime.fromtimestamp(ts / 1000, UTC).date(),
        "timestamp_ms": ts,
        "status_code": int(status_code),
        "execution_time_ms": int(execution_time_ms),
        "sampling_fraction": 1.0,
        "request": request,
        "response": response,
        "request_metadata": {
            "endpoint_name": endpoint_name,
            "model_name": model_name,
            "model_version": None if model_version is None else str(model_version),
            "served_entity_name": served_entity_name,
        },
    }


class CaptureWriter:
    """Buffers inference-table rows and appends them from a background thread.

    Construction does nothing; the flusher thread starts on :meth:`start`, on entering a
    ``with`` block, or lazily on the first :meth:`add`. It appends each table's rows (one Delta
    commit per table and flush) at least every ``flush_interval`` seconds, sooner when a buffer
    reaches ``max_buffer_rows``. A failed append commits nothing: the rows stay in memory
    (unbounded) and are retried next tick, so a row is never lost.
    :meth:`close` (or leaving the ``with`` block) writes the rest; an unclosed writer is closed
    at interpreter exit. :meth:`add` refuses a malformed row, so it cannot block the others.

    Args:
        home: the kit's home folder for :mod:`recipes.tables`; None for ``$MDK_HOME``.
        flush_interval: the most seconds a row waits in memory while writes succeed.
        max_buffer_rows: a table's buffer size that wakes the flusher early.
    """

    def __init__(
        self,
        *,
        home: Path | str | None = None,
        flush_interval: float = 1.0,
        max_buffer_rows: int = 5000,
    ):
        if not (flush_interval > 0 and max_buffer_rows >= 1):
            raise ParameterError(
                f"CaptureWriter({flush_interval=}, {max_buffer_rows=}): use values above 0."
            )
        self.home = home
        self.flush_interval = float(flush_interval)
        self.max_buffer_rows = int(max_buffer_rows)
        self._lock = threading.Lock()  # guards the buffers and the counters
        self._flush_lock = threading.Lock()  # one flush at a time keeps commits in add order
        self._buffers: dict[str, list[dict[str, Any]]] = {}
        self._names: dict[str, str] = {}  # table names as given -> checked lowercase names
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._failing: set[str] = set()  # tables in a failure streak (logged once per streak)
        self._counts: dict[str, Any] = {"rows_written": 0, "flushes": 0, "last_error": None}

    def start(self) -> CaptureWriter:
        """Start the flusher thread (idempotent; the first call imports delta-rs). Returns self."""
        with self._lock:
            if self._closed:
                raise KitError(_CLOSED)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="mdk-capture", daemon=True)
                # Import now what a write needs: at exit, imports that add atexit hooks
                # (pyarrow's pandas_compat, concurrent.futures) fail.
                import deltalake.writer  # noqa: F401

                pa.Table.from_pylist([], schema=PAYLOAD_SCHEMA)
                self._thread.start()
                atexit.register(self.close)
        return self

    def add(self, table_name: str, row: dict[str, Any]) -> None:
        """Buffer one row (see :func:`make_row`) for ``table_name``. Never touches the disk.

        Raises:
            ParameterError: for a bad table name or a row without exactly the payload columns.
            KitError: after :meth:`close`.
        """
        table = self._names.get(table_name) or ".".join(tables.check_table_name(table_name))
        _check_row(row)
        if self._thread is None:
            self.start()
        with self._lock:
            if self._closed:
                raise KitError(_CLOSED)
            self._names[table_name] = table
            self._buffers.setdefault(table, []).append(row)
            full = len(self._buffers[table]) == self.max_buffer_rows
        if full:
            self._wake.set()

    def flush(self) -> None:
        """Append every table's buffered rows now, one commit per table.

        Raises:
            KitError: when a write fails; its rows stay buffered for the next try.
        """
        self._flush()

    def close(self, timeout: float = 10) -> None:
        """Stop the flusher thread and write every row still buffered. Idempotent.

        Raises:
            KitError: when the remaining rows cannot be written within ``timeout`` seconds;
                they stay buffered, and :meth:`flush` may be called again.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closed = True
            thread = self._thread
        self._stop.set()
        self._wake.set()
        if thread is not None:
            thread.join(timeout)  # wakes at once; a flush under way ends first
        atexit.unregister(self.close)
        if not self._flush(lock_timeout=max(0.0, deadline - time.monotonic())):
            buffered = self.stats()["rows_buffered"]
            raise KitError(
                f"The capture writer did not stop within {timeout}s ({buffered} rows buffered): "
                "call close() again with a longer timeout."
            )

    def stats(self) -> dict[str, Any]:
        """rows_written, rows_buffered, flushes (commits made), last_error (or None)."""
        with self._lock:
            return {**self._counts, "rows_buffered": sum(map(len, self._buffers.values()))}

    def __enter__(self) -> CaptureWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            if not self._stop.is_set():
                self._flush(raise_errors=False)  # never raises: _write catches every failure

    def _flush(self, *, raise_errors: bool = True, lock_timeout: float = -1) -> bool:
        """Write all buffered rows; False when another flush held the lock past the timeout."""
        if not self._flush_lock.acquire(timeout=lock_timeout):
            return False
        try:
            with self._lock:
                pending = {t: b for t, b in self._buffers.items() if b}
                self._buffers.update((t, []) for t in pending)
            errors = [e for t, rows in pending.items() if (e := self._write(t, rows))]
        finally:
            self._flush_lock.release()
        if errors and raise_errors:
            raise errors[0]
        return True

    def _write(self, table: str, rows: list[dict[str, Any]]) -> KitError | None:
        """Append the rows as one commit; on failure put them back and return the error."""
        try:
            data = pa.Table.from_pylist(rows, schema=PAYLOAD_SCHEMA)
            tables.append(table, data, home=self.home, configuration=TABLE_CONFIG)
        except Exception as exc:  # noqa: BLE001 - any failure keeps the rows for a retry
            message = f"{type(exc).__name__}: {exc}"
            with self._lock:
                self._buffers[table] = rows + self._buffers[table]
                self._counts["last_error"] = message
                first = table not in self._failing
                self._failing.add(table)
            if first:
                log.error("Writing %d rows to %s failed, will retry: %s", len(rows), table, message)
            return KitError(
                f"Could not write {len(rows)} captured rows to {table} ({message}): fix the "
                "cause and call flush() again; the rows are kept."
            )
        with self._lock:
            self._counts["rows_written"] += len(rows)
            self._counts["flushes"] += 1
            recovered = table in self._failing
            self._failing.discard(table)
        if recovered:
            log.info("Writing captured rows to %s works again.", table)
        return None


def _check_row(row: dict[str, Any]) -> None:
    """Refuse a row that could not become a PAYLOAD_SCHEMA row (so a flush cannot fail on it)."""
    bad = [] if row.keys() == _TYPES.keys() else sorted(row.keys() ^ _TYPES.keys())
    bad = bad or [k for k, t in _TYPES.items() if not isinstance(row[k], t)]
    bad = bad or [k for k, b in _INT_LIMITS if not -b <= row[k] < b]
    if not bad:
        for k, v in row["request_metadata"].items():
            if not (type(k) is str and (v is None or type(v) is str)):
                bad = ["request_metadata"]
    if bad:
        raise ParameterError(
            f"Capture row has bad or unexpected columns {bad}: build it with capture.make_row(...)."
        )
