"""The front's handle on one served entity: its worker process, batching, and health.

Requests for an entity queue here, each one :class:`~recipes.formats.Invocation`; whatever
has queued when the event loop next runs goes to the worker as one batch
(``loop.call_soon``: no timer, so a lone request waits for nothing), and at most one batch is
in flight, so under load the next batch grows while the worker is busy. A batch holds only
requests whose ``params`` are equal (the model is called once per batch with one set of
params); the others wait for the next batch, in order. The front checks each request against
the model before it queues (:meth:`Entity.conform`): columns and types, and ``params``
against the signature's params schema (:mod:`.params_schema`). The worker is a child process
reached through a socketpair:

* it is started on deploy and, with scale-to-zero, stopped after ``idle_seconds`` without
  traffic; the next request waits through a cold start, which is timed and reported;
* if it dies, the in-flight batch is queued again (predictions are idempotent), the state
  shows ``DEPLOYMENT_RECOVERING`` and a new worker starts by itself;
* a request never waits past its timeout: it gets a 503 instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path

from recipes import formats
from recipes.endpoint import protocol
from recipes.endpoint.config import EntitySpec
from recipes.endpoint.params_schema import ParamsSchema, enforce_params
from recipes.endpoint.pool import WorkerPool, discard
from recipes.errors import ApiError, unavailable
from recipes.formats import Invocation

log = logging.getLogger("mdk.serving")

START_TIMEOUT = 180.0
STOP_TIMEOUT = 5.0
MAX_ATTEMPTS = 2
RETRY_FAILED_AFTER = 5.0


class EntityFailed(Exception):
    """The worker could not load the model."""


@dataclass
class EntityStats:
    requests: int = 0
    batches: int = 0
    errors: int = 0
    restarts: int = 0
    cold_starts: int = 0
    last_cold_start_ms: float | None = None
    last_load_seconds: float | None = None
    last_failure: str | None = None
    scaled_to_zero_at: float | None = None


@dataclass
class _Item:
    inv: Invocation
    key: str | None  # requests batch together only when their keys (their params) are equal
    future: asyncio.Future
    attempts: int = 0


def _params_key(params: dict | None) -> str | None:
    # repr tells 1, 1.0 and True apart (== does not); the front made them the schema's types
    return repr(sorted(params.items())) if params else None


class Entity:
    """One served entity's worker and queue (all methods run on the event loop).

    Attributes:
        spec: what is served.
        deployment: ``DEPLOYMENT_CREATING``/``READY``/``RECOVERING``/``FAILED``.
        message: the state message shown by the API.
        columns, kinds: the model's input columns from the worker's handshake.
        signature: the model's MLflow signature from the handshake, as
            ``ModelSignature.to_dict()`` (``inputs``, ``outputs``, ``params``: JSON strings
            or None), or None when it has none (and before the first handshake).
        params_schema: the signature's params schema, parsed (None: the model has none).
        stats: counters for ``/metrics`` and the API.
    """

    def __init__(self, spec: EntitySpec, *, endpoint: str, pool: WorkerPool, log_path: Path):
        self.spec = spec
        self.endpoint = endpoint
        self.pool = pool
        self.log_path = log_path
        self.deployment = "DEPLOYMENT_CREATING"
        self.message = "Starting the model worker."
        self.columns: list[str] | None = None
        self.kinds: list[str] = []
        self.signature: dict | None = None
        self.params_schema: ParamsSchema | None = None
        self.fast_path = False
        self.stats = EntityStats()
        self.last_used = time.monotonic()
        self.created_ms = int(time.time() * 1000)
        self._proc: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task | None = None
        self._starting: asyncio.Task | None = None
        self._queue: list[_Item] = []
        self._inflight: list[_Item] | None = None
        self._flush_scheduled = False
        self._closed = False
        self._failed_at = 0.0
        self.pid: int | None = None

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._writer is not None

    @property
    def scaled_to_zero(self) -> bool:
        return self.stats.scaled_to_zero_at is not None and not self.running

    async def start(self) -> None:
        """Start the worker (or join a start in progress); raises EntityFailed."""
        if self.running:
            return
        if self._starting is None or self._starting.done():
            self._starting = asyncio.ensure_future(self._spawn())
        await asyncio.shield(self._starting)

    async def _spawn(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        spare = await self.pool.take()
        spare.log_path.unlink(missing_ok=True)
        if self._closed:  # deleted while waiting for a worker: give it back to nobody
            await discard(spare)
            raise EntityFailed(f"Served entity {self.spec.name} was stopped while starting.")
        self._proc, reader, writer = spare.proc, spare.reader, spare.writer
        self.pid = self._proc.pid
        order = {
            "model_uri": self.spec.model_uri,
            "env": self.spec.environment_vars,
            "log_path": str(self.log_path),
        }
        writer.write(protocol.pack(order))
        try:
            hello = await asyncio.wait_for(protocol.read_message(reader), START_TIMEOUT)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            hello = {
                "ok": False,
                "error": f"the worker exited before it was ready ({self._tail()})",
            }
        if not hello.get("ok") or self._closed:
            writer.close()
            if hello.get("ok"):  # stopped during the load
                await self._reap()
                raise EntityFailed(f"Served entity {self.spec.name} was stopped while starting.")
            await self._reap()
            self._fail(f"Model {self.spec.model_uri} failed to load: {hello.get('error')}")
            raise EntityFailed(self.message)
        self.columns, self.kinds = hello["columns"], hello["kinds"]
        self.signature = hello.get("signature")
        self.params_schema = ParamsSchema.from_signature(self.signature)
        self.fast_path = hello["fast_path"]
        self.stats.last_load_seconds = hello["load_seconds"]
        self._writer = writer
        self.last_used = time.monotonic()  # the idle clock starts when it can serve
        self._reader_task = asyncio.ensure_future(self._read_replies(reader))
        self.deployment = "DEPLOYMENT_READY"
        path = "fast sklearn path" if self.fast_path else "pyfunc"
        self.message = (
            f"Serving {self.spec.model_uri} in worker pid {self.pid} ({path}; "
            f"loaded in {hello['load_seconds']:.2f} s)."
        )
        if self.stats.restarts:
            self.message += f" Recovered after {self.stats.restarts} worker failure(s)."
        self._schedule_flush()

    def _tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        errors = [ln for ln in lines if "Error" in ln or "error" in ln]
        return (errors or lines or ["no output"])[-1][-500:]

    def _fail(self, message: str) -> None:
        self.deployment = "DEPLOYMENT_FAILED"
        self.message = message
        self.stats.last_failure = message
        self._failed_at = time.monotonic()
        for item in self._queue:
            if not item.future.done():
                item.future.set_exception(unavailable(message))
        self._queue.clear()

    async def _reap(self) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        return await protocol.reap(proc, STOP_TIMEOUT)

    async def _read_replies(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                results = await protocol.read_message(reader)
                batch, self._inflight = self._inflight or [], None
                for item, result in zip(batch, results, strict=True):
                    if item.future.done():
                        continue
                    if result[0] == "ok":
                        item.future.set_result(result[1])
                    else:
                        self.stats.errors += 1
                        item.future.set_exception(ApiError(result[1], result[2], result[3]))
                self._schedule_flush()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            return
        await self._worker_gone()

    async def _worker_gone(self) -> None:
        """The socket closed: a deliberate stop, or a crash to recover from."""
        self._writer = None
        pid = self.pid  # the dead worker's: a request may start the next one while it is reaped
        code = await self._reap()
        if self._closed or self.stats.scaled_to_zero_at is not None:
            return
        self.stats.restarts += 1
        why = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        self.deployment = "DEPLOYMENT_RECOVERING"
        self.message = f"Worker pid {pid} died ({why}); restarting it."
        self.stats.last_failure = self.message
        log.warning("%s/%s: %s", self.endpoint, self.spec.name, self.message)
        retry, self._inflight = self._inflight or [], None
        for item in retry:
            item.attempts += 1
        self._queue[:0] = [i for i in retry if not i.future.done()]
        with contextlib.suppress(EntityFailed):
            await self.start()

    async def stop(self, *, drain_timeout: float = 30.0) -> None:
        """Stop for good: finish what is queued (up to ``drain_timeout``), then the worker."""
        self._closed = True
        if self._starting is not None and not self._starting.done():
            with contextlib.suppress(BaseException):  # let a start in progress settle
                await asyncio.wait_for(asyncio.shield(self._starting), STOP_TIMEOUT)
        deadline = time.monotonic() + drain_timeout
        while (self._queue or self._inflight) and self.running and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for item in [*self._queue, *(self._inflight or [])]:
            if not item.future.done():
                item.future.set_exception(unavailable(f"Served entity {self.spec.name} stopped."))
        self._queue.clear()
        await self._close_worker()

    async def _close_worker(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
        if self._reader_task is not None:
            self._reader_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader_task
            self._reader_task = None
        await self._reap()

    async def scale_to_zero(self, idle_seconds: float) -> bool:
        """Stop the worker if it has been idle for ``idle_seconds``; True when it did."""
        if not self.spec.scale_to_zero_enabled or not self.running or self._closed:
            return False
        if self._queue or self._inflight or time.monotonic() - self.last_used < idle_seconds:
            return False
        self.stats.scaled_to_zero_at = time.time()
        await self._close_worker()
        self.message = (
            f"Scaled to zero after {idle_seconds:g} s without traffic; "
            "the next request starts a worker (cold start)."
        )
        log.info("%s/%s scaled to zero", self.endpoint, self.spec.name)
        return True

    # -- requests ----------------------------------------------------------------------
    async def ready(self, timeout: float) -> float | None:
        """Make sure a worker runs; returns the cold-start milliseconds if one was needed."""
        if self.running:
            return None
        if self._closed:
            raise unavailable(f"Served entity {self.spec.name} has stopped.")
        if self.deployment == "DEPLOYMENT_FAILED" and (
            time.monotonic() - self._failed_at < RETRY_FAILED_AFTER
        ):
            raise unavailable(self.message)
        cold = self.stats.scaled_to_zero_at is not None
        t0 = time.perf_counter()
        try:
            await asyncio.wait_for(self.start(), timeout)
        except TimeoutError:
            raise unavailable(f"Served entity {self.spec.name} is still starting.") from None
        except EntityFailed as exc:
            raise unavailable(str(exc)) from None
        if not cold:
            return None
        ms = (time.perf_counter() - t0) * 1000
        if self.stats.scaled_to_zero_at is not None:  # first request after scale-to-zero
            self.stats.scaled_to_zero_at = None
            self.stats.cold_starts += 1
            self.stats.last_cold_start_ms = round(ms, 1)
            self.message += f" Cold start took {ms:.0f} ms."
        return ms

    def conform(self, inv: Invocation) -> Invocation:
        """``inv`` checked against the loaded model (call after :meth:`ready`): its rows in
        the model's column order and types (:func:`recipes.formats.conform`), its params
        checked against the params schema with the defaults filled in, undeclared ones
        dropped with MLflow's warning in the entity's log (so are undeclared columns).

        Raises:
            ApiError: 400 ``BAD_REQUEST`` naming the column or the parameter.
        """
        if self.columns is not None and len(inv.columns) > len(self.columns):
            extra = [c for c in inv.columns if c not in set(self.columns)]
            if extra:  # MLflow's schema enforcement's words: they are ignored
                self.warn(
                    "Found extra inputs in the model input that are not defined in the "
                    f"model signature: `{extra}`. These inputs will be ignored."
                )
        inv = formats.conform(inv, self.columns, self.kinds)
        if inv.params is None and self.params_schema is None:
            return inv
        params, warning = enforce_params(self.params_schema, inv.params)
        if warning:
            self.warn(warning)
        return replace(inv, params=params)

    def warn(self, message: str) -> None:
        """Log a warning about a request on ``mdk.serving`` and in the entity's log (what
        the ``logs`` API shows, beside the worker's own output)."""
        log.warning("%s/%s: %s", self.endpoint, self.spec.name, message)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with contextlib.suppress(OSError), self.log_path.open("a") as out:
            out.write(f"{stamp} WARNING mdk.serving {message}\n")

    async def predict(self, inv: Invocation, timeout: float) -> list:
        """Queue one request (checked by :meth:`conform`) and wait for its predictions (503
        after ``timeout``)."""
        self.last_used = time.monotonic()
        self.stats.requests += 1
        fut = asyncio.get_running_loop().create_future()
        self._queue.append(_Item(inv, _params_key(inv.params), fut))
        self._schedule_flush()
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise unavailable(
                f"Served entity {self.spec.name} did not answer within {timeout:g} s."
            ) from None
        finally:
            self.last_used = time.monotonic()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled and self._queue:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._inflight is not None or not self._queue or self._writer is None:
            return
        batch, rest, key = [], [], None
        for item in self._queue:
            if item.future.done():
                continue
            if item.attempts >= MAX_ATTEMPTS:
                item.future.set_exception(
                    unavailable(f"Served entity {self.spec.name} failed twice on this request.")
                )
                continue
            if not batch:
                key = item.key
            (batch if item.key == key else rest).append(item)
        self._queue = rest  # other params: the next batch, when this one is answered
        if not batch:
            return
        self._inflight = batch
        self.stats.batches += 1
        self._writer.write(protocol.pack([i.inv for i in batch]))
