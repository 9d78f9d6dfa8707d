"""Q6 · Unity Catalog: what changes in a team's code when its models move from the workspace
registry to Unity Catalog. The same moves run against both (see
:mod:`recipes.exam.unity_catalog`).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile

import pandas as pd

from recipes.exam.common import first_sentence
from recipes.exam.questions import Option, Outcome, Question
from recipes.exam.unity_catalog import load_and_predict, uc_models


@contextlib.contextmanager
def hive_metastore_current():
    """Inside the block, the active Spark session's current catalog is ``spark_catalog`` (the
    Hive metastore), as on a cluster without Unity Catalog; then its own again.

    MLflow's Unity Catalog client completes a one- or two-part model name from the active
    Spark session's current catalog and schema (``mlflow.utils._unity_catalog_utils.
    get_full_name_from_sc``), and leaves it short, so that Unity Catalog refuses it, when there
    is no session or its catalog is ``spark_catalog`` / ``hive_metastore``. Local sessions'
    current catalog is ``main`` (Delta, as a Unity Catalog workspace's), so the refusal is
    shown under the second premise.
    """
    pyspark_sql = sys.modules.get("pyspark.sql")
    spark = pyspark_sql.SparkSession.getActiveSession() if pyspark_sql else None
    if spark is None:
        yield
        return
    current = spark.catalog.currentCatalog()
    spark.catalog.setCurrentCatalog("spark_catalog")
    try:
        yield
    finally:
        spark.catalog.setCurrentCatalog(current)


SHORT_MAIN_ONE = "one-part name, current catalog main"

SHORT_MAIN_TWO = "two-part name, current catalog main"

SHORT_HIVE = "two-part name, Hive metastore current"


def q6_scenario(lab) -> dict:
    """The same moves against the workspace registry and Unity Catalog (once per lab).

    Short names are registered in Unity Catalog twice over: with the local session's current
    catalog (``main``, Delta, as a Unity Catalog workspace's), which MLflow's client completes
    them from, and with the Hive metastore current, where it sends them as they are
    (``mlflow.utils._unity_catalog_utils.get_full_name_from_sc``).
    """

    def attempt(fn) -> str:
        try:
            out = fn()
            return f"ok{'' if out is None else f': {out}'}"
        except Exception as exc:  # noqa: BLE001 - the refusal is the evidence
            return f"refused: {first_sentence(exc)}"

    def run() -> dict:
        import mlflow

        made = uc_models(lab)
        spark = lab.spark()
        current = f"{spark.catalog.currentCatalog()}.{spark.catalog.currentDatabase()}"
        uc_model, ws_model = made["uc_model"], made["ws_model"]
        short = uc_model.split(".")[-1] + "_short"

        def register(name: str, source: str) -> str:
            mv = mlflow.register_model(source, name)
            return f"{mv.name} v{mv.version}"

        out: dict[str, dict[str, str]] = {"workspace registry": {}, "Unity Catalog": {}}
        with lab.unity_catalog("databricks"):
            c = mlflow.MlflowClient()
            ws = out["workspace registry"]
            ws["one-part name"] = attempt(lambda: register(ws_model, made["run_uri"]))
            ws["stage transition"] = attempt(
                lambda: (
                    c.transition_model_version_stage(
                        ws_model, made["ws_version"], "Staging"
                    ).current_stage
                )
            )
            ws["alias"] = attempt(
                lambda: c.set_registered_model_alias(ws_model, "champion", made["ws_version"])
            )
            ws["/latest"] = attempt(
                lambda: f"v{max(int(v.version) for v in c.get_latest_versions(ws_model))}"
            )
        with lab.unity_catalog("databricks-uc"), tempfile.TemporaryDirectory(dir=lab.home) as tmp:
            c = mlflow.MlflowClient()
            uc = out["Unity Catalog"]
            # Registered from a local copy of the run's model: MLflow 3.17's Unity Catalog
            # store, given a models:/ source, deletes the directory it downloaded it to
            # (UcModelRegistryStore._local_model_dir), which, with the double's local artifact
            # store, is the logged model's own directory; a second registration of the run
            # then finds nothing. A workspace's artifacts are remote, so there it is a copy.
            local = mlflow.artifacts.download_artifacts(made["run_uri"], dst_path=tmp)
            uc[SHORT_MAIN_ONE] = attempt(lambda: register(short, local))
            uc[SHORT_MAIN_TWO] = attempt(lambda: register(f"mdk.{short}", local))
            with hive_metastore_current():
                uc[SHORT_HIVE] = attempt(lambda: register(f"mdk.{short}", local))
            uc["three-level name"] = attempt(
                lambda: f"v{c.get_model_version(uc_model, str(made['uc_version'])).version}"
            )
            uc["stage transition"] = attempt(
                lambda: c.transition_model_version_stage(uc_model, made["uc_version"], "Staging")
            )
            uc["alias"] = attempt(
                lambda: c.set_registered_model_alias(uc_model, "champion", made["uc_version"])
            )
            uc["load @champion"] = attempt(lambda: load_and_predict(f"models:/{uc_model}@champion"))
            uc["/latest"] = attempt(lambda: load_and_predict(f"models:/{uc_model}/latest"))
        return {**out, "current": current, "short": short}

    return lab.once("uc:q6", run)


def _q6_table(s: dict) -> pd.DataFrame:
    moves = list(dict.fromkeys([*s["Unity Catalog"], *s["workspace registry"]]))
    return pd.DataFrame(
        [
            {
                "move": k,
                "workspace registry": s["workspace registry"].get(k, "-"),
                "Unity Catalog": s["Unity Catalog"].get(k, "-"),
            }
            for k in moves
        ]
    )


def _ok(text: str) -> bool:
    return text.startswith("ok") and "fails:" not in text


def _q6(lab, fits_fn, happened_fn) -> Outcome:
    s = q6_scenario(lab)
    uc, ws = s["Unity Catalog"], s["workspace registry"]
    ev = {
        "uc": uc,
        "ws": ws,
        "uc_ok": {k: _ok(v) for k, v in uc.items()},
        "ws_ok": {k: _ok(v) for k, v in ws.items()},
        "current": s["current"],
        "short": s["short"],
    }
    return Outcome(happened_fn(ev), fits=fits_fn(ev), evidence=ev, table=_q6_table(s))


def q6_a(lab) -> Outcome:
    def happened(ev):
        uc, ok = ev["uc"], ev["uc_ok"]
        refused = [k for k in ("stage transition", "/latest") if not ok[k]]
        took = [k for k in refused if ev["ws_ok"][k]]

        def shown(key: str) -> str:
            return uc[key].removeprefix("ok: ").split(", got")[0]

        return (
            f"With the session's current catalog and schema {ev['current']}, MLflow completed "
            f"the short names: {ev['short']} → {shown(SHORT_MAIN_ONE)}, mdk.{ev['short']} → "
            f"{shown(SHORT_MAIN_TWO)}. With the Hive metastore current, mdk.{ev['short']} was "
            f"sent as it is: {shown(SHORT_HIVE)}. "
            f"Unity Catalog refused {' and '.join(refused) or 'nothing else'}"
            f"{', which the workspace registry took' if took else ''} (the table below has "
            "each refusal's message)."
        )

    return _q6(
        lab,
        lambda ev: all(ev["uc_ok"][k] for k in (SHORT_HIVE, "stage transition", "/latest")),
        happened,
    )


def q6_b(lab) -> Outcome:
    return _q6(
        lab,
        lambda ev: (
            ev["uc_ok"]["three-level name"]
            and ev["uc_ok"]["alias"]
            and ev["uc_ok"]["load @champion"]
            and not ev["uc_ok"]["stage transition"]
        ),
        lambda ev: (
            f"{ev['uc_ok']['three-level name'] and 'The three-level name registered'}, @champion "
            f"was set and loaded ({ev['uc']['load @champion']}), and the stage call was refused: "
            "aliases are how Unity Catalog marks a version for deployment."
        ),
    )


def q6_c(lab) -> Outcome:
    return _q6(
        lab,
        lambda ev: ev["uc_ok"]["stage transition"],
        lambda ev: (
            f"With the three-level name, the stage transition was {ev['uc']['stage transition']}"
        ),
    )


def q6_d(lab) -> Outcome:
    return _q6(
        lab,
        lambda ev: ev["uc_ok"]["/latest"] and not ev["uc_ok"]["alias"],
        lambda ev: (
            f"The workspace registry {ev['ws']['alias'][:70]}…; Unity Catalog set the alias "
            f"({ev['uc']['alias']}) and loaded @champion ({ev['uc']['load @champion']}), while "
            f"/latest {ev['uc']['/latest']}"
        ),
    )


QUESTION = Question(
    order=6,
    topic="Unity Catalog",
    text=(
        "A team moves its models from the workspace model registry to Unity Catalog "
        '(`mlflow.set_registry_uri("databricks-uc")`). What must change in its code?'
    ),
    options=(
        Option(
            "A", "Nothing: the same model names, stage transitions and URIs keep working.", q6_a
        ),
        Option(
            "B",
            "Models get three-level names (catalog.schema.model), and aliases such as "
            "@champion replace stages.",
            q6_b,
        ),
        Option(
            "C", "Stages stay; only the model name gains the catalog and schema in front.", q6_c
        ),
        Option(
            "D",
            "Aliases exist only in the workspace registry, so deployments load "
            "models:/<name>/latest instead.",
            q6_d,
        ),
    ),
    answer="B",
    # Sources: MLflow 3.17, mlflow/utils/_unity_catalog_utils.py (get_full_name_from_sc:
    # a one- or two-part name is completed from the active Spark session's current catalog
    # and schema, and left short, so that Unity Catalog refuses it, when there is no session
    # or the current catalog is spark_catalog / hive_metastore), called by every method of
    # mlflow/store/_unity_catalog/registry/rest_store.py; the same store refuses stage
    # transitions and get_latest_versions (_raise_unsupported_method).
    explanation=(
        "Unity Catalog governs models like tables: a model lives in a schema of a catalog, so "
        "its full name has three parts, `catalog.schema.model`. MLflow's Unity Catalog client "
        "completes a shorter one from the Spark session's current catalog and schema "
        "(`schema.model` becomes `<current catalog>.schema.model`), so a short name works on a "
        "cluster whose current catalog is in Unity Catalog; without a Spark session, or with "
        "the Hive metastore as the current catalog, it is sent as it is and refused. Write "
        "three parts and the name means the same everywhere. Unity Catalog has no stages at "
        "all: `transition_model_version_stage` is refused whatever the name (so C fails), and "
        "so is `/latest`. What it offers instead are aliases, which the workspace registry "
        "never had (MLflow's client refuses alias calls there, so D has it backwards): set "
        "`@champion` on a version and load `models:/<catalog>.<schema>.<model>@champion`."
    ),
    needs=frozenset({"registry", "uc", "spark"}),
)
