"""``mdk workspace up|down|status|env``: the local workspace double and its parts, in the background.

``up`` starts four processes, each on a free 127.0.0.1 port, each recorded with its pid:

- ``mlflow``: a real ``mlflow server`` (sqlite, one worker, job execution off) whose new
  experiments keep their artifacts behind the double (:func:`.proxy.run_artifacts_root`);
- ``serving``: the kit's serving endpoint (``python -m recipes.endpoint``), loading models
  from the double's Unity Catalog registry as a client would (``databricks-uc``);
- ``spark``: a Spark Connect server (:mod:`recipes.spark_connect`), which databricks-connect's
  ``DatabricksSession`` reaches through ``SPARK_REMOTE``;
- ``double``: the one loopback host clients see (``python -m recipes.workspace``), routing
  to the other three (see :mod:`.app`).

``down`` stops them by pid (:func:`recipes.stack.stop`, and the Spark server's pid file).
``env`` gives the variables a client needs; nothing else is read: ``DATABRICKS_CONFIG_FILE``
points at a profile under the workspace's folder, so ``~/.databrickscfg`` never is.

Everything lives under ``$MDK_HOME/workspace/``: ``workspace.json`` (the ports), ``run/`` and
``logs/`` (records and logs; ``logs/workspace-requests.jsonl`` lists every request the double
answered), ``mlflow.db`` and ``mlartifacts/`` (tracking), ``uc/`` (the registry),
``serving/`` (endpoint configs, monitors and the token that is ``DATABRICKS_TOKEN``),
``warehouse/`` (inference tables), ``spark/`` (the Spark server's pid file, logs and
warehouse) and ``databrickscfg``.

The double's port stays the same from one ``up`` to the next: the run artifacts' URIs that
the tracking server stores name it.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from recipes import auth, stack, workspace_names
from recipes.errors import KitError
from recipes.jsonfile import write_json
from recipes.target import SDK_CONFIG_FILE, WORKSPACE_DOUBLE_VAR, mdk_home
from recipes.workspace.proxy import run_artifacts_root

FOLDER = "workspace"
STATE = "workspace.json"
SERVICES = ("mlflow", "serving", "spark", "double")  # start order; stopped in reverse
SPARK = "spark"
START_TIMEOUT = 120.0
NOT_RUNNING = "The workspace double is not running: start it with `mdk workspace up`."

#: Variables that would make a Databricks client look elsewhere or authenticate otherwise
#: (``env`` unsets them): a profile, a cluster or serverless, OAuth, basic auth.
CONFLICTING = (
    "DATABRICKS_CONFIG_PROFILE",
    "DATABRICKS_CLUSTER_ID",
    "DATABRICKS_SERVERLESS_COMPUTE_ID",
    "DATABRICKS_CLIENT_ID",
    "DATABRICKS_CLIENT_SECRET",
    "DATABRICKS_AUTH_TYPE",
    "DATABRICKS_USERNAME",
    "DATABRICKS_PASSWORD",
    "DATABRICKS_ACCOUNT_ID",
    "DATABRICKS_WORKSPACE_ID",
    "DATABRICKS_METADATA_SERVICE_URL",
)


@dataclass(frozen=True)
class Workspace:
    """A running workspace double.

    Attributes:
        home: its folder, ``$MDK_HOME/workspace``.
        host: the double's URL, ``DATABRICKS_HOST``.
        token: ``DATABRICKS_TOKEN``.
        spark_remote: the Spark Connect URL (``sc://127.0.0.1:<port>``), or None without Spark.
    """

    home: Path
    host: str
    token: str
    spark_remote: str | None

    @property
    def config_file(self) -> Path:
        return self.home / SDK_CONFIG_FILE

    def env(self) -> dict[str, str]:
        """What a client needs, in the order ``mdk workspace env`` prints it."""
        out = {
            "DATABRICKS_HOST": self.host,
            "DATABRICKS_TOKEN": self.token,
            "DATABRICKS_CONFIG_FILE": str(self.config_file),
            "MLFLOW_TRACKING_URI": "databricks",
            "MLFLOW_REGISTRY_URI": "databricks-uc",
            # the kit keeps tables in the double's warehouse (recipes.target.workspace_double)
            WORKSPACE_DOUBLE_VAR: str(self.home),
        }
        if self.spark_remote:
            # DatabricksSession.builder.getOrCreate() reads SPARK_REMOTE; the kit's get_spark
            # prefers MDK_SPARK_REMOTE, which must not point elsewhere
            out |= {"SPARK_REMOTE": self.spark_remote, "MDK_SPARK_REMOTE": self.spark_remote}
        return out


def workspace_home(home: Path | str | None = None) -> Path:
    """``<MDK_HOME>/workspace`` (``home`` is an MDK_HOME; default :func:`mdk_home`)."""
    return (Path(home).expanduser().resolve() if home is not None else mdk_home()) / FOLDER


def _token(ws: Path) -> str:
    return auth.token(ws, from_env=False)


def _read_state(ws: Path) -> dict:
    try:
        return json.loads((ws / STATE).read_text())
    except (OSError, ValueError):
        return {}


def _write_state(ws: Path, state: dict) -> None:
    write_json(ws / STATE, state)


def _write_profile(ws: Path, host: str, token: str) -> Path:
    """``databrickscfg``: a DEFAULT profile for the double (mode 0600)."""
    path = ws / SDK_CONFIG_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(f"[DEFAULT]\nhost = {host}\ntoken = {token}\n")
    return path


# ----------------------------------------------------------------------------- the processes


def tracking_spec(double_url: str) -> stack.ServiceSpec:
    """The double's ``mlflow server``: new experiments' artifacts go through the double."""
    command = partial(stack.mlflow_command, default_artifact_root=run_artifacts_root(double_url))
    base = stack.SERVICES["mlflow"]
    return stack.ServiceSpec("mlflow", command, marker=base.marker, env=dict(base.env))


def start_tracking(
    ws: Path, double_url: str, port: int | None = None, timeout: float = START_TIMEOUT
) -> stack.Service:
    """Start the double's tracking server under ``ws`` (see :func:`tracking_spec`)."""
    return stack.start(
        "mlflow", port=port, home=ws, timeout=timeout, spec=tracking_spec(double_url)
    )


def _client_env(ws: Path, double_url: str, token: str) -> dict[str, str | None]:
    """A process that reaches the double as a Databricks client: only through these."""
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("DATABRICKS_")}
    env.update(
        DATABRICKS_HOST=double_url,
        DATABRICKS_TOKEN=token,
        DATABRICKS_CONFIG_FILE=str(ws / SDK_CONFIG_FILE),
        MLFLOW_TRACKING_URI="databricks",
        MLFLOW_REGISTRY_URI="databricks-uc",
        MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false",
    )
    return env


