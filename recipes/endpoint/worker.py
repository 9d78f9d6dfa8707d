"""A served entity's model worker: one process per entity, isolated from the HTTP front.

On Linux the pool forks it from :mod:`recipes.endpoint.zygote`, which has imported MLflow
once (~3.3 CPU-s); elsewhere it starts as ``python -m recipes.endpoint.worker --fd N`` and
imports MLflow itself. Either way it opens the registry, says so, and waits as a warm
spare. An entity then sends it ``{"model_uri", "env"}``; it loads the model (~0.1 s
warm), sends a handshake (:func:`prepare`: its input columns, and its signature with the
params schema), then answers batches until the front closes the socket (or dies).

A batch is a list of :class:`~recipes.formats.Invocation`, rows in the model's column order
and ``params`` already checked against the params schema, defaults filled in (the front
did both). Fast path: for the ``sklearn`` flavor with named numeric columns and no params it
calls the raw estimator on one float64 array for the whole batch, which gives the same
predictions as ``pyfunc.predict`` (proved in tests) without building a DataFrame.
Everything else goes through ``pyfunc.predict(df, params=...)``. Items of one batch are
predicted together when their columns and params are equal; when that fails, each item is
retried alone so one bad request cannot fail its neighbours.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import socket
import sys
import time
import warnings

from recipes.endpoint import protocol
from recipes.formats import Invocation
from recipes.rawmodel import NO_NAMES, input_kinds, raw_estimator

log = logging.getLogger("mdk.worker")


def _jsonable(pred) -> list:
    import numpy as np
    import pandas as pd

    if isinstance(pred, pd.DataFrame):
        return pred.to_dict(orient="records")
    if isinstance(pred, pd.Series | np.ndarray):
        return pred.tolist()
    return list(pred) if not isinstance(pred, dict | str) else [pred]


class Predictor:
    """Predicts batches of :class:`~recipes.formats.Invocation` with the fast path or pyfunc."""

    def __init__(self, model, columns, kinds):
        self.model = model
        self.columns = columns
        self.estimator = raw_estimator(model, kinds) if columns else None
        self.kernel = None  # numpy arithmetic equal to the estimator's predict (see .linear)
        if self.estimator is not None:
            import warnings

            from recipes.endpoint.linear import compile_linear

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.kernel = compile_linear(self.estimator, len(columns))

    def _predict_rows(self, columns, rows, params):
        if self.estimator is not None and not params:
            import numpy as np

            X = np.asarray(rows, dtype=np.float64)
            return (self.kernel or self.estimator.predict)(X)
        import pandas as pd

        frame = pd.DataFrame(rows, columns=columns)
        return self.model.predict(frame, params=params) if params else self.model.predict(frame)

    def predict(self, items: list[Invocation]) -> list:
        """One result per item: ``("ok", predictions)`` or ``("err", status, code, msg)``."""
        first = items[0]
        if len(items) > 1 and all(
            i.columns == first.columns and i.params == first.params for i in items
        ):
            rows = [r for i in items for r in i.rows]
            try:
                out = _jsonable(self._predict_rows(first.columns, rows, first.params))
            except Exception:  # noqa: BLE001 - isolate the culprit below
                pass
            else:
                results, at = [], 0
                for i in items:
                    results.append(("ok", out[at : at + len(i.rows)]))
                    at += len(i.rows)
                return results
        return [self._one(i) for i in items]

    def _one(self, inv: Invocation):
        try:
            return ("ok", _jsonable(self._predict_rows(inv.columns, inv.rows, inv.params)))
        except Exception as exc:  # noqa: BLE001 - a model's input errors are the caller's 4xx
            code = getattr(exc, "error_code", None)
            code = code if isinstance(code, str) and code.isupper() else "BAD_REQUEST"
            msg = " ".join(str(exc).split())[:2000] or type(exc).__name__
            return ("err", 400, code, f"Model failed to predict: {type(exc).__name__}: {msg}")


def prepare(model) -> tuple[Predictor, dict]:
    """The :class:`Predictor` for a loaded pyfunc ``model``, and the handshake that
    describes it to the front: input ``columns`` and ``kinds``, whether the fast path is
    on, and ``signature`` (``ModelSignature.to_dict()``: ``inputs``, ``outputs`` and
    ``params`` as JSON strings or None; None without a signature)."""
    columns, kinds = input_kinds(model)
    predictor = Predictor(model, columns, kinds)
    signature = model.metadata.signature
    hello = {
        "ok": True,
        "columns": columns,
        "kinds": kinds,
        "fast_path": predictor.estimator is not None,
        "numpy_kernel": predictor.kernel is not None,
        "signature": signature.to_dict() if signature is not None else None,
    }
    return predictor, hello


def _load(uri: str):
    import mlflow.pyfunc

    warnings.filterwarnings("ignore", message=NO_NAMES)
    return mlflow.pyfunc.load_model(uri)


def warm_imports() -> None:
    """Import MLflow, sklearn and the registry's store modules (~3.3 CPU-s): what a fork
    server does once, so that each worker forked from it skips this."""
    import mlflow.pyfunc  # noqa: F401
    import mlflow.sklearn  # noqa: F401
    import sklearn.pipeline  # noqa: F401

    with contextlib.suppress(ImportError):
        import skops.io  # noqa: F401 - MLflow 3's sklearn format
    with contextlib.suppress(ImportError):  # a sqlite registry's store (~1 s of imports)
        import alembic.migration  # noqa: F401
        import mlflow.store.db.utils  # noqa: F401
        import mlflow.store.model_registry.sqlalchemy_store  # noqa: F401
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401
    try:
        # load_model compares the model's requirements with what is installed; the first
        # comparison maps every installed package to its modules (~0.4 s), then it is cached.
        from mlflow.utils.requirements_utils import _init_packages_to_modules_map

        _init_packages_to_modules_map()
    except Exception as exc:  # noqa: BLE001 - a private helper: only a warm-up
        log.warning("requirements warm-up skipped: %s", exc)


def warm_registry() -> None:
    """Open the registry (its connection is this process's own, never a fork server's)."""
    from mlflow import MlflowClient

    try:
        MlflowClient().search_registered_models(max_results=1)
    except Exception as exc:  # noqa: BLE001 - the registry may be down now and up later
        log.warning("registry warm-up failed: %s", exc)


def die_with_parent() -> None:
    """Live and die with the parent, not with its process group.

    Its own process group: a signal to the endpoint's group (Ctrl-C in a terminal,
    ``mdk down``) reaches the front alone, which then stops its workers in order; before,
    the workers died first and the front, seeing them crash, restarted them. Linux: SIGTERM
    when the parent dies, even while still warming up."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes
            import signal

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def serve(sock: socket.socket, warmed: float = 0.0) -> int:
    """A warm spare's life on ``sock``: open the registry, say so, wait for a model, load
    it, then answer batches until the front closes the socket. ``warmed``: seconds the
    imports took before this (0 when forked from warm imports)."""
    parent = os.getppid()
    t0 = time.perf_counter()
    warm_registry()
    warm_s = warmed + time.perf_counter() - t0
    try:
        protocol.send(sock, {"ok": True, "spare": True, "warm_seconds": warm_s, "pid": os.getpid()})
        order = protocol.recv(sock)  # {"model_uri": ..., "env": {...}}
    except (EOFError, OSError):  # the pool closed before it needed this spare
        return 0
    os.environ.update(order.get("env") or {})
    if order.get("log_path"):  # from now on, log to the entity's own file
        redirect_output(order["log_path"])
    uri = order["model_uri"]
    t0 = time.perf_counter()
    log.info("pid %d loading %s", os.getpid(), uri)
    try:
        predictor, hello = prepare(_load(uri))
    except Exception as exc:  # noqa: BLE001 - reported to the front in the handshake
        msg = " ".join(str(exc).split())[:2000]
        log.error("load failed: %s: %s", type(exc).__name__, msg)
        protocol.send(sock, {"ok": False, "error": f"{type(exc).__name__}: {msg}"})
        return 1
    load_s = time.perf_counter() - t0
    params = (hello["signature"] or {}).get("params")
    log.info(
        "ready in %.2fs; columns=%s fast_path=%s numpy_kernel=%s params=%s",
        load_s,
        hello["columns"],
        hello["fast_path"],
        hello["numpy_kernel"],
        params,
    )
    protocol.send(sock, {**hello, "load_seconds": round(load_s, 3), "pid": os.getpid()})
    while True:
        try:
            items = protocol.recv(sock)
        except (EOFError, OSError):
            log.info("front closed the connection; exiting")
            logging.shutdown()
            os._exit(0)  # skip interpreter teardown (seconds with MLflow loaded)
        if os.getppid() != parent:
            return 0
        protocol.send(sock, predictor.predict(items))


def redirect_output(path: str) -> None:
    """Send this process's stdout and stderr (fds 1 and 2) to the end of ``path``."""
    out = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)


def main(argv: list[str] | None = None) -> int:
    """One worker of its own (where fork is not used): imports, then :func:`serve`."""
    parser = argparse.ArgumentParser(prog="python -m recipes.endpoint.worker")
    parser.add_argument("--fd", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    die_with_parent()
    sock = socket.socket(fileno=args.fd)
    t0 = time.perf_counter()
    warm_imports()
    return serve(sock, warmed=time.perf_counter() - t0)


if __name__ == "__main__":
    sys.exit(main())
