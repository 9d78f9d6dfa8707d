"""The local endpoint in process: the real app, Manager and Entity; workers as coroutines.

:func:`serve_inproc` builds the app with :func:`recipes.endpoint.app.create_app` and drives it
with Starlette's ``TestClient`` (lifespan included). Only the worker processes are stood in
for: :class:`InprocPool` hands each entity a socketpair whose other end is a coroutine on the
same event loop that speaks the worker's protocol (``protocol.pack``/``read_message``, so each
request's :class:`~recipes.formats.Invocation` is pickled as it is for a real worker) and
predicts with the real :class:`recipes.endpoint.worker.Predictor` over a model given in
advance: a loaded pyfunc (``pyfunc_models``), or :func:`stub_model`, a pyfunc with the
churn model's columns that needs no registry and no training. No process, no port, no model
load: what only a process shows (kills, restarts, signals, the zygote) stays with the
``server`` fixture (``tests/endpoint/conftest.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from recipes.data import FEATURES
from recipes.endpoint import protocol
from recipes.endpoint.pool import Spare
from recipes.errors import not_found
from tests.endpoint.calls import EndpointCalls

TOKEN = "inproc-token"
API = "/api/2.0/serving-endpoints"


# -- models ---------------------------------------------------------------------------------
class StubImpl:
    """A model implementation: ``answer(frame, params)`` per row, and a record of its calls
    (rows and params of each ``predict``), to show what reached the model."""

    def __init__(self, answer: Callable | None = None):
        self.answer = answer or (lambda frame, params: [0] * len(frame))
        self.calls: list[tuple[int, dict | None]] = []

    def predict(self, data, params=None):
        self.calls.append((len(data), params))
        return self.answer(data, params)


def stub_model(
    *, params: dict[str, Any] | None = None, answer: Callable | None = None, signature=True
):
    """A ``PyFuncModel`` with churn-predictor's signature (three ``long`` columns), and a
    params schema inferred from ``params`` (``{name: default}``) if given; its
    ``StubImpl`` is ``model.stub``. ``signature=False``: a model without one."""
    from mlflow.models import Model, ModelSignature
    from mlflow.models.signature import infer_signature
    from mlflow.pyfunc import PyFuncModel
    from mlflow.types.schema import ColSpec, Schema

    sig = None
    if signature:
        schema = infer_signature(params=params).params if params else None
        sig = ModelSignature(
            inputs=Schema([ColSpec("long", c) for c in FEATURES]),
            outputs=Schema([ColSpec("long")]),
            params=schema,
        )
    meta = Model(signature=sig)
    meta.add_flavor("python_function", loader_module="tests.endpoint.inproc")
    impl = StubImpl(answer)
    model = PyFuncModel(model_meta=meta, model_impl=impl)
    model.stub = impl
    return model


# -- workers --------------------------------------------------------------------------------
class _Coroutine:
    """What an Entity needs of a worker process (``pid``, ``returncode``, ``wait``, ``kill``),
    for a coroutine: the pid is this process's, so nothing may signal it."""

    def __init__(self, task: asyncio.Task):
        self.task = task
        self.pid = os.getpid()

    @property
    def returncode(self) -> int | None:
        return 0 if self.task.done() else None

    async def wait(self) -> int:
        await asyncio.wait({self.task})
        return 0

    def kill(self) -> None:
        self.task.cancel()


async def _serve(reader, writer, pool: InprocPool) -> None:
    """One worker's life after the pool's handshake, as ``worker.serve`` lives it."""
    from recipes.endpoint.worker import prepare

    try:
        order = await protocol.read_message(reader)  # {"model_uri", "env", "log_path"}
        uri = order["model_uri"]
        await asyncio.sleep(pool.load_seconds.get(uri, 0.0))
        try:
            model = pool.models[uri]
            predictor, hello = prepare(model() if not hasattr(model, "predict") else model)
        except Exception as exc:  # noqa: BLE001 - reported in the handshake, as a worker does
            writer.write(protocol.pack({"ok": False, "error": f"{type(exc).__name__}: {exc}"}))
            return
        hello.update(load_seconds=pool.load_seconds.get(uri, 0.0), pid=os.getpid())
        writer.write(protocol.pack(hello))
        while True:
            items = await protocol.read_message(reader)
            writer.write(protocol.pack(predictor.predict(items)))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the front closed its end
    finally:
        writer.close()


