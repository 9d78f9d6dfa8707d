"""The lab: the local stack the exam's options run on, made on demand and taken down after.

A :class:`Lab` gives each option what it needs, the first time it is asked:

- **registry**: MLflow on the local target, and a small model of its own (``exam-churn``
  v1 and v2 by default: logistic regressions that accept the seed's integers), so practice
  never moves the story's ``churn-predictor`` stages or aliases;
- **serving**: the local serving endpoint (started if it is not running) and the endpoints
  the options create, all named ``exam-*``;
- **spark**: the session :func:`recipes.spark.get_spark` gives;
- **uc**: the local workspace double (``python -m recipes.workspace``) in front of a real
  ``mlflow server``, so MLflow's own ``databricks-uc`` client runs against Unity Catalog's
  rules here. It is started for the questions that need it and stopped after them.

Everything it starts it stops, by pid, in :meth:`Lab.release` / :meth:`Lab.close` (also at
interpreter exit, as a last resort). It works on the local target only: practice never
creates anything in a workspace. Nothing happens at import time.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recipes import stack
from recipes import target as _target
from recipes.errors import KitError

LOCAL_ONLY = (
    "Exam practice runs on the local stack only (target {name!r}): it creates and deletes "
    "endpoints, versions and tables as it goes, which the kit never does in a workspace. "
    "Run it with target=local."
)
EXPERIMENT = "exam-practice"
UC_EXPERIMENT = "/Shared/mdk-exam"
MADE_BY = {"mdk.made_by": "exam"}
PIP = ["scikit-learn"]  # no requirements inference (a subprocess per logged model)
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Sizes:
    """How much each measuring option does (the tests pass :data:`SMALL`).

    Attributes:
        loop_rows: rows the driver loop (exam question 3, A) predicts one at a time.
        rest_rows, rest_batch: rows sent to the REST endpoint (3, B) and rows per request.
        spark_rows: rows ``spark_udf`` scores per timed job (3, C).
        memory_rows: the two row counts at which peak memory is measured (3, A/B/C/D).
        requests: requests per traffic split (question 4).
        idle_seconds: the scale-to-zero idle time of question 2's endpoint.
        stream_rows: rows per file landing in the streaming question's folder.
        traffic_seconds: traffic around a config update (in-flight question).
    """

    loop_rows: int = 300
    rest_rows: int = 3000
    rest_batch: int = 500
    spark_rows: int = 100_000
    memory_rows: tuple[int, int] = (25_000, 100_000)
    requests: int = 200
    idle_seconds: float = 1.0
    stream_rows: int = 200
    traffic_seconds: float = 3.0


SMALL = Sizes(
    loop_rows=100,
    rest_rows=1000,
    rest_batch=250,
    spark_rows=20_000,
    memory_rows=(5_000, 20_000),
    requests=120,
    stream_rows=50,
    traffic_seconds=2.0,
)


@dataclass(frozen=True)
class Models:
    """The lab's registered model: its name and its two versions (baseline, challenger)."""

    name: str
    v1: int
    v2: int
    experiment_id: str


@dataclass(frozen=True)
class UnityCatalog:
    """The running workspace double: its URL, bearer token and the tracking server behind it."""

    url: str
    token: str
    tracking_url: str
    pid: int


def require_local(target: str | None = None) -> _target.Target:
    """The resolved target when it is local; else one line saying practice is local only.

    Raises:
        KitError: the target is not ``local``.
    """
    t = _target.resolve(target)
    if not t.is_local:
        raise KitError(LOCAL_ONLY.format(name=t.name))
    return t


class _Tee(io.TextIOBase):
    """Collects what library code prints during an option (kept in ``Lab.printed``)."""

    def __init__(self, sink: list[str]):
        self.sink = sink

    def write(self, text: str) -> int:
        self.sink.append(text)
        return len(text)


