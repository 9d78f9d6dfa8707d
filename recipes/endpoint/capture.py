"""The AI Gateway inference table: every request an endpoint answers, appended in small batches.

Its columns are Databricks' "AI Gateway-enabled inference table schema" (:data:`PAYLOAD_SCHEMA`,
https://docs.databricks.com/aws/en/ai-gateway/inference-tables): ``request_time`` a TIMESTAMP,
``request_date`` its UTC DATE, ``execution_duration_ms``, ``requester``, ``logging_error_codes``
and ``served_entity_id``. The row names the served entity by id only; as on Databricks, the
system table ``system.serving.served_entities`` (:data:`SERVED_ENTITIES_SCHEMA`) maps the id to
the endpoint, the served entity's name and the model's name and version, and users join the two.
Locally the id is stable per (endpoint id, served entity name, model name, version)
(:func:`served_entity_id`), and the endpoint appends an entity's row the first time it captures
a request the entity answered (:meth:`CaptureWriter.add_served_entity`).

The serving front calls :meth:`CaptureWriter.add` from its event loop (a list append under a
lock); a daemon thread appends each table's buffered rows to its Delta table as one commit
with delta-rs (:func:`recipes.tables.append`): no JVM and no pyspark import here. A table
is created on its first flush with :data:`TABLE_CONFIG`: the change data feed on, a checkpoint
every 10 commits, and the kit's ``created_by`` mark. Delta's transaction log makes each
append all or nothing, and lets Spark jobs read, stream or ``OPTIMIZE`` the table meanwhile.
"""

from __future__ import annotations

import atexit
import functools
import logging
import threading
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from recipes import tables
from recipes.errors import KitError, ParameterError
from recipes.workspace_names import CREATED_BY

log = logging.getLogger(__name__)

_STR, _OPT = str, (str, type(None))
_TIME = pa.timestamp("us", tz="UTC")  # Spark's and Delta's TIMESTAMP
FLUSH_SECONDS = 1.0  # the longest a captured row waits in memory, by default
_COLUMNS = (  # Databricks' documented order; name, Arrow type, what CaptureWriter.add accepts
    ("request_date", pa.date32(), date),
    ("databricks_request_id", pa.string(), _STR),
    ("client_request_id", pa.string(), _OPT),
    ("request_time", _TIME, datetime),
    ("status_code", pa.int32(), int),
    ("sampling_fraction", pa.float64(), float),
    ("execution_duration_ms", pa.int64(), int),
    ("request", pa.string(), _OPT),  # JSON text; null when too large to log
    ("response", pa.string(), _OPT),
    ("served_entity_id", pa.string(), _OPT),  # null when no served entity answered
    ("logging_error_codes", pa.list_(pa.string()), list),
    ("requester", pa.string(), _OPT),
)
#: The AI Gateway inference table's columns; all nullable, as in the tables Databricks makes.
PAYLOAD_SCHEMA = pa.schema([pa.field(name, t) for name, t, _ in _COLUMNS])

