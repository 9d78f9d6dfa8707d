"""Q5 · Model Loading, the study module's: the model URI of the alias approach, loaded in
three registries (see :mod:`recipes.exam.unity_catalog`).
"""

from __future__ import annotations

import pandas as pd

from recipes.exam.common import first_sentence
from recipes.exam.questions import Option, Outcome, Question
from recipes.exam.unity_catalog import load_and_predict, uc_models

Q5_FORMS = {"A": "/Production", "B": "@champion", "C": "/latest", "D": "runs"}


def _local_uri(lab, form: str) -> tuple[str, int | None]:
    m = lab.registry()
    if form == "runs":
        run_id = lab.client.get_model_version(m.name, str(m.v1)).run_id
        return f"runs:/{run_id}/model", None
    return f"models:/{m.name}{form}", None


def _load(uri: str) -> str:
    try:
        return load_and_predict(uri)
    except Exception as exc:  # noqa: BLE001 - the refusal is what the table shows
        return f"fails: {first_sentence(exc)}"


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
        return f"fails: {first_sentence(exc)}"


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


QUESTION = Question(
    order=5,
    topic="Model Loading",
    source="module",
    text=(
        "Which model URI format uses the newer alias approach (instead of stages) to load the "
        "production model?"
    ),
    options=(
        Option("A", "models:/churn-predictor/Production", q5_a),
        Option("B", "models:/churn-predictor@champion", q5_b),
        Option("C", "models:/churn-predictor/latest", q5_c),
        Option("D", "runs:/<run_id>/model", q5_d),
    ),
    answer="B",
    # Sources: MLflow 3.17, mlflow/store/artifact/utils/models.py (_parse_model_uri: the suffix
    # "latest" is parsed on purpose and means the newest version, _get_latest_model_version);
    # mlflow/store/_unity_catalog/registry/rest_store.py (get_latest_versions and stage calls
    # raise "Method ... is unsupported for models in the Unity Catalog", suggesting an alias).
    # The study module's "not a valid format" for /latest is wrong: the runs show it load.
    explanation=(
        "`@name` after the model is the alias form: it loads whatever version the alias points "
        "at, in open-source MLflow and in Unity Catalog, where aliases replace stages (the "
        "legacy workspace registry never had them: MLflow's client refuses alias calls there). "
        "`/Production` is the stage form the question contrasts it with, and Unity Catalog "
        "refuses it. C is a valid MLflow URI: MLflow parses `/latest` on purpose, as the "
        "newest version, so it loads in open-source MLflow and resolves in the workspace "
        "registry, as the runs show. It is wrong here because it names no alias, which is "
        "what the question asks for, and always takes the newest version rather than the one "
        "you promoted; and MLflow's Unity Catalog client refuses it (`get_latest_versions` is "
        "unsupported there) and points you to an alias. The study module calls it 'not a valid "
        "format': that is inaccurate. `runs:/` loads a run's files and never asks the registry."
    ),
    needs=frozenset({"registry", "uc", "spark"}),  # see runners.unity_catalog.uc_models
)
