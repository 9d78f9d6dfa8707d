"""Run the local serving endpoint: ``mdk serve`` (foreground) or the ``serving`` service.

The server binds 127.0.0.1 by default, reads models from the same MLflow tracking server
or store as the notebooks (``recipes.target``), keeps endpoint configs, logs and the
inference tables under ``$MDK_HOME``, and checks a bearer token (``mdk token``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from recipes.errors import ApiError, ParameterError, not_found, unavailable

HOST = "127.0.0.1"
DEFAULT_IDLE_SECONDS = 300.0


def _seconds(var: str, default: float) -> float:
    """The positive number of seconds in environment variable ``var``, else ``default``."""
    raw = os.environ.get(var)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if value <= 0:
        raise ParameterError(f"{var} must be a positive number, got {raw!r}.")
    return value


def idle_seconds_default() -> float:
    """``MDK_SERVING_IDLE_SECONDS`` or 300 s: how long an idle entity keeps its worker."""
    return _seconds("MDK_SERVING_IDLE_SECONDS", DEFAULT_IDLE_SECONDS)


def flush_seconds() -> float:
    """``MDK_CAPTURE_FLUSH_SECONDS`` or 1 s: the longest a captured request waits in memory
    before the endpoint appends it to its inference table (one Delta commit per flush)."""
    from recipes.endpoint.capture import FLUSH_SECONDS

    return _seconds("MDK_CAPTURE_FLUSH_SECONDS", FLUSH_SECONDS)


def registry_checker(tracking_uri: str, registry_uri: str):
    """A ``check_model(name, version)`` that answers 404 for an unregistered version."""
    client = None

    def check(name: str, version: str) -> None:
        nonlocal client
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException

        if client is None:
            client = MlflowClient(tracking_uri, registry_uri)
        try:
            client.get_model_version(name, version)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                raise not_found(
                    f"Model version {name}/{version} does not exist in the registry at "
                    f"{registry_uri}: register it first."
                ) from None
            raise ApiError(400, exc.error_code or "BAD_REQUEST", exc.message) from None
        except OSError as exc:
            raise unavailable(
                f"The model registry at {registry_uri} is unreachable: {exc}."
            ) from None

    return check


def build(home: Path, *, idle_seconds: float | None = None, seed: int | None = None):
    """The ASGI app for ``home``, wired to the current target's registry."""
    from recipes.auth import token
    from recipes.endpoint.app import create_app
    from recipes.endpoint.capture import CaptureWriter
    from recipes.endpoint.endpoints import Manager
    from recipes.target import resolve

    target = resolve()
    if not target.is_local:
        raise ParameterError(
            "The local serving endpoint serves the local target only: on Databricks use the "
            "workspace's Model Serving (recipes.serving.client.workspace_client)."
        )
    idle = idle_seconds if idle_seconds is not None else idle_seconds_default()
    env = {
        "MLFLOW_TRACKING_URI": target.tracking_uri,
        "MLFLOW_REGISTRY_URI": target.registry_uri,
        "MDK_HOME": str(home),
    }
    capture = CaptureWriter(home=home, flush_interval=flush_seconds())

    def make_manager() -> Manager:
        capture.start()
        return Manager(
            home,
            env=env,
            idle_seconds=idle,
            capture=capture,
            seed=seed,
            check_model=registry_checker(target.tracking_uri, target.registry_uri),
        )

    info = {
        "tracking_uri": target.tracking_uri,
        "registry_uri": target.registry_uri,
        "home": str(home),
        "idle_seconds": idle,
    }
    return create_app(
        home=home, token=token(home), make_manager=make_manager, capture=capture, info=info
    )


def serve(
    host: str = HOST,
    port: int = 8765,
    *,
    home: Path | None = None,
    idle_seconds: float | None = None,
    seed: int | None = None,
) -> None:
    """Run the endpoint in the foreground until interrupted (one uvicorn worker)."""
    import uvicorn

    from recipes.target import mdk_home

    home = Path(home) if home is not None else mdk_home()
    home.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = build(home, idle_seconds=idle_seconds, seed=seed)
    uvicorn.run(
        app,
        host=host,
        port=port,
        workers=1,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=15,
    )