#: The system table that names served entities by id, as on Databricks.
SERVED_ENTITIES_TABLE = "system.serving.served_entities"
_CONCURRENCY = pa.struct(
    [
        ("min_concurrency", pa.int64()),
        ("max_concurrency", pa.int64()),
        ("compute_type", pa.string()),
    ]
)
#: ``system.serving.served_entities``: Databricks' columns (system tables reference, "Served
#: entities table schema"). Locally every entity is a CUSTOM_MODEL; the other kinds' configs,
#: ``task`` and ``endpoint_delete_time`` stay null, and there is no account or workspace id.
SERVED_ENTITIES_SCHEMA = pa.schema(
    [
        ("served_entity_id", pa.string()),
        ("account_id", pa.string()),
        ("workspace_id", pa.string()),
        ("created_by", pa.string()),
        ("endpoint_name", pa.string()),
        ("endpoint_id", pa.string()),
        ("served_entity_name", pa.string()),
        ("entity_type", pa.string()),
        ("entity_name", pa.string()),
        ("entity_version", pa.string()),
        ("endpoint_config_version", pa.int64()),
        ("task", pa.string()),
        (
            "external_model_config",
            pa.struct([("name", pa.string()), ("provider", pa.string()), ("task", pa.string())]),
        ),
        (
            "foundation_model_config",
            pa.struct(
                [
                    ("min_provisioned_throughput", pa.int64()),
                    ("max_provisioned_throughput", pa.int64()),
                ]
            ),
        ),
        ("custom_model_config", _CONCURRENCY),
        ("feature_spec_config", _CONCURRENCY),
        ("change_time", _TIME),
        ("endpoint_delete_time", _TIME),
    ]
)
#: The properties an inference table is created with (Delta's ``configuration``).
TABLE_CONFIG = {**tables.INFERENCE_TABLE_CONFIG, CREATED_BY[0]: CREATED_BY[1]}
#: ``requester`` locally: the endpoint's one user, the ``creator`` its API shows.
REQUESTER = "mdk"
#: Request and response bodies larger than this are logged as null, with the error code
#: ``MAX_REQUEST_SIZE_EXCEEDED`` or ``MAX_RESPONSE_SIZE_EXCEEDED`` (Databricks' codes).
MAX_LOGGED_BYTES = 10 * 1024 * 1024
# Databricks' concurrency per workload size (custom models, CPU)
_CONCURRENCY_OF = {"Small": (0, 4), "Medium": (8, 16), "Large": (16, 64)}
_TYPES = {name: py for name, _, py in _COLUMNS}
_INT_LIMITS = (("status_code", 2**31), ("execution_duration_ms", 2**63))
_ID_NAMESPACE = uuid.UUID("5f0c7d4e-7a43-4b1c-9a57-6d4b2c1e8f30")  # the kit's served entity ids
_CLOSED = "This CaptureWriter is closed: create a new one to capture more rows."


@functools.lru_cache(maxsize=4096)
def _entity_id(endpoint_id: str, name: str, entity_name: str, entity_version: str) -> str:
    return uuid.uuid5(_ID_NAMESPACE, f"{endpoint_id}/{name}/{entity_name}/{entity_version}").hex


def served_entity_id(endpoint_id: str, spec: Any) -> str:
    """The served entity's id: 32 hex digits, the same for the same endpoint id, served entity
    name, model name and version (``spec``: an ``EntitySpec``), in every process."""
    return _entity_id(endpoint_id, spec.name, spec.entity_name, str(spec.entity_version))


def served_entity_row(
    *,
    endpoint_name: str,
    endpoint_id: str,
    spec: Any,
    config_version: int | None,
    change_time: datetime | float | None = None,
) -> dict[str, Any]:
    """One ``system.serving.served_entities`` row for the served entity ``spec`` (an
    ``EntitySpec``) of an endpoint; ``change_time`` when it was deployed (epoch seconds or a
    datetime; None for now)."""
    low, high = _CONCURRENCY_OF.get(spec.workload_size, (0, 4))
    low = 0 if spec.scale_to_zero_enabled else max(low, 1)
    return {
        "served_entity_id": served_entity_id(endpoint_id, spec),
        "account_id": None,
        "workspace_id": None,
        "created_by": REQUESTER,
        "endpoint_name": endpoint_name,
        "endpoint_id": endpoint_id,
        "served_entity_name": spec.name,
        "entity_type": "CUSTOM_MODEL",
        "entity_name": spec.entity_name,
        "entity_version": str(spec.entity_version),
        "endpoint_config_version": config_version,
        "task": None,
        "external_model_config": None,
        "foundation_model_config": None,
        "custom_model_config": {
            "min_concurrency": low,
            "max_concurrency": high,
            "compute_type": "CPU",
        },
        "feature_spec_config": None,
        "change_time": _utc(change_time),
        "endpoint_delete_time": None,
    }


