"""Q13 · Batch Inference: the ``env_manager`` that scores with the packages already installed
where the Spark session runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from recipes.exam.common import one_line
from recipes.exam.questions import Option, Outcome, Question


@contextlib.contextmanager
def _output_to(path: Path):
    """Send this process's file descriptors 1 and 2 to ``path`` inside the block: tools an
    env manager runs (pyenv, conda, pip) write there directly, not through Python."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _cause(log: Path, offset: int) -> str | None:
    """The line of what the env manager's tools printed that says why they failed."""
    import re

    try:
        with log.open("rb") as f:
            f.seek(offset)
            lines = f.read().decode(errors="replace").splitlines()
    except OSError:
        return None
    hits = [ln.strip() for ln in lines if re.search(r"(?i)error|could not|not found|failed", ln)]
    return hits[0][:200] if hits else None


def _env_attempt(lab, env_manager: str) -> dict:
    def run() -> dict:
        import time

        import mlflow

        from recipes.data import FEATURES, live_traffic
        from recipes.spark import describe_session

        m = lab.registry()
        spark = lab.spark()
        # MLflow refuses virtualenv/conda/uv over Spark Connect to a non-Databricks cluster
        # (mlflow/pyfunc/__init__.py, spark_udf); the session kind says which rules apply
        session = describe_session(spark)["kind"]
        uri = f"models:/{m.name}/{m.v1}"
        t0 = time.perf_counter()
        log = lab.home / "logs" / "env-managers.log"
        offset = log.stat().st_size if log.exists() else 0
        try:
            with _output_to(log):
                udf = mlflow.pyfunc.spark_udf(
                    spark, uri, env_manager=env_manager, result_type="long"
                )
                df = spark.createDataFrame(live_traffic(3, seed=13)[list(FEATURES)])
                values = [r[0] for r in df.select(udf(*FEATURES).alias("p")).collect()]
            return {
                "scored": True,
                "values": values,
                "error": None,
                "session": session,
                "seconds": round(time.perf_counter() - t0, 2),
            }
        except Exception as exc:  # noqa: BLE001 - the refusal is the evidence
            return {
                "scored": False,
                "values": None,
                "error": one_line(exc),
                "cause": _cause(log, offset),
                "session": session,
                "seconds": round(time.perf_counter() - t0, 2),
            }

    return lab.once(f"q13:{env_manager}", run)


def _q13(lab, env_manager: str, restores: bool) -> Outcome:
    r = _env_attempt(lab, env_manager)
    code = f'mlflow.pyfunc.spark_udf(spark, model_uri, env_manager="{env_manager}")'
    if r["scored"]:
        happened = (
            f"Scored {r['values']} in {r['seconds']} s"
            + (
                " after building the model's environment"
                if restores
                else ", using the packages of the session's own environment"
            )
            + "."
        )
    else:
        why = f" (its tools said: {r['cause']})" if r.get("cause") else ""
        happened = (
            f"Could not run here ({r['seconds']} s, a {r['session']} Spark session): "
            f"{r['error']}{why}"
        )
    return Outcome(
        happened,
        fits=r["scored"] and not restores,
        evidence={"env_manager": env_manager, **r},
        code=code,
        error=r["error"],
    )


def q13_a(lab) -> Outcome:
    return _q13(lab, "conda", restores=True)


def q13_b(lab) -> Outcome:
    return _q13(lab, "virtualenv", restores=True)


def q13_c(lab) -> Outcome:
    return _q13(lab, "local", restores=False)


def q13_d(lab) -> Outcome:
    return _q13(lab, "uv", restores=True)


QUESTION = Question(
    order=13,
    topic="Batch Inference",
    text=(
        "On a laptop with no conda, which `env_manager` lets `spark_udf` score with the "
        "packages already installed where the Spark session runs?"
    ),
    options=(
        Option("A", 'env_manager="conda"', q13_a),
        Option("B", 'env_manager="virtualenv"', q13_b),
        Option("C", 'env_manager="local"', q13_c),
        Option("D", 'env_manager="uv"', q13_d),
    ),
    answer="C",
    # Sources: MLflow 3.17, mlflow/pyfunc/__init__.py (spark_udf): env_manager defaults to
    # local unless prebuilt_env_uri is given; virtualenv/conda/uv are refused only "in Spark
    # Connect client environment if it connects to non-Databricks Spark cluster"; Databricks
    # Connect from your own machine requires prebuilt_env_uri; in Databricks Connect and
    # serverless notebooks conda is refused and virtualenv/uv are shipped to the UDF sandbox;
    # prebuilt_env_uri (an archive from mlflow.pyfunc.build_model_env) works in serverless and
    # standard (shared) cluster notebooks and Databricks Connect.
    explanation=(
        "`local` (the default when no prebuilt environment is given) runs the model with the "
        "Python packages of the session's own environment: nothing is built, so it is fast, "
        "and it is right when that environment matches the model's requirements. `conda`, "
        "`virtualenv` and `uv` rebuild the environment the model was logged with, on the "
        "driver and the workers, which needs that tool and network access to the package "
        "index, and takes minutes. Here they fail quickly for want of their tools or network; "
        "each says why. Where they may run depends on the session, in MLflow's `spark_udf`: "
        "over Spark Connect to a non-Databricks cluster MLflow refuses all three, so only "
        "`local` works there. On Databricks, serverless and standard-access notebooks run "
        "`virtualenv` or `uv` (`conda` is refused on serverless and over Databricks Connect), "
        "or take a prebuilt environment, `prebuilt_env_uri=` an archive made once with "
        "`mlflow.pyfunc.build_model_env`; and Databricks Connect from your own machine requires "
        "`prebuilt_env_uri` whatever the `env_manager`, `local` included."
    ),
    needs=frozenset({"registry", "spark"}),
)