class Lab:
    """The local stack for exam practice; see the module docstring.

    Args:
        target: must resolve to ``local`` (see :func:`require_local`).
        model_name: the registered model the options use (two versions are made if it has
            fewer); tests pass a store that has them already.
        sizes: how much the measuring options do.
        home: the lab's scratch folder; default ``$MDK_HOME/exam``.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        model_name: str = "exam-churn",
        sizes: Sizes = Sizes(),
        home: Path | str | None = None,
    ):
        self.target = require_local(target)
        self.model_name = model_name
        self.sizes = sizes
        self._home = Path(home) if home is not None else None
        self._cache: dict[str, Any] = {}
        self._endpoints: list[str] = []
        self._serving_started = False
        self._uc: UnityCatalog | None = None
        self._uc_mlflow_home: Path | None = None
        self._lock = threading.RLock()
        self.printed: list[str] = []  # what library code printed while options ran
        self._closed = False
        atexit.register(self.close)

    # ------------------------------------------------------------------ basics

    @property
    def home(self) -> Path:
        """The lab's scratch folder (made on first use)."""
        home = self._home or self.target.home / "exam"
        home.mkdir(parents=True, exist_ok=True)
        return home

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        """``make()`` the first time ``key`` is asked for, then the same value: a scenario
        that several options of one question read (one cold start, one set of rates)."""
        with self._lock:
            if key not in self._cache:
                self._cache[key] = make()
            return self._cache[key]

    def forget(self, *prefixes: str) -> None:
        """Drop cached scenarios whose key starts with one of ``prefixes``."""
        with self._lock:
            for key in [k for k in self._cache if k.startswith(prefixes)]:
                del self._cache[key]

    @contextlib.contextmanager
    def quietly(self) -> Iterator[None]:
        """Keep what libraries print (MLflow's "Successfully registered model", run links)
        out of the notebook while an option runs; it is kept in :attr:`printed`."""
        tee = _Tee(self.printed)
        with contextlib.redirect_stdout(tee), contextlib.redirect_stderr(tee):
            yield

    # ------------------------------------------------------------------ registry

    def registry(self) -> Models:
        """MLflow on the local target, with the lab's model at two versions."""
        return self.once("registry", self._make_registry)

    def _make_registry(self) -> Models:
        import mlflow

        _target.use_target(self.target.name)
        client = mlflow.MlflowClient()
        found = client.get_experiment_by_name(EXPERIMENT)
        experiment_id = (
            found.experiment_id
            if found is not None
            else client.create_experiment(
                EXPERIMENT, artifact_location=self.target.artifact_location
            )
        )
        try:
            have = sorted(
                int(mv.version)
                for mv in client.search_model_versions(f"name = '{self.model_name}'")
            )
        except mlflow.MlflowException:
            have = []
        with self.quietly():
            for k in range(len(have), 2):
                have.append(self._log_version(experiment_id, k))
        return Models(self.model_name, have[0], have[1], experiment_id)

    def _log_version(self, experiment_id: str, k: int) -> int:
        """Log and register version ``k + 1``: a logistic regression (v2 regularised harder,
        so the two answer differently) that takes integers (the kit's ``long`` signature)."""
        import mlflow

        from recipes import data, train

        df = data.make_churn(1000, seed=k)
        model = train.fit(df, kind="baseline", C=1.0 if k == 0 else 0.01)
        with mlflow.start_run(experiment_id=experiment_id, tags=MADE_BY):
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                signature=train.signature(),
                pip_requirements=PIP,
                skops_trusted_types=train.trusted_types(model) or None,
                registered_model_name=self.model_name,
            )
        return int(info.registered_model_version)

    def related(self, kind: str) -> str:
        """The name of a model made beside the lab's own, so every name follows
        ``model_name``: ``typed`` (a double signature), ``features`` (logged with feature
        lookups), ``threshold`` (a pyfunc with a ``threshold`` param over the lab's v1),
        ``workspace`` (in the workspace registry) or ``uc`` (in Unity Catalog, three
        levels: ``main.mdk.<model_name>``)."""
        if kind == "uc":
            return "main.mdk." + re.sub(r"[^a-z0-9_]", "_", self.model_name.lower())
        if kind not in ("typed", "features", "threshold", "workspace"):
            raise KitError(f"Unknown related model {kind!r}.")
        return f"{self.model_name}-{kind}"

    @property
    def client(self):
        """An ``MlflowClient`` on the lab's registry."""
        import mlflow

        self.registry()
        return mlflow.MlflowClient()

    def run_model(self, key: str, make_model: Callable[[], tuple[Any, Any]]) -> str:
        """Log a model in a run of its own (not registered) once; its ``runs:/`` URI.

        ``make_model`` returns ``(sklearn model, signature or None)``.
        """

        def log() -> str:
            import mlflow

            models = self.registry()
            model, signature = make_model()
            with mlflow.start_run(experiment_id=models.experiment_id, tags=MADE_BY) as run:
                mlflow.sklearn.log_model(
                    model, name="model", signature=signature, pip_requirements=PIP
                )
            return f"runs:/{run.info.run_id}/model"

        return self.once(f"run-model:{key}", log)

    def registered_model(self, name: str, make_model: Callable[[], tuple[Any, Any]]) -> int:
        """Register ``name`` once from ``make_model()`` (model, signature); its newest version."""

        def log() -> int:
            import mlflow

            models = self.registry()
            client = mlflow.MlflowClient()
            found = client.search_model_versions(f"name = '{name}'")
            if found:
                return max(int(mv.version) for mv in found)
            model, signature = make_model()
            with mlflow.start_run(experiment_id=models.experiment_id, tags=MADE_BY):
                info = mlflow.sklearn.log_model(
                    model,
                    name="model",
                    signature=signature,
                    pip_requirements=PIP,
                    registered_model_name=name,
                )
            return int(info.registered_model_version)

        return self.once(f"registered:{name}", log)

    # ------------------------------------------------------------------ serving

    def serving(self):
        """``(w, conn)``: a ``WorkspaceClient`` and a REST connection to the local endpoint
        (started if it is not running; stopped by :meth:`close` if the lab started it)."""

        def connect():
            from recipes.serving.client import connection, workspace_client

            self.registry()  # the endpoint reads models from the lab's store
            running = stack.read_record("serving") is not None and any(
                s.name == "serving" and s.alive for s in stack.status()
            )
            conn = connection(self.target.name)
            self._serving_started = not running
            return workspace_client(self.target.name), conn

        return self.once("serving", connect)

    def endpoint(self, name: str, config, *, tags: dict[str, str] | None = None, ai_gateway=None):
        """Endpoint ``name`` serving ``config`` (an ``EndpointCoreConfigInput``), ready.

        Created when missing (with ``ai_gateway``, an ``AiGatewayConfig`` or None); updated
        when its served entities or routes differ; left alone when they match. What
        ``ai_gateway`` asks for and the endpoint lacks is sent with ``put_ai_gateway``
        (:func:`recipes.serving.deploy.ensure_gateway`). Deleted again by :meth:`release` /
        :meth:`close`.
        """
        from databricks.sdk.errors import NotFound
        from databricks.sdk.service.serving import EndpointTag

        from recipes.serving import deploy

        w, _ = self.serving()
        if name not in self._endpoints:
            self._endpoints.append(name)
        try:
            current = w.serving_endpoints.get(name)
        except NotFound:
            current = None
        if current is not None and _updating(current):  # e.g. created by a warm-up
            current = w.serving_endpoints.wait_get_serving_endpoint_not_updating(
                name, timeout=deploy.TIMEOUT
            )
        if current is None or _shape(current.config) != _shape(config):
            deploy.ensure_endpoint(w, name, config, ai_gateway=ai_gateway)
        elif ai_gateway is not None:
            deploy.ensure_gateway(w, current, ai_gateway)
        if tags:
            w.serving_endpoints.patch(
                name=name, add_tags=[EndpointTag(key=k, value=v) for k, v in tags.items()]
            )
        return w.serving_endpoints.get(name)

    def warm_endpoint(self, name: str, config, ai_gateway=None) -> None:
        """Create endpoint ``name`` (with ``ai_gateway``, an ``AiGatewayConfig`` or None)
        without waiting for it, if it does not exist yet."""
        from databricks.sdk.errors import NotFound

        w, _ = self.serving()
        try:
            w.serving_endpoints.get(name)
            return
        except NotFound:
            pass
        if name not in self._endpoints:
            self._endpoints.append(name)
        w.serving_endpoints.create(name=name, config=config, ai_gateway=ai_gateway)  # not awaited

    def delete_endpoints(self) -> list[str]:
        """Delete the endpoints the lab made; their names."""
        from recipes.serving import deploy

        if "serving" not in self._cache:
            return []
        w, _ = self._cache["serving"]
        gone = [n for n in self._endpoints if deploy.remove_endpoint(w, n)]
        self._endpoints.clear()
        self.forget("endpoint:", "q2", "q3:rest", "q4", "q8", "q9", "q10", "q11", "q17")
        return gone

    # ------------------------------------------------------------------ spark

    def spark(self):
        """The Spark session of :func:`recipes.spark.get_spark` (local target)."""

        def make():
            from recipes.spark import get_spark

            self.registry()
            return get_spark(self.target.name)

        return self.once("spark", make)

    # ------------------------------------------------------------------ Unity Catalog

    def uc(self) -> UnityCatalog:
        """The workspace double, started if needed (with a ``mlflow server`` behind it when
        this session's tracking is not one already)."""
        with self._lock:
            if self._uc is None:
                self._uc = self._start_uc()
            return self._uc

    def _start_uc(self) -> UnityCatalog:

        from recipes.auth import token

        tracking = os.environ.get("MLFLOW_TRACKING_URI", "")
        if not tracking.startswith("http"):
            self._uc_mlflow_home = self.home / "uc-mlflow"
            tracking = stack.start_mlflow_server(home=self._uc_mlflow_home).url
        home = self.home / "uc"
        home.mkdir(parents=True, exist_ok=True)

        def command(port: int, home: Path) -> list[str]:
            return [
                *(sys.executable, "-m", "recipes.workspace", "--tracking-url", tracking),
                *("--home", str(home), "--host", stack.HOST, "--port", str(port)),
            ]

        spec = stack.ServiceSpec("double", command, marker="recipes.workspace")
        unset = {k: None for k in os.environ if k.startswith("DATABRICKS_")}
        try:
            svc = stack.start("double", home=home, spec=spec, env=unset, timeout=START_TIMEOUT)
        except stack.ServiceError as exc:
            raise KitError(f"The workspace double did not start: {exc}") from exc
        return UnityCatalog(svc.url, token(home), tracking, svc.pid)

    @contextlib.contextmanager
    def unity_catalog(self, registry: str = "databricks-uc") -> Iterator[UnityCatalog]:
        """MLflow's Databricks clients pointed at the double inside the block (tracking
        ``databricks``, the given registry), then this session's URIs and environment again.

        Args:
            registry: ``databricks-uc`` (Unity Catalog) or ``databricks`` (the workspace
                registry).
        """
        import mlflow

        uc = self.uc()
        keys = [k for k in os.environ if k.startswith("DATABRICKS_")]
        keys += [
            "MLFLOW_TRACKING_URI",
            "MLFLOW_REGISTRY_URI",
            "DATABRICKS_HOST",
            "DATABRICKS_TOKEN",
            "DATABRICKS_CONFIG_FILE",
        ]
        saved = {k: os.environ.get(k) for k in keys}
        uris = (mlflow.get_tracking_uri(), mlflow.get_registry_uri())
        cfg = self.home / "uc" / "databrickscfg"
        cfg.write_text("")  # never ~/.databrickscfg
        for k in keys:
            os.environ.pop(k, None)
        os.environ.update(
            DATABRICKS_HOST=uc.url, DATABRICKS_TOKEN=uc.token, DATABRICKS_CONFIG_FILE=str(cfg)
        )
        mlflow.set_tracking_uri("databricks")
        mlflow.set_registry_uri(registry)
        try:
            yield uc
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            mlflow.set_tracking_uri(uris[0])
            mlflow.set_registry_uri(uris[1])
            for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):  # set_*_uri exports them
                if saved[k] is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = saved[k]

    def stop_uc(self) -> int | None:
        """Stop the workspace double (and the ``mlflow server`` started for it); its pid."""
        with self._lock:
            if self._uc is None:
                return None
            pid = self._uc.pid
            stack.stop("double", home=self.home / "uc")
            if self._uc_mlflow_home is not None:
                stack.stop("mlflow", home=self._uc_mlflow_home)
                self._uc_mlflow_home = None
            self._uc = None
            self.forget("uc")
            return pid

    # ------------------------------------------------------------------ lifecycle

    def release(self, resource: str) -> None:
        """Take down what the lab started for ``resource`` (``serving`` or ``uc``); Spark
        and the registry stay (the kernel owns them)."""
        if resource == "uc":
            self.stop_uc()
        elif resource == "serving":
            self.delete_endpoints()
            if self._serving_started:
                stack.stop("serving", home=self.target.home)
                self._serving_started = False
            self.forget("serving")

    def close(self) -> None:
        """Release everything the lab started (idempotent)."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self.release("uc")
        with contextlib.suppress(Exception):
            self.release("serving")
        atexit.unregister(self.close)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _updating(endpoint) -> bool:
    state = getattr(endpoint, "state", None)
    update = getattr(getattr(state, "config_update", None), "value", None)
    return update == "IN_PROGRESS"


def _shape(config) -> tuple:
    """What makes two endpoint configs serve the same: entities and routes (the inference
    table is the endpoint's AI Gateway, not its config)."""
    if config is None:
        return ()
    entities = tuple(
        sorted(
            (e.name or "", e.entity_name, str(e.entity_version), bool(e.scale_to_zero_enabled))
            for e in (config.served_entities or [])
        )
    )
    routes = ()
    if getattr(config, "traffic_config", None) is not None:
        routes = tuple(
            sorted(
                (r.served_model_name or "", r.traffic_percentage)
                for r in config.traffic_config.routes or []
            )
        )
    return entities, routes