def _double_spec(tracking_url: str, serving_url: str) -> stack.ServiceSpec:
    def command(port: int, home: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            "recipes.workspace",
            "--tracking-url",
            tracking_url,
            "--serving-url",
            serving_url,
            "--home",
            str(home),
            "--host",
            stack.HOST,
            "--port",
            str(port),
        ]

    return stack.ServiceSpec("double", command, marker="recipes.workspace")


# ----------------------------------------------------------------------------- verbs


def up(
    home: Path | str | None = None,
    *,
    port: int | None = None,
    spark: bool = True,
    timeout: float = START_TIMEOUT,
) -> Workspace:
    """Start the workspace double and its parts (idempotent: a healthy one is returned as is).

    Args:
        home: the MDK_HOME (default :func:`mdk_home`); state goes to its ``workspace/``.
        port: the double's port; default the one it had before, else a free one.
        spark: also start a Spark Connect server (~10 s, ~1 GB).
        timeout: seconds each part may take to become ready.

    Raises:
        ServiceError: a part did not start (all parts are stopped again), or the port is taken.
    """
    ws = workspace_home(home)
    ws.mkdir(parents=True, exist_ok=True)
    state = _read_state(ws)
    running = {s.name: s for s in status(home)}
    wanted = [n for n in SERVICES if spark or n != SPARK]
    if all(running[n].healthy for n in wanted) and (spark or not running[SPARK].alive):
        return connection(home)
    down(home)  # a partial stack: start again from nothing
    double_port = port or state.get("double_port") or stack.free_port()
    if stack.port_in_use(double_port):
        raise stack.ServiceError(
            f"Port {double_port} is in use: the workspace double keeps its port, since the run "
            "artifacts it stored name it; free it, or pass --port to use another (runs logged "
            "before then lose their artifacts)."
        )
    double_url = f"http://{stack.HOST}:{double_port}"
    token = _token(ws)
    _write_profile(ws, double_url, token)
    ports = {n: stack.free_port() for n in ("mlflow", "serving")}
    ports[SPARK] = stack.free_port() if spark else None
    _write_state(ws, {"double_port": double_port})
    client = _client_env(ws, double_url, token)
    spark_url = f"sc://{stack.HOST}:{ports[SPARK]}" if spark else None
    serving_env = client | {
        "MDK_TARGET": "local",
        "MDK_SERVING_TOKEN": token,
        "MDK_SPARK_REMOTE": spark_url,
        "SPARK_REMOTE": None,
    }

    # the server resolves catalog.schema.table itself (Delta Lake and the kit's catalog),
    # over the double's warehouse, where its endpoint writes the inference tables (and
    # system.serving.served_entities, which names their served entities)
    catalogs = [
        workspace_names.for_target("databricks").catalog,
        workspace_names.DEFAULT_CATALOG,
        "system",
    ]

    def start_spark():
        extra = {k: v for k, v in client.items() if v is not None} | {"MDK_HOME": str(ws)}
        spec = stack.spark_spec(warehouse=ws / "warehouse", catalogs=catalogs, extra_env=extra)
        return stack.start(SPARK, port=ports[SPARK], home=ws, timeout=timeout, spec=spec)

    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            spark_job = pool.submit(start_spark) if spark else None
            tracking = pool.submit(start_tracking, ws, double_url, ports["mlflow"], timeout)
            serving = pool.submit(
                stack.start,
                "serving",
                port=ports["serving"],
                home=ws,
                timeout=timeout,
                env=serving_env,
            )
            tracking_url, serving_url = tracking.result().url, serving.result().url
            stack.start(
                "double",
                port=double_port,
                home=ws,
                timeout=timeout,
                spec=_double_spec(tracking_url, serving_url),
                env={"MDK_SERVING_TOKEN": token},
            )
            if spark_job is not None:
                spark_job.result()
    except BaseException:
        down(home)
        raise
    return Workspace(ws, double_url, token, spark_url)


