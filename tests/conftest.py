"""Shared fixtures: every test gets its own MDK_HOME and its own sqlite MLflow store.

One classic local Spark session serves the whole run (``spark``): made by
``recipes.spark.get_spark("local")`` with its own ``MDK_HOME`` (warehouse, scratch, Derby)
and with the JVM launched from an empty folder, so tests can prove that nothing lands in the
working directory. Per-test MLflow stores are unaffected: Spark keeps its folders from start-up.

The notebook tests (tests/notebooks/) use the real tracking server instead.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from xdist.scheduler import LoadFileScheduling

from recipes.target import reset_mlflow_uris, scoped_env
from tests.endpoint.server import MODEL, start_server
from tests.homes import TEST_JVM_OPTIONS, apply_env, local_env, session_shared_dir


def pytest_configure(config):
    """The session's own JVMs (``spark``, ``spark_connect``, started before any test's
    ``mdk_home``) get the tests' JVM options too; ``local_env`` sets them per test."""
    os.environ["MDK_JVM_OPTIONS"] = TEST_JVM_OPTIONS


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory) -> Path:
    """An MLflow sqlite store with every migration applied and nothing logged in it.

    Creating a sqlite store runs MLflow's ~50 schema migrations: 3-7 s here, for every test
    that touches MLflow. A copy of this file is the same store in milliseconds. It is made
    the way a test would make it (from the same working directory), so its Default
    experiment points where a fresh store's would.
    """
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("empty-store") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture(autouse=True)
def mdk_home(tmp_path, monkeypatch, empty_store):
    """A fresh MDK_HOME, with MLflow tracking and registry in sqlite under it (autouse): an
    empty, already migrated store (``empty_store``)."""
    home = tmp_path / "mdk"
    home.mkdir()
    shutil.copy(empty_store, home / "mlflow.db")
    apply_env(monkeypatch, local_env(home))  # restored after the test
    yield home
    reset_mlflow_uris()


@pytest.fixture
def mlflow_local(mdk_home):
    """MLflow pointed at the isolated store through recipes.target.use_target()."""
    from recipes.target import use_target

    return use_target("local")


@pytest.fixture(scope="session")
def _trained_store(tmp_path_factory, empty_store, worker_id):
    """A store holding "churn-predictor" v1 (baseline) and v2 (challenger), made once per test
    session: the first xdist worker that needs it trains it under a lock in the session's
    shared temporary folder, the others use it (a session fixture alone trains once per
    worker). Tests copy its ``mlflow.db``; the artifacts it names stay where they are."""
    from recipes.locks import locked
    from recipes.target import use_target
    from recipes.train import train_and_log

    shared = session_shared_dir(tmp_path_factory, worker_id, "trained-store")
    home, done = shared / "mdk", shared / "done"
    with locked(shared):
        if not done.exists():
            shutil.rmtree(home, ignore_errors=True)  # a worker that failed midway
            home.mkdir()
            shutil.copy(empty_store, home / "mlflow.db")
            with scoped_env(**local_env(home)):
                use_target("local")
                train_and_log(
                    1500, seed=0, kind="baseline", registered_model_name="churn-predictor"
                )
                train_and_log(
                    1500, seed=0, kind="challenger", registered_model_name="churn-predictor"
                )
            done.touch()
    return home


@pytest.fixture
def trained(_trained_store, mdk_home):
    """A private copy of the session store with two versions of 'churn-predictor'.

    Returns the model name. Tests may change stages and aliases freely.
    """
    from recipes.target import use_target

    shutil.copy(_trained_store / "mlflow.db", mdk_home / "mlflow.db")
    use_target("local")
    return "churn-predictor"


@pytest.fixture(scope="session")
def pyfunc_models(_trained_store) -> dict:
    """``{1: model, 2: model}``: churn-predictor of the session's trained store, loaded with
    ``mlflow.pyfunc.load_model`` (what the endpoint's answers are checked against)."""
    import mlflow.pyfunc

    uri = f"sqlite:///{_trained_store / 'mlflow.db'}"
    with scoped_env(MLFLOW_TRACKING_URI=uri, MLFLOW_REGISTRY_URI=None):
        return {v: mlflow.pyfunc.load_model(f"models:/{MODEL}/{v}") for v in (1, 2)}


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory, _trained_store):
    """One real endpoint per test process (``tests.endpoint.server.Server``) over the trained
    store, for the modules of tests/endpoint/ and tests/serving/ that only create, call and
    delete endpoints of names of their own, and never restart, stop or signal it (each such
    module overrides ``server`` with it); stopped at the end of the session."""
    srv = start_server(tmp_path_factory, _trained_store)
    try:
        yield srv
    finally:
        srv.stop()


_SPARK_FIXTURES = {"spark", "spark_run", "connect_server", "spark_connect"}
_SERVER_FIXTURES = {"server", "tracking_server", "serving_home", "served"}
_SERVER_FOLDERS = ("tests/endpoint/", "tests/serving/")  # the local endpoint and its clients


