"""Q17 · Model Serving: a request's ``params`` against the signature's params schema, on
the endpoint and in ``pyfunc.predict``.
"""

from __future__ import annotations

import time

import pandas as pd

from recipes.exam.endpoints import THRESHOLD, endpoint, live_records, post, threshold_version, warm
from recipes.exam.questions import Option, Outcome, Question
from recipes.formats import encode

LOWER = 0.3  # the threshold question 17's request sends (the schema's default is 0.5)

UNKNOWN = "cutoff"  # a param name the threshold model's schema does not declare

WARNING = "Unrecognized params"  # how MLflow's warning about such names begins

_Q17_REQUESTS = {
    "params": f"params {{threshold: {LOWER}}}",
    "none": "no params",
    "column": f"threshold: {LOWER} as a column in each record",
    "string": f'params {{threshold: "{LOWER}"}} (a string)',
    "unknown": f"params {{threshold: {LOWER}, {UNKNOWN}: 0.9}}",
}


def _q17_bodies(records: list[dict]) -> dict[str, dict]:
    def body(params=None, rows=records):
        return encode(rows, "dataframe_records", params=params)

    return {
        "params": body({"threshold": LOWER}),
        "none": body(),
        "column": body(rows=[{**r, "threshold": LOWER} for r in records]),
        "string": body({"threshold": str(LOWER)}),
        "unknown": body({"threshold": LOWER, UNKNOWN: 0.9}),
    }


def _log_line(w, name: str, served: str, needle: str, timeout: float = 10) -> str | None:
    """The served entity's first log line holding ``needle``, from ``needle`` on (waits a
    little: a worker writes its log as it answers)."""
    deadline = time.monotonic() + timeout
    while True:
        logs = w.serving_endpoints.logs(name, served).logs or ""
        found = next((ln for ln in logs.splitlines() if needle in ln), None)
        if found or time.monotonic() > deadline:
            return found[found.index(needle) :].strip() if found else None
        time.sleep(0.2)


def q17_scenario(lab) -> dict:
    """Five requests to ``exam-threshold`` (the threshold as params, none, as a column, as a
    string, beside an unknown name), against ``pyfunc.predict`` with and without params (once)."""

    def run() -> dict:
        import inspect

        import mlflow
        import requests

        w, conn = lab.serving()
        name = endpoint(lab, "threshold")
        uri = f"models:/{lab.related('threshold')}/{threshold_version(lab)}"
        records = live_records(12, seed=8)
        model = mlflow.pyfunc.load_model(uri)
        frame = pd.DataFrame(records)
        want = {
            "default": model.predict(frame).tolist(),
            "lower": model.predict(frame, params={"threshold": LOWER}).tolist(),
        }
        spec = model.metadata.get_params_schema().params
        schema = [(p.name, p.dtype.name, p.default) for p in spec]
        answers = {}
        with requests.Session() as s:
            for key, body in _q17_bodies(records).items():
                r = post(s, conn, name, body)
                out = r.json()
                answers[key] = {
                    "status": r.status_code,
                    "predictions": out.get("predictions"),
                    "error_code": out.get("error_code"),
                    "message": out.get("message"),
                }
        for a in answers.values():
            a["as_lower"] = a["predictions"] == want["lower"]
            a["as_default"] = a["predictions"] == want["default"]
        query_args = list(inspect.signature(w.serving_endpoints.query).parameters)
        return {
            "uri": uri,
            "endpoint": name,
            "rows": len(records),
            "schema": schema,
            "want": want,
            "answers": answers,
            "differ": want["lower"] != want["default"],
            "string_names_threshold": "threshold" in (answers["string"]["message"] or ""),
            "warning": _log_line(w, name, "threshold", f"{WARNING} ['{UNKNOWN}']"),
            "sdk_query_args": query_args,
            "sdk_query_has_params": "params" in query_args,
        }

    return lab.once("q17", run)


def _q17_table(s: dict) -> pd.DataFrame:
    rows = []
    for key, text in _Q17_REQUESTS.items():
        a = s["answers"][key]
        ok = a["status"] == 200
        rows.append(
            {
                "request": text,
                "HTTP": a["status"],
                "answered 1": f"{sum(a['predictions'])} of {s['rows']}" if ok else a["error_code"],
                f"= predict(params={{threshold: {LOWER}}})": a["as_lower"] if ok else None,
                "= predict() (default 0.5)": a["as_default"] if ok else None,
            }
        )
    return pd.DataFrame(rows)


def _q17(lab, fits_fn, tail_fn, body: str, error_of: str | None = None) -> Outcome:
    """One option of question 17: the shared scenario, ``fits_fn`` and ``tail_fn`` of it, the
    request ``body`` the option sends, and ``error_of``: the request whose refusal is the
    option's own error."""
    s = q17_scenario(lab)
    a, want = s["answers"], s["want"]
    happened = (
        f"With params {{threshold: {LOWER}}}: HTTP {a['params']['status']}, "
        f"{sum(a['params']['predictions'] or [])} of {s['rows']} rows answered 1, "
        f"{'the same as' if a['params']['as_lower'] else 'unlike'} "
        f"pyfunc.predict(df, params={{'threshold': {LOWER}}}) ({sum(want['lower'])}); "
        f"the default 0.5 gives {sum(want['default'])}, and the request without params got "
        f"{'those' if a['none']['as_default'] else 'other'} answers. {tail_fn(s)}"
    )
    code = f'requests.post(conn.invocations_url("{THRESHOLD}"), headers=conn.headers, json={body})'
    error = a[error_of]["message"] if error_of and a[error_of]["status"] != 200 else None
    return Outcome(
        happened,
        fits=fits_fn(s),
        evidence=dict(s),
        code=code,
        table=_q17_table(s),
        table_title="each request against pyfunc.predict",
        error=error,
    )