class InprocPool:
    """A worker pool whose workers are coroutines serving given models.

    Args:
        models: ``{model_uri: model}`` (``models:/<name>/<version>``); a model may be a
            zero-argument callable that makes it. Also the registry :meth:`check_model`
            consults: an absent ``(name, version)`` is a 404, as a real registry answers.
        log_dir: where the spares' (never written) log paths point.
        load_seconds: ``{model_uri: seconds}`` a load takes (default 0), to hold a deploy
            in progress.
    """

    def __init__(
        self, models: dict[str, Any], log_dir: Path, load_seconds: dict[str, float] | None = None
    ):
        self.models = models
        self.log_dir = log_dir
        self.load_seconds = dict(load_seconds or {})
        self.tasks: set[asyncio.Task] = set()
        self.spawned = 0

    def check_model(self, name: str, version: str) -> None:
        if f"models:/{name}/{version}" not in self.models:
            raise not_found(f"Model version {name}/{version} does not exist in the registry.")

    def fill(self) -> None:
        pass

    async def take(self) -> Spare:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        reader, writer = await asyncio.open_unix_connection(sock=ours, limit=2**26)
        w_reader, w_writer = await asyncio.open_unix_connection(sock=theirs, limit=2**26)
        task = asyncio.ensure_future(_serve(w_reader, w_writer, self))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        self.spawned += 1
        log_path = self.log_dir / f"spare-inproc-{self.spawned}.log"
        return Spare(_Coroutine(task), reader, writer, log_path)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


# -- the app --------------------------------------------------------------------------------
class Inproc(EndpointCalls):
    """The app under ``TestClient``, with the helpers of ``conftest.Server`` (``api``,
    ``invoke``, ``create``, ``endpoint``, ``wait_ready``) answering ``httpx`` responses.

    Attributes:
        client: the ``TestClient`` (no default headers: pass ``headers`` for the token).
        manager: the running :class:`~recipes.endpoint.endpoints.Manager`.
        pool: the :class:`InprocPool`: add ``pool.models[uri]`` to register a model.
        home: the endpoint's ``MDK_HOME``.
    """

    token = TOKEN
    poll_seconds = 0.01

    def __init__(self, client, manager, pool: InprocPool, home: Path):
        self.client, self.manager, self.pool, self.home = client, manager, pool, home

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def request(self, method: str, path: str, **kwargs):
        return self.client.request(method, path, **kwargs)

    def api(self, method: str, path: str = "", **kwargs):
        kwargs.setdefault("headers", self.headers)
        return self.client.request(method, API + path, **kwargs)

    def post(self, path: str, body, **kwargs):
        kwargs.pop("timeout", None)
        if isinstance(body, bytes | str):
            return self.client.post(path, content=body, **kwargs)
        return self.client.post(path, json=body, **kwargs)

    def logs(self, name: str, served: str) -> str:
        resp = self.api("GET", f"/{name}/served-models/{served}/logs")
        assert resp.status_code == 200, resp.text
        return resp.json()["logs"]


@contextlib.contextmanager
def serve_inproc(
    home: Path,
    models: dict[str, Any],
    *,
    load_seconds: dict[str, float] | None = None,
    idle_seconds: float = 300.0,
    seed: int = 7,
) -> Iterator[Inproc]:
    """The endpoint app for ``home`` serving ``models`` (see :class:`InprocPool`), started
    (lifespan) and stopped around the block."""
    from fastapi.testclient import TestClient

    from recipes.endpoint.app import create_app
    from recipes.endpoint.endpoints import Manager

    pool = InprocPool(models, home / "serving" / "logs", load_seconds)
    made: list[Manager] = []

    def make_manager() -> Manager:
        manager = Manager(
            home, env={}, idle_seconds=idle_seconds, check_model=pool.check_model, seed=seed
        )
        manager.pool = pool
        made.append(manager)
        return manager

    app = create_app(home=home, token=TOKEN, make_manager=make_manager)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield Inproc(client, made[0], pool, home)
