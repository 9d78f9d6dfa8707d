"""Where things run: ``local`` (the embedded default) or ``databricks``.

Everything that differs between a laptop and a workspace is decided here, once:
``MDK_HOME``, the MLflow tracking and registry URIs, and the experiment path. Nothing
happens at import time; :func:`use_target` is the one call that configures MLflow.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from recipes import workspace_names
from recipes.errors import KitError, ParameterError

TARGETS = ("local", "databricks")
DEFAULT_EXPERIMENT = "churn-predictor"


@dataclass(frozen=True)
class Target:
    """A resolved target.

    Attributes:
        name: ``"local"`` or ``"databricks"``.
        home: ``MDK_HOME``, where all local state lives.
        tracking_uri: the MLflow tracking URI.
        registry_uri: the MLflow model-registry URI.
        artifact_location: where new experiments keep artifacts (local sqlite only).
    """

    name: str
    home: Path
    tracking_uri: str
    registry_uri: str
    artifact_location: str | None

    @property
    def is_local(self) -> bool:
        return self.name == "local"

    @property
    def unity_catalog(self) -> bool:
        """True when the registry is Unity Catalog, which has aliases but no stages."""
        return self.registry_uri.startswith("databricks-uc")

    def experiment_path(self, name: str = DEFAULT_EXPERIMENT) -> str:
        """The experiment name for this target: on a workspace, an absolute path under
        ``MDK_EXPERIMENT_DIR`` (default ``/Shared/mdk``; see :mod:`recipes.workspace_names`)."""
        return workspace_names.for_target(self.name).experiment(name)


def repo_root() -> Path:
    """The kit's checkout (the folder holding ``pyproject.toml``)."""
    return Path(__file__).resolve().parent.parent


def mdk_home() -> Path:
    """``$MDK_HOME`` or ``.mdk/`` at the repo root. Not created here."""
    env = os.environ.get("MDK_HOME")
    return Path(env).expanduser().resolve() if env else repo_root() / ".mdk"


#: Set by ``mdk workspace env``: the local workspace double's folder (``$MDK_HOME/workspace``).
WORKSPACE_DOUBLE_VAR = "MDK_WORKSPACE_DOUBLE"


def workspace_double() -> Path | None:
    """On the databricks target against the local workspace double, the double's folder.

    ``mdk workspace env`` exports ``MDK_WORKSPACE_DOUBLE``. The double's tables are in its
    own warehouse (:func:`recipes.tables.names.warehouse`), where its endpoint writes the
    inference tables and its Spark Connect server's catalog finds them; what the double
    does not imitate (the Feature Store) is told apart by this. None on a real workspace
    and locally.
    """
    value = os.environ.get(WORKSPACE_DOUBLE_VAR, "").strip()
    if not value or resolve().name != "databricks":
        return None
    return Path(value).expanduser().resolve()


def resolve(target: str | None = None) -> Target:
    """Resolve a target from the argument, else ``MDK_TARGET``, else ``local``.

    Args:
        target: ``"local"``, ``"databricks"`` or None for the environment's choice.

    Raises:
        ParameterError: for an unknown target name.
    """
    name = (target or os.environ.get("MDK_TARGET") or "local").strip().lower()
    if name not in TARGETS:
        raise ParameterError(
            f"Unknown target {name!r}: use one of {', '.join(TARGETS)} "
            "(parameter `target` or env MDK_TARGET)."
        )
    home = mdk_home()
    if name == "databricks":
        registry = (
            "databricks"
            if os.environ.get("MDK_REGISTRY", "uc").lower() == "workspace"
            else "databricks-uc"
        )
        return Target(name, home, "databricks", registry, None)
    tracking = os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home / 'mlflow.db'}"
    registry = os.environ.get("MLFLOW_REGISTRY_URI") or tracking
    artifacts = (home / "mlartifacts").as_uri() if tracking.startswith("sqlite:") else None
    return Target(name, home, tracking, registry, artifacts)


def databricks_config(retry_timeout_seconds: int = 30, **options):
    """The Databricks SDK's unified auth config, or one line saying how to provide it.

    Args:
        retry_timeout_seconds: how long the SDK retries a failing call (its default is 300 s).
        **options: further ``Config`` attributes, e.g. ``http_timeout_seconds``.

    Raises:
        KitError: when no host and credentials are configured (env or ``~/.databrickscfg``).
    """
    try:
        from databricks.sdk.core import Config
    except ImportError:  # pragma: no cover - databricks-sdk is a core dependency
        raise KitError('databricks-sdk is missing: pip install -e ".[databricks]".') from None
    try:
        return Config(retry_timeout_seconds=retry_timeout_seconds, **options)
    except ValueError as exc:
        raise KitError(
            "No Databricks credentials for target 'databricks': set DATABRICKS_HOST and "
            "DATABRICKS_TOKEN, or a ~/.databrickscfg profile via DATABRICKS_CONFIG_PROFILE "
            f"(SDK: {str(exc).split('.')[0]})."
        ) from None


SDK_CONFIG_FILE = "databrickscfg"