_PARAMS_BODY = f'{{"dataframe_records": records, "params": {{"threshold": {LOWER}}}}}'


def _got(s: dict, request: str, answers: str) -> bool:
    """Whether ``request`` (a key of :data:`_Q17_REQUESTS`) was answered (HTTP 200) with
    the ``answers`` of pyfunc: ``lower`` (params 0.3) or ``default``."""
    a = s["answers"][request]
    return a["status"] == 200 and a[f"as_{answers}"]


def q17_a(lab) -> Outcome:
    def tail(s):
        if _got(s, "params", "default"):
            return "The default applied."
        return "The params were not ignored: the answers moved with the threshold."

    return _q17(lab, lambda s: _got(s, "params", "default"), tail, _PARAMS_BODY)


def q17_b(lab) -> Outcome:
    def tail(s):
        c = s["answers"]["column"]
        got = (
            "the default's answers"
            if c["as_default"]
            else f"the {LOWER} answers"
            if c["as_lower"]
            else "other answers"
        )
        return (
            f"As a column: HTTP {c['status']} with {got}: the signature declares no such "
            "input column, so it is dropped; the params field is what carries a "
            "threshold."
        )

    body = f'{{"dataframe_records": [{{**record, "threshold": {LOWER}}} for record in records]}}'
    return _q17(lab, lambda s: _got(s, "column", "lower"), tail, body)


def q17_c(lab) -> Outcome:
    def tail(s):
        u, bad = s["answers"]["unknown"], s["answers"]["string"]
        return (
            f'A string "{LOWER}" is refused: HTTP {bad["status"]} {bad["error_code"]}. '
            f"An undeclared name ({UNKNOWN}) is dropped (HTTP {u['status']}"
            f"{f', the {LOWER} answers' if u['as_lower'] else ''}), and the served entity's "
            f"logs say: {(s['warning'] or 'nothing').split('. ')[0]}. The SDK's "
            "w.serving_endpoints.query has "
            f"{'a' if s['sdk_query_has_params'] else 'no'} params argument."
        )

    def fits(s):
        return (
            _got(s, "params", "lower")
            and s["differ"]
            and s["answers"]["string"]["status"] == 400
            and s["string_names_threshold"]
        )

    return _q17(lab, fits, tail, _PARAMS_BODY)


def q17_d(lab) -> Outcome:
    def tail(s):
        bad = s["answers"]["string"]
        return (
            f'The string "{LOWER}": HTTP {bad["status"]} {bad["error_code"]}: '
            f"{(bad['message'] or '')[:200]}"
        )

    body = f'{{"dataframe_records": records, "params": {{"threshold": "{LOWER}"}}}}'
    return _q17(lab, lambda s: _got(s, "string", "lower"), tail, body, error_of="string")


QUESTION = Question(
    order=17,
    topic="Model Serving",
    text=(
        "A custom pyfunc's signature declares a `threshold` parameter (double, default 0.5). "
        'A request to its serving endpoint sends `{"dataframe_records": [...], "params": '
        '{"threshold": 0.3}}`. What happens?'
    ),
    options=(
        Option(
            "A",
            "Serving ignores `params`: the model runs with the default threshold, 0.5.",
            q17_a,
        ),
        Option(
            "B",
            "`params` is for `pyfunc.predict` only; over REST the threshold must travel inside "
            'each record, as a column: `{"dataframe_records": [{..., "threshold": 0.3}]}`.',
            q17_b,
        ),
        Option(
            "C",
            "The endpoint checks 0.3 against the signature's params schema and passes it to the "
            'model: the answers are those of `pyfunc.predict(df, params={"threshold": 0.3})`, '
            "not the default's.",
            q17_c,
        ),
        Option(
            "D",
            "The endpoint passes it on, converted to the declared double, so a string works as "
            'well: `"params": {"threshold": "0.3"}` gives the same answers.',
            q17_d,
        ),
    ),
    answer="C",
    explanation=(
        'A params schema (`infer_signature(X, y, params={"threshold": 0.5})`) makes inference '
        "parameters part of the model's contract, beside its input columns. Model Serving takes "
        "`params` as a top-level field next to any of the four input formats, checks it as "
        "`pyfunc.predict(df, params=...)` does, fills in the default for what the request "
        "leaves out, and calls the model with it: one version, a threshold chosen per request. "
        'The check does not convert: `"0.3"`, a string for a double, is a 400 that names '
        "`threshold`. A name the schema does not declare is dropped with MLflow's warning "
        '("Unrecognized params [...] are ignored for inference"), which you find in the served '
        "entity's logs (`w.serving_endpoints.logs(name, served_model_name)`), not in the "
        "response. A `threshold` column is no parameter: the input check keeps the declared "
        "columns only, so the default applies and the response does not say so. The "
        "databricks-sdk's `w.serving_endpoints.query` has no `params` argument (its "
        "`extra_params` is for external and foundation models), so post the body yourself, with "
        '`requests.post(url, headers=..., json=body)` or `w.api_client.do("POST", '
        'f"/serving-endpoints/{name}/invocations", body=body)`.'
    ),
    needs=frozenset({"registry", "serving"}),
    prepare=warm("threshold"),
)