def pytest_itemcollected(item):
    """Mark what needs a JVM (``spark``) or a server process (``server``) by the fixtures a
    test uses and where it lives, so ``make check`` (``-m "not spark and not notebook and
    not server"``) never starts one. (This runs as each test is collected, before ``-m``
    selects.)

    ``make test`` distributes whole files (``--dist loadfile``), the files that share the
    session's servers as one (``pytest_xdist_make_scheduler``). ``--dist loadgroup`` would
    group them by a mark, but with pytest 9.2 and pytest-xdist 3.8 it groups nothing: xdist
    tags a grouped test by rewriting ``item._nodeid``, which pytest 9 no longer reads
    (``Node._id``).
    """
    names = set(getattr(item, "fixturenames", ()))
    if names & _SPARK_FIXTURES:
        item.add_marker(pytest.mark.spark)
    nodeid = item.nodeid.replace("\\", "/")
    if names & _SERVER_FIXTURES or any(folder in nodeid for folder in _SERVER_FOLDERS):
        item.add_marker(pytest.mark.server)


def _file(item) -> str:
    return item.nodeid.split("::")[0]


def _cost_rank(item) -> int:
    """Heaviest first: the in-order story, then the other notebook runs (the browser tier's
    JupyterLab runs notebooks in kernels too), then what starts a JVM or a server, then the rest."""
    if _file(item) == "tests/notebooks/test_story.py":
        return 0
    if item.get_closest_marker("notebook") or _file(item).startswith("tests/browser/"):
        return 1
    if item.get_closest_marker("spark") or item.get_closest_marker("server"):
        return 2
    return 3


# Files whose tests use the per-worker session servers: the Spark Connect server
# (``spark_connect``), and, for the notebooks, the tracking server and the serving endpoint
# over that server's warehouse (tests/notebooks/conftest.py). make test's scheduler gives them
# to one xdist worker as one unit, so one of each starts rather than one on every worker.
SHARED_SERVER_FILES = frozenset(
    {
        "tests/notebooks/test_register.py",
        "tests/notebooks/test_promote.py",
        "tests/notebooks/test_serve.py",
        "tests/notebooks/test_ab_split.py",
        "tests/notebooks/test_batch_score.py",
        "tests/notebooks/test_exam_calls.py",
        "tests/notebooks/test_contract.py",
        "tests/unit/test_batch_connect.py",
        "tests/unit/test_features_connect.py",
        "tests/unit/test_jvm_archive.py",
        "tests/monitoring/test_connect.py",
        "tests/notebooks/test_retrain.py",
    }
)


class SharedServersTogether(LoadFileScheduling):
    """``--dist loadfile`` with the ``SHARED_SERVER_FILES`` as one unit of work."""

    def _split_scope(self, nodeid: str) -> str:
        file = nodeid.split("::", 1)[0]
        return "shared-servers" if file in SHARED_SERVER_FILES else file


def pytest_xdist_make_scheduler(config, log):
    """``SharedServersTogether`` for ``--dist loadfile`` (pytest-xdist's ``--dist loadgroup``
    groups nothing under pytest 9: see ``pytest_itemcollected``)."""
    if config.getoption("dist") != "loadfile":
        return None
    return SharedServersTogether(config, log)


def pytest_collection_modifyitems(session, config, items):
    """Order whole files heaviest first, so ``make test`` (``--dist loadfile
    --no-loadscope-reorder``) hands the long notebook runs to the workers at the start rather
    than at the end. A file takes the rank of its heaviest test; files of equal rank and the
    tests within a file keep their collected order (the sort is stable)."""
    rank: dict[str, int] = {}
    for item in items:
        rank[_file(item)] = min(rank.get(_file(item), 3), _cost_rank(item))
    items.sort(key=lambda item: rank[_file(item)])


@pytest.fixture(scope="session")
def spark_connect(tmp_path_factory):
    """One real local Spark Connect server per test session, so per xdist worker (a free loopback port, never
    15002), with its pid file, logs and warehouse under a temporary folder; stopped by pid.

    Clients run in subprocesses (``tests.spark_connect.run_client``), each with its own
    ``MDK_HOME``, so no test reads another's tables. ``tests/unit/test_spark.py`` starts and
    stops a server of its own to prove the lifecycle.
    """
    from tests.spark_connect import start_connect_server

    server = start_connect_server(tmp_path_factory.mktemp("connect"), timeout=120)
    try:
        yield server
    finally:
        server.stop()


_SPARK_ENV = ("MDK_HOME", "MDK_SPARK_REMOTE", "SPARK_REMOTE", "MDK_SPARK_MASTER", "MDK_TARGET")


@dataclass
class SparkRun:
    """Where the session-scoped classic session keeps its files."""

    home: Path  # its MDK_HOME
    launch_dir: Path  # the (empty) working directory the JVM was started from


@pytest.fixture(scope="session")
def spark_run(tmp_path_factory) -> SparkRun:
    root = tmp_path_factory.mktemp("spark")
    home, launch = root / "mdk", root / "cwd"
    home.mkdir()
    launch.mkdir()
    return SparkRun(home, launch)


@pytest.fixture(scope="session")
def spark(spark_run):
    """The classic ``local[2]`` SparkSession from ``get_spark("local")``, stopped at the end."""
    from recipes.spark import get_spark, stop_spark

    cwd = os.getcwd()
    cleared = dict.fromkeys(_SPARK_ENV) | {"MDK_HOME": str(spark_run.home)}
    with scoped_env(**cleared):
        try:
            os.chdir(spark_run.launch_dir)
            session = get_spark("local")
        finally:
            os.chdir(cwd)
    yield session
    stop_spark()
