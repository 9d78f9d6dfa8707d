"""Q9 · Model Signatures: a string sent where the signature declares a double, to pyfunc
and to the endpoint.
"""

from __future__ import annotations

import json

import pandas as pd

from recipes.exam.endpoints import post, typed_config, typed_model, warm
from recipes.exam.questions import Option, Outcome, Question
from recipes.formats import encode


def _schema_error(exc: BaseException) -> str:
    """MLflow's schema error, from its ``Error:`` part (the data dump before it is noise)."""
    text = " ".join(str(exc).split())
    tail = text.split("Error: ", 1)[-1]
    return f"{type(exc).__name__}: {tail[:200]}"


def q9_scenario(lab) -> dict:
    def run() -> dict:
        import mlflow
        import requests

        from recipes.data import seed_record

        name, config = typed_config(lab)
        version = lab.registered_model(name, typed_model)
        _, conn = lab.serving()
        lab.once(f"endpoint:{name}", lambda: lab.endpoint(name, config))
        bad = {**{k: float(v) for k, v in seed_record().items()}, "total_purchases": "fifteen"}
        uri = f"models:/{name}/{version}"
        schema = mlflow.models.get_model_info(uri).signature.inputs.to_dict()
        try:
            mlflow.pyfunc.load_model(uri).predict(pd.DataFrame([bad]))
            pyfunc = None
        except Exception as exc:  # noqa: BLE001 - the refusal is the evidence
            pyfunc = _schema_error(exc)
        with requests.Session() as s:
            r = post(s, conn, name, encode([bad], "dataframe_records"))
            ints = post(s, conn, name, encode([seed_record()], "dataframe_records"))
        return {
            "schema": schema,
            "pyfunc_error": pyfunc,
            "rest_status": r.status_code,
            "rest_body": r.json(),
            "ints_status": ints.status_code,
            "bad": bad,
        }

    return lab.once("q9", run)


def _q9(lab, fits_fn) -> Outcome:
    ev = q9_scenario(lab)
    body = ev["rest_body"]
    named = "total_purchases" in json.dumps(body)
    happened = (
        f"REST answered {ev['rest_status']} {body.get('error_code')}: {body.get('message', '')[:160]}; "
        f"pyfunc raised {ev['pyfunc_error'][:120] if ev['pyfunc_error'] else 'nothing'}. "
        f"No prediction was made. (JSON integers for the double columns: HTTP {ev['ints_status']}.)"
    )
    ev = {**ev, "column_named": named, "predicted": "predictions" in body}
    return Outcome(
        happened,
        fits=fits_fn(ev),
        evidence=ev,
        code='requests.post(url, json={"dataframe_records": [{"total_purchases": "fifteen", ...}]})',
    )


def q9_a(lab) -> Outcome:
    return _q9(lab, lambda ev: ev["predicted"])


def q9_b(lab) -> Outcome:
    return _q9(lab, lambda ev: ev["rest_status"] >= 500)


def q9_c(lab) -> Outcome:
    return _q9(
        lab,
        lambda ev: (
            400 <= ev["rest_status"] < 500
            and ev["column_named"]
            and ev["pyfunc_error"] is not None
            and not ev["predicted"]
        ),
    )


def q9_d(lab) -> Outcome:
    return _q9(lab, lambda ev: ev["rest_status"] == 200)


QUESTION = Question(
    order=9,
    topic="Model Signatures",
    text=(
        "A model was logged with a signature declaring its three features as double. A request "
        'sends "fifteen" as total_purchases. What happens?'
    ),
    options=(
        Option("A", "The string becomes NaN and the model predicts anyway.", q9_a),
        Option("B", "The model's own code fails on the string and the endpoint answers 500.", q9_b),
        Option(
            "C",
            "MLflow's schema enforcement refuses the input before the model runs: a 4xx "
            "from the endpoint, an MlflowException from pyfunc, naming the column.",
            q9_c,
        ),
        Option("D", "It is accepted: JSON values carry no types.", q9_d),
    ),
    answer="C",
    explanation=(
        "A signature is a contract MLflow checks on every call: columns and types are compared "
        "with it before `predict` runs, and a value that cannot become the declared type is "
        "refused with the column's name. Over REST that is a client error (400), never a 500: "
        "the request was wrong, not the model. The check is strict in places: pyfunc refuses "
        "an int64 pandas column for a double signature, while JSON integers pass over REST."
    ),
    needs=frozenset({"registry", "serving"}),
    prepare=warm("typed"),
)