def isolate_sdk(home: Path, *, host: str | None = None, token: str | None = None) -> Path:
    """Locally, make a bare ``WorkspaceClient()`` in this process reach only the local endpoint.

    The study module writes ``w = WorkspaceClient()``. With a DEFAULT profile in
    ``~/.databrickscfg`` or ``DATABRICKS_*`` variables set for a day job, that call would
    create and delete endpoints in a real workspace. So on the local target every
    ``DATABRICKS_*`` variable is dropped from this process's environment, and
    ``DATABRICKS_CONFIG_FILE`` points at ``$MDK_HOME/databrickscfg``: empty until the local
    endpoint is known, then a DEFAULT profile for it (``host`` and ``token``, mode 0600), with
    ``DATABRICKS_HOST``/``DATABRICKS_TOKEN`` set to the same. Returns the config file's path.
    """
    for key in [k for k in os.environ if k.startswith("DATABRICKS_")]:
        del os.environ[key]
    home.mkdir(parents=True, exist_ok=True)
    path = home / SDK_CONFIG_FILE
    text = f"[DEFAULT]\nhost = {host}\ntoken = {token}\n" if host and token else ""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.environ["DATABRICKS_CONFIG_FILE"] = str(path)
    if text:
        os.environ["DATABRICKS_HOST"] = host
        os.environ["DATABRICKS_TOKEN"] = token
    return path


_deferred: dict[str, str] = {}  # MLFLOW_EXPERIMENT_NAME as _defer_experiment set it


def _defer_experiment(path: str) -> None:
    """Let MLflow create the experiment ``path`` with the process's first run, not now.

    MLflow's fluent API creates ``MLFLOW_EXPERIMENT_NAME`` when ``start_run`` finds no active
    experiment; one selected earlier in this process must not win, so it is forgotten.
    """
    import mlflow.tracking.fluent as fluent

    os.environ["MLFLOW_EXPERIMENT_NAME"] = _deferred["name"] = path
    os.environ.pop("MLFLOW_EXPERIMENT_ID", None)
    fluent._active_experiment_id = None  # no public call unsets it


def _forget_deferred() -> None:
    if _deferred and os.environ.get("MLFLOW_EXPERIMENT_NAME") == _deferred.pop("name"):
        del os.environ["MLFLOW_EXPERIMENT_NAME"]


def use_target(target: str | None = None, experiment: str = DEFAULT_EXPERIMENT) -> Target:
    """Point MLflow at the target and select the experiment.

    The resolved target becomes the process's ``MDK_TARGET``, so every later
    :func:`resolve` without an argument agrees with it.

    Locally a missing experiment is created at once. On a workspace nothing is written here:
    a missing experiment is created by MLflow with the first run (01 makes runs), so a
    notebook that only reads (02-06 checking their prerequisites) leaves no trace.

    Args:
        target: see :func:`resolve`.
        experiment: experiment name; on Databricks it is placed under ``MDK_EXPERIMENT_DIR``.

    Returns:
        The resolved :class:`Target`.
    """
    import mlflow

    from recipes.quiet import quiet_outputs

    t = resolve(target)
    quiet_outputs(t.home)  # library chatter to $MDK_HOME/logs/, not the notebook
    if t.is_local:
        t.home.mkdir(parents=True, exist_ok=True)
        if not os.environ.get("DATABRICKS_HOST", "").startswith("http://127.0.0.1"):
            isolate_sdk(t.home)  # a bare WorkspaceClient() must not reach a real workspace
    else:
        databricks_config()
    mlflow.set_tracking_uri(t.tracking_uri)
    mlflow.set_registry_uri(t.registry_uri)
    # The notebook's `target` parameter holds for the rest of the process, as MLflow's URIs
    # do: recipes that resolve() without an argument (bootstrap's local-only guard, the
    # tables layer, UC's name checks) must see it, not an unset MDK_TARGET meaning local.
    os.environ["MDK_TARGET"] = t.name
    path = t.experiment_path(experiment)
    client = mlflow.MlflowClient()
    found = client.get_experiment_by_name(path)
    if (
        found is not None
        and found.artifact_location.startswith("mlflow-artifacts:")
        and not t.tracking_uri.startswith("http")
    ):
        raise KitError(
            f"Experiment {path!r} keeps its artifacts behind an MLflow server (mlflow-artifacts:/), "
            "which a direct sqlite client cannot reach: run `mdk up` and export the "
            "MLFLOW_TRACKING_URI it prints, or use another MDK_HOME."
        )
    _forget_deferred()
    if found is None and not t.is_local:
        _defer_experiment(path)
        return t
    if found is None:
        try:
            client.create_experiment(path, artifact_location=t.artifact_location)
        except mlflow.MlflowException as exc:  # another process created it first
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
    mlflow.set_experiment(path)
    return t


def reset_mlflow_uris() -> None:
    """Forget the process-wide tracking and registry URIs set by :func:`use_target`.

    ``mlflow.set_registry_uri`` also writes ``MLFLOW_REGISTRY_URI`` into the environment (for
    subprocesses) and ``set_registry_uri(None)`` leaves it there, so it is removed here too:
    otherwise a server started later from this process would read a stale registry.
    """
    import mlflow

    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    os.environ.pop("MLFLOW_REGISTRY_URI", None)


def _apply_env(values: dict[str, str | None]) -> None:
    for k, v in values.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@contextmanager
def scoped_env(**values: str | None) -> Iterator[None]:
    """Set (or, with None, unset) environment variables inside the block, then restore them.

    Also resets MLflow's process-wide tracking and registry URIs on the way out, since
    ``mlflow.set_tracking_uri`` writes ``MLFLOW_TRACKING_URI`` into the environment.
    """
    saved = {k: os.environ.get(k) for k in (*values, "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    _apply_env(values)
    try:
        yield
    finally:
        reset_mlflow_uris()
        _apply_env(saved)
