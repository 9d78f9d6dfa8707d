"""Option checks that need Unity Catalog: model URIs (Q5) and UC vs the workspace registry (Q6).

Three registries answer side by side:

- **open-source MLflow**: the lab's own registry (the local target);
- **the workspace registry**: MLflow's ``databricks`` registry client against the local
  workspace double, which passes its REST calls to a real ``mlflow server`` (the double does
  not serve that registry's file downloads, so it shows which version a URI resolves to);
- **Unity Catalog**: MLflow's ``databricks-uc`` client against the double, which applies
  Unity Catalog's rules (three-level names, no stages, no ``/latest``); MLflow's client
  completes a shorter name from the Spark session's current catalog and schema first.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile

import pandas as pd

from recipes.exam.lab import PIP, UC_EXPERIMENT
from recipes.exam.questions import Outcome


def _one_line(exc: BaseException, limit: int = 220) -> str:
    text = " ".join(str(exc).split())
    first = text.split(". ")[0]
    return f"{type(exc).__name__}: {first[:limit]}"


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


def _typed_model():
    """A churn model with the kit's typed signature (Unity Catalog requires one): the three
    whole-number features as ``long``, as every churn model of the kit has."""
    from recipes import data, train

    df = data.make_churn(1000, seed=0)
    return train.fit(df, kind="baseline"), train.signature()


def _record() -> pd.DataFrame:
    from recipes.data import seed_record

    return pd.DataFrame([seed_record()])  # the study module's JSON integers, int64


def uc_models(lab) -> dict:
    """The Unity Catalog model (with ``@champion``) and the same run registered in the
    workspace registry (in Production; MLflow's client refuses aliases there), made once per
    double."""

    def make() -> dict:
        import mlflow

        # MLflow's Unity Catalog store keeps the Spark session active when it is first made
        # (UcModelRegistryStore.__init__), to complete short names from its current catalog
        # (question 6): start the session before the store is made
        lab.spark()
        uc_model, ws_model = lab.related("uc"), lab.related("workspace")
        model, signature = _typed_model()
        with lab.unity_catalog("databricks-uc"):
            client = mlflow.MlflowClient()
            found = client.get_experiment_by_name(UC_EXPERIMENT)
            exp = found.experiment_id if found else client.create_experiment(UC_EXPERIMENT)
            with mlflow.start_run(experiment_id=exp) as run:
                info = mlflow.sklearn.log_model(
                    model,
                    name="model",
                    signature=signature,
                    pip_requirements=PIP,
                    registered_model_name=uc_model,
                )
            uc_version = int(info.registered_model_version)
            client.set_registered_model_alias(uc_model, "champion", uc_version)
        run_uri = f"runs:/{run.info.run_id}/model"
        with lab.unity_catalog("databricks"):
            client = mlflow.MlflowClient()
            mv = mlflow.register_model(run_uri, ws_model)
            ws_version = int(mv.version)
            client.transition_model_version_stage(ws_model, ws_version, "Production")
        return {
            "uc_version": uc_version,
            "ws_version": ws_version,
            "run_uri": run_uri,
            "uc_model": uc_model,
            "ws_model": ws_model,
        }

    return lab.once("uc:models", make)


# --------------------------------------------------------------------------- Q5

Q5_FORMS = {"A": "/Production", "B": "@champion", "C": "/latest", "D": "runs"}


def _local_uri(lab, form: str) -> tuple[str, int | None]:
    m = lab.registry()
    if form == "runs":
        run_id = lab.client.get_model_version(m.name, str(m.v1)).run_id
        return f"runs:/{run_id}/model", None
    return f"models:/{m.name}{form}", None


def _predict(uri: str) -> str:
    """Load ``uri`` and predict the seed record; raises what loading raises."""
    import mlflow

    pred = mlflow.pyfunc.load_model(uri).predict(_record())
    return f"loads, predicts {int(pd.Series(pred).iloc[0])}"


def _load(uri: str) -> str:
    import mlflow

    try:
        model = mlflow.pyfunc.load_model(uri)
        pred = model.predict(_record())
        return f"loads, predicts {int(pd.Series(pred).iloc[0])}"
    except Exception as exc:  # noqa: BLE001 - the refusal is what the table shows
        return f"fails: {_one_line(exc)}"


def _ws_resolve(client, form: str, ws_model: str) -> str:
    """Which version the workspace registry gives for a URI form (by its REST calls)."""
    try:
        if form == "/Production":
            found = client.get_latest_versions(ws_model, stages=["Production"])
            return f"resolves to v{found[0].version}" if found else "resolves to nothing"
        if form == "@champion":
            return f"resolves to v{client.get_model_version_by_alias(ws_model, 'champion').version}"
        if form == "/latest":
            found = client.get_latest_versions(ws_model)
            return f"resolves to v{max(int(v.version) for v in found)}"
        return "not a registry URI: the run's own files"
    except Exception as exc:  # noqa: BLE001
        return f"fails: {_one_line(exc)}"


def q5_scenario(lab) -> dict:
    """Each option's URI in the three registries (once per lab)."""

    def run() -> dict:
        import mlflow

        m = lab.registry()
        client = lab.client
        client.transition_model_version_stage(m.name, m.v2, "None")
        client.transition_model_version_stage(
            m.name, m.v1, "Production", archive_existing_versions=True
        )
        client.set_registered_model_alias(m.name, "champion", m.v1)
        made = uc_models(lab)
        rows = {}
        for letter, form in Q5_FORMS.items():
            local_uri, _ = _local_uri(lab, form)
            rows[letter] = {
                "form": form,
                "local_uri": local_uri,
                "open-source MLflow": _load(local_uri),
            }
        with lab.unity_catalog("databricks"):
            ws = mlflow.MlflowClient()
            for letter, form in Q5_FORMS.items():
                rows[letter]["workspace registry"] = _ws_resolve(ws, form, made["ws_model"])
        with lab.unity_catalog("databricks-uc"):
            for letter, form in Q5_FORMS.items():
                uri = made["run_uri"] if form == "runs" else f"models:/{made['uc_model']}{form}"
                rows[letter]["uc_uri"] = uri
                rows[letter]["Unity Catalog"] = _load(uri)
        return {"rows": rows, "v1": m.v1, "v2": m.v2, **made}

    return lab.once("uc:q5", run)


def _q5(lab, letter: str, fits: bool, note: str) -> Outcome:
    s = q5_scenario(lab)
    row = s["rows"][letter]
    table = pd.DataFrame(
        [
            {
                "registry": k,
                "uri": row["uc_uri"] if k == "Unity Catalog" else row["local_uri"],
                "result": row[k],
            }
            for k in ("open-source MLflow", "workspace registry", "Unity Catalog")
        ]
    )
    happened = (
        f"open-source MLflow: {row['open-source MLflow']}; workspace registry: "
        f"{row['workspace registry']}; Unity Catalog: {row['Unity Catalog']}. {note}"
    )
    ev = {
        "form": row["form"],
        "local": row["open-source MLflow"],
        "workspace": row["workspace registry"],
        "uc": row["Unity Catalog"],
    }
    return Outcome(
        happened,
        fits=fits,
        evidence=ev,
        table=table,
        code=f'mlflow.pyfunc.load_model("{row["local_uri"]}")',
    )


def q5_a(lab) -> Outcome:
    return _q5(lab, "A", False, "A stage URI: the legacy way the question contrasts with.")


def q5_b(lab) -> Outcome:
    s = q5_scenario(lab)
    row = s["rows"]["B"]
    ok = all(row[k].startswith("loads") for k in ("open-source MLflow", "Unity Catalog"))
    return _q5(
        lab,
        "B",
        ok,
        "The alias form loads in open-source MLflow and in Unity Catalog "
        "(the legacy workspace registry has no aliases).",
    )


def q5_c(lab) -> Outcome:
    # a valid MLflow URI (mlflow/store/artifact/utils/models.py parses "latest"): not an alias
    return _q5(
        lab,
        "C",
        False,
        "A valid MLflow URI for the newest version, not an alias: it loads and resolves "
        "where stages exist, and MLflow's Unity Catalog client refuses it.",
    )


def q5_d(lab) -> Outcome:
    return _q5(lab, "D", False, "It loads the run's files directly, bypassing the registry.")


# --------------------------------------------------------------------------- Q6


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
            return f"refused: {_one_line(exc)}"

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
            uc["load @champion"] = attempt(lambda: _predict(f"models:/{uc_model}@champion"))
            uc["/latest"] = attempt(lambda: _predict(f"models:/{uc_model}/latest"))
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