def _utc(when: datetime | float | None) -> datetime:
    if when is None:
        return datetime.now(UTC)
    if isinstance(when, datetime):
        return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(when), UTC)


def check_table(name: str, home: Path) -> None:
    """Refuse, in one line, an inference table name where a table with other columns exists
    (a legacy inference table of an older kit, say), before any row is captured.

    Raises:
        ApiError: 400 ``INVALID_PARAMETER_VALUE`` naming the table and the fix.
    """
    from recipes.errors import NotFoundError, invalid

    try:
        columns = tables.column_names(name, home=home)
    except NotFoundError:
        return
    if columns != PAYLOAD_SCHEMA.names:
        what = " (a legacy inference table's)" if "request_metadata" in columns else ""
        raise invalid(
            f"Table {name} exists with other columns{what} than the AI Gateway inference "
            f'table\'s: drop it (spark.sql("DROP TABLE {name}")) or give '
            "inference_table_config another table_name_prefix."
        )


def make_row(
    *,
    request_id: str,
    client_request_id: str | None,
    status_code: int,
    execution_duration_ms: int,
    request: str,
    response: str,
    served_entity_id: str | None,
    requester: str | None = REQUESTER,
    request_time: datetime | float | None = None,
) -> dict[str, Any]:
    """One AI Gateway inference-table row, in :data:`PAYLOAD_SCHEMA` order.

    Args:
        request_id: the endpoint's id for the request (``databricks_request_id``).
        client_request_id: the caller's ``client_request_id``, or None.
        request: the request body as JSON text; ``response`` likewise. A body larger than
            :data:`MAX_LOGGED_BYTES` is logged as null, with its code in
            ``logging_error_codes``.
        served_entity_id: the id of the served entity that answered
            (:func:`served_entity_id`), None when none did (e.g. a 404 naming none).
        request_time: when the request arrived (epoch seconds or a datetime); None for now.
            ``request_date`` is its UTC day.
    """
    when = _utc(request_time)
    codes = []
    if len(request) > MAX_LOGGED_BYTES // 4 and len(request.encode()) > MAX_LOGGED_BYTES:
        request, codes = None, [*codes, "MAX_REQUEST_SIZE_EXCEEDED"]
    if len(response) > MAX_LOGGED_BYTES // 4 and len(response.encode()) > MAX_LOGGED_BYTES:
        response, codes = None, [*codes, "MAX_RESPONSE_SIZE_EXCEEDED"]
    return {
        "request_date": when.date(),
        "databricks_request_id": request_id,
        "client_request_id": client_request_id,
        "request_time": when,
        "status_code": int(status_code),
        "sampling_fraction": 1.0,
        "execution_duration_ms": int(execution_duration_ms),
        "request": request,
        "response": response,
        "served_entity_id": served_entity_id,
        "logging_error_codes": codes,
        "requester": requester,
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
    :meth:`add_served_entity` buffers a served entity's ``system.serving.served_entities``
    row once per id; its flush leaves out the ids the table already holds (written by an
    earlier process), so a restart adds none twice.

    Args:
        home: the kit's home folder for :mod:`recipes.tables`; None for ``$MDK_HOME``.
        flush_interval: the most seconds a row waits in memory while writes succeed.
        max_buffer_rows: a table's buffer size that wakes the flusher early.
    """

    def __init__(
        self,
        *,
        home: Path | str | None = None,
        flush_interval: float = FLUSH_SECONDS,
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
        self._entities: set[str] = set()  # served entity ids added (buffered or written)
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
                import pyarrow.dataset  # noqa: F401 - reading the served entity ids

                pa.Table.from_pylist([], schema=PAYLOAD_SCHEMA)
                pa.Table.from_pylist([], schema=SERVED_ENTITIES_SCHEMA)
                self._thread.start()
                atexit.register(self.close)
        return self

    def add(self, table_name: str, row: dict[str, Any]) -> None:
        """Buffer one row (see :func:`make_row`) for ``table_name``. Never touches the disk.

        Raises:
            ParameterError: for a bad table name, the served entities table, or a row without
                exactly the payload columns.
            KitError: after :meth:`close`.
        """
        table = self._names.get(table_name) or _payload_name(table_name)
        _check_row(row)
        self._buffer(table_name, table, row)

    def has_served_entity(self, entity_id: str) -> bool:
        """Whether :meth:`add_served_entity` has had this id (a set lookup)."""
        return entity_id in self._entities

    def add_served_entity(self, row: dict[str, Any]) -> None:
        """Buffer a ``system.serving.served_entities`` row (see :func:`served_entity_row`),
        unless its id was added before. Never touches the disk.

        Raises:
            ParameterError: for a row without exactly the table's columns.
            KitError: after :meth:`close`.
        """
        if row.get("served_entity_id") in self._entities:
            return
        if row.keys() != set(SERVED_ENTITIES_SCHEMA.names) or not isinstance(
            row["served_entity_id"], str
        ):
            raise ParameterError(
                "Served entity row has bad or unexpected columns: build it with "
                "capture.served_entity_row(...)."
            )
        self._buffer(SERVED_ENTITIES_TABLE, SERVED_ENTITIES_TABLE, row)
        self._entities.add(row["served_entity_id"])

    def _buffer(self, table_name: str, table: str, row: dict[str, Any]) -> None:
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
            if table == SERVED_ENTITIES_TABLE:
                data = pa.Table.from_pylist(self._new_entities(rows), schema=SERVED_ENTITIES_SCHEMA)
            else:
                data = pa.Table.from_pylist(rows, schema=PAYLOAD_SCHEMA)
            if data.num_rows:
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
            self._counts["rows_written"] += data.num_rows
            self._counts["flushes"] += 1 if data.num_rows else 0
            recovered = table in self._failing
            self._failing.discard(table)
        if recovered:
            log.info("Writing captured rows to %s works again.", table)
        return None

    def _new_entities(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The served entity rows whose ids the table does not hold yet."""
        from deltalake import DeltaTable

        path = tables.table_path(SERVED_ENTITIES_TABLE, self.home)
        if not tables.files.is_delta(path):
            return rows
        ids = [r["served_entity_id"] for r in rows]
        held = DeltaTable(str(path)).to_pyarrow_table(
            columns=["served_entity_id"], filters=[("served_entity_id", "in", ids)]
        )
        have = set(held.column("served_entity_id").to_pylist())
        return [r for r in rows if r["served_entity_id"] not in have]


def _payload_name(table_name: str) -> str:
    """The checked lowercase name of a payload table (never the served entities table)."""
    table = ".".join(tables.check_table_name(table_name))
    if table == SERVED_ENTITIES_TABLE:
        raise ParameterError(
            f"{SERVED_ENTITIES_TABLE} is a system table: name another inference table."
        )
    return table


def _check_row(row: dict[str, Any]) -> None:
    """Refuse a row that could not become a PAYLOAD_SCHEMA row (so a flush cannot fail on it)."""
    bad = [] if row.keys() == _TYPES.keys() else sorted(row.keys() ^ _TYPES.keys())
    bad = bad or [k for k, t in _TYPES.items() if not isinstance(row[k], t)]
    bad = bad or [k for k, b in _INT_LIMITS if not -b <= row[k] < b]
    if not bad:
        bad = [
            k
            for k, ok in (
                ("request_date", type(row["request_date"]) is date),
                ("request_time", row["request_time"].tzinfo is not None),
                ("logging_error_codes", all(type(c) is str for c in row["logging_error_codes"])),
            )
            if not ok
        ]
    if bad:
        raise ParameterError(
            f"Capture row has bad or unexpected columns {bad}: build it with capture.make_row(...)."
        )
