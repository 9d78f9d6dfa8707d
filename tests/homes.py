"""The environment of a test's own ``MDK_HOME``: its sqlite store, no workspace, no remote.

Shared by the root conftest (every test), the exam lab and its lifecycle test.
"""

from __future__ import annotations

# Every local Spark JVM a test starts runs with C1 only (recipes.java.extra_jvm_options): its
# jobs take seconds on small data, where C2's compiling costs more CPU than it saves. In the
# core tiers it halved the JVMs' CPU (304 -> 160 CPU-s) and took 13 % off the wall.
TEST_JVM_OPTIONS = "-XX:TieredStopAtLevel=1"


def local_env(home, **extra: str | None) -> dict[str, str | None]:
    """Variables to set (a string) or remove (None) for ``home``, then ``extra``."""
    return {
        "MDK_HOME": str(home),
        "MDK_TARGET": "local",
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
        "MLFLOW_REGISTRY_URI": None,
        "SPARK_REMOTE": None,
        "MDK_SPARK_REMOTE": None,
        # what `eval "$(mdk workspace env)"` or a workspace's names leave in a shell
        "MDK_WORKSPACE_DOUBLE": None,
        "MDK_CATALOG": None,
        "MDK_SCHEMA": None,
        "MDK_EXPERIMENT_DIR": None,
        # use_target/connection point the SDK at the local endpoint; each test starts clean
        "DATABRICKS_HOST": None,
        "DATABRICKS_TOKEN": None,
        "DATABRICKS_CONFIG_FILE": None,
        "DATABRICKS_CONFIG_PROFILE": None,
        "MDK_JVM_OPTIONS": TEST_JVM_OPTIONS,
        **extra,
    }


def apply_env(monkeypatch, env: dict[str, str | None]) -> None:
    """Set or remove each variable through ``monkeypatch``, which restores them after."""
    for key, value in env.items():
        # setenv first, so that monkeypatch records even an absent variable and removes
        # whatever the test (or MLflow, which exports its URIs) sets there
        monkeypatch.setenv(key, value if value is not None else "")
        if value is None:
            monkeypatch.delenv(key)


def session_shared_dir(tmp_path_factory, worker_id: str, name: str):
    """A folder every pytest-xdist worker of this session shares (the controller's base
    temporary folder; the session's own without xdist), made if missing: what is built there
    under :func:`recipes.locks.locked` is built once per session, not once per worker."""
    base = tmp_path_factory.getbasetemp()
    shared = (base if worker_id == "master" else base.parent) / name
    shared.mkdir(parents=True, exist_ok=True)
    return shared