def connection(home: Path | str | None = None) -> Workspace:
    """The running workspace double.

    Raises:
        KitError: it is not running (see :data:`NOT_RUNNING`).
    """
    ws = workspace_home(home)
    double = stack.service_status("double", ws, health_path="/health")
    if not double.alive:
        raise KitError(NOT_RUNNING)
    spark = stack.service_status(SPARK, ws)
    return Workspace(ws, double.url, _token(ws), spark.url if spark.alive else None)


def env(home: Path | str | None = None) -> dict[str, str]:
    """The variables a client needs to use the running double (see :meth:`Workspace.env`)."""
    return connection(home).env()


def export_lines(values: dict[str, str]) -> str:
    """``unset`` for :data:`CONFLICTING`, then one ``export NAME=value`` line per variable."""
    lines = ["unset " + " ".join(CONFLICTING)]
    lines += [f"export {k}={shlex.quote(v)}" for k, v in values.items()]
    return "\n".join(lines)


def status(home: Path | str | None = None) -> list[stack.ServiceStatus]:
    """One row per part, in start order, recorded or not."""
    ws = workspace_home(home)
    return [stack.service_status(name, ws) for name in SERVICES]


def down(home: Path | str | None = None) -> dict[str, int | None]:
    """Stop every part by its recorded pid; returns ``{part: pid stopped or None}``."""
    ws = workspace_home(home)
    with ThreadPoolExecutor(max_workers=len(SERVICES)) as pool:  # each waits for its own exit
        jobs = {name: pool.submit(stack.stop, name, ws) for name in reversed(SERVICES)}
        return {name: job.result() for name, job in jobs.items()}
