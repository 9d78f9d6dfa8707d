"""Option checks on the local serving endpoint: scale-to-zero (Q2), traffic splitting (Q4),
request formats (Q8), signature enforcement (Q9), in-flight requests during a config update
(Q10), the inference table (Q11: the AI Gateway's, and the legacy call Databricks refuses)
and a request's ``params`` (Q17).

Every endpoint is created through the databricks-sdk as on a workspace, named ``exam-*``, and
deleted again when the lab releases serving.
"""

from __future__ import annotations

import json
import random
import time
import uuid
import zlib

import pandas as pd

from recipes.exam.lab import MADE_BY
from recipes.exam.questions import Outcome

SPLIT = {"champion": 90, "challenger": 10}
CAPTURE_SCHEMA = ("main", "exam")


def _entity(name: str, model: str, version: int, *, scale_to_zero: bool = False):
    from databricks.sdk.service.serving import ServedEntityInput

    return ServedEntityInput(
        name=name,
        entity_name=model,
        entity_version=str(version),
        workload_size="Small",
        scale_to_zero_enabled=scale_to_zero,
    )


def _config(endpoint: str, *entities, routes=None):
    from databricks.sdk.service.serving import EndpointCoreConfigInput, Route, TrafficConfig

    traffic = None
    if routes:
        traffic = TrafficConfig(
            routes=[Route(served_model_name=n, traffic_percentage=p) for n, p in routes.items()]
        )
    return EndpointCoreConfigInput(
        name=endpoint, served_entities=list(entities), traffic_config=traffic
    )


def _gateway(endpoint: str):
    """The AI Gateway with the inference table :func:`payload_table` names."""
    from databricks.sdk.service.serving import AiGatewayConfig, AiGatewayInferenceTableConfig

    return AiGatewayConfig(
        inference_table_config=AiGatewayInferenceTableConfig(
            catalog_name=CAPTURE_SCHEMA[0],
            schema_name=CAPTURE_SCHEMA[1],
            table_name_prefix=endpoint.replace("-", "_"),
            enabled=True,
        )
    )


CHAMPION, CHALLENGER, AB = "exam-champion", "exam-challenger", "exam-ab"
THRESHOLD = "exam-threshold"
KEEP_WARM = "300"  # exam-champion's idle time outside question 2 (seconds)


def _champion_config(lab):
    """``exam-champion``: v1 alone, with scale-to-zero on (question 2 idles it)."""
    m = lab.registry()
    return CHAMPION, _config(CHAMPION, _entity(f"v{m.v1}", m.name, m.v1, scale_to_zero=True))


def _challenger_config(lab):
    m = lab.registry()
    return CHALLENGER, _config(CHALLENGER, _entity(f"v{m.v2}", m.name, m.v2))


def _ab_config(lab):
    m = lab.registry()
    return AB, _config(
        AB, _entity("champion", m.name, m.v1), _entity("challenger", m.name, m.v2), routes=SPLIT
    )


def threshold_version(lab) -> int:
    """The lab's threshold model (``<model_name>-threshold``): a
    :class:`~recipes.threshold_model.ThresholdClassifier` over the lab's v1, whose signature
    declares ``threshold`` (double, default 0.5), logged and registered once; its version."""
    name = lab.related("threshold")

    def log() -> int:
        import mlflow

        from recipes.threshold_model import log_threshold_model

        m = lab.registry()
        found = mlflow.MlflowClient().search_model_versions(f"name = '{name}'")
        if found:
            return max(int(mv.version) for mv in found)
        with mlflow.start_run(experiment_id=m.experiment_id, tags=MADE_BY):
            info = log_threshold_model(
                f"models:/{m.name}/{m.v1}", name="model", registered_model_name=name
            )
        return int(info.registered_model_version)

    return lab.once(f"registered:{name}", log)


def _threshold_config(lab):
    """``exam-threshold``: the threshold model alone (question 17)."""
    version = threshold_version(lab)
    return THRESHOLD, _config(THRESHOLD, _entity("threshold", lab.related("threshold"), version))


_CONFIGS = {
    "champion": _champion_config,
    "challenger": _challenger_config,
    "ab": _ab_config,
    "threshold": _threshold_config,
}
LOGGED = frozenset({"ab"})  # the endpoints created with an AI Gateway inference table


def endpoint(lab, key: str) -> str:
    """The lab's endpoint ``key`` (``champion``, ``challenger``, ``ab``, ``threshold``) as
    the questions expect it, made or put back once per lab (question 10 moves
    ``exam-champion`` to v2)."""
    name, config = _CONFIGS[key](lab)
    tags = {"mdk_idle_seconds": KEEP_WARM} if key == "champion" else None
    gateway = _gateway(name) if key in LOGGED else None
    lab.once(f"endpoint:{name}", lambda: lab.endpoint(name, config, tags=tags, ai_gateway=gateway))
    return name


def warm(*which: str):
    """A ``prepare`` hook creating the named endpoints without waiting (``champion``,
    ``challenger``, ``ab``, ``typed``, ``threshold``); the ``typed`` and ``threshold`` models
    are registered first."""

    def prepare(lab) -> None:
        for key in which:
            name, config = _typed_config(lab) if key == "typed" else _CONFIGS[key](lab)
            lab.warm_endpoint(name, config, ai_gateway=_gateway(name) if key in LOGGED else None)

    return prepare


def payload_table(endpoint: str) -> str:
    return f"{CAPTURE_SCHEMA[0]}.{CAPTURE_SCHEMA[1]}.{endpoint.replace('-', '_')}_payload"


def _post(session, conn, endpoint: str, body: dict, timeout: float = 60):
    return session.post(
        conn.invocations_url(endpoint), headers=conn.headers, json=body, timeout=timeout
    )


def _records(n: int, seed: int = 5) -> list[dict]:
    from recipes.data import FEATURES, live_traffic

    return live_traffic(n, seed=seed)[list(FEATURES)].to_dict(orient="records")


# --------------------------------------------------------------------------- Q2


def q2_scenario(lab) -> dict:
    """A scale-to-zero endpoint left idle past its idle time, then one request (once)."""

    def run() -> dict:
        from recipes.data import seed_record
        from recipes.serving import deploy, probe

        w, conn = lab.serving()
        name, idle = endpoint(lab, "champion"), lab.sizes.idle_seconds
        deploy.set_idle_seconds(w, name, idle)
        try:
            cold = probe.cold_start(w, conn, name, seed_record(), idle_seconds=idle)
        finally:
            deploy.set_idle_seconds(w, name, int(KEEP_WARM))
        after = w.serving_endpoints.get(name)
        entity = after.config.served_entities[0]
        return {
            "cold": cold,
            "scaled_to_zero": cold.scaled_to_zero,
            "status": cold.status,
            "cold_ms": cold.cold_ms,
            "warm_ms": cold.warm_ms,
            "server_cold_start_ms": cold.server_cold_start_ms,
            "idle_seconds": cold.idle_seconds,
            "exists_after": after.name == name,
            "version_after": int(entity.entity_version),
            "ready_after": after.state.ready.value if after.state and after.state.ready else None,
            "client_timeout_s": 300,
            "restarted_by_us": False,
        }

    return lab.once("q2", run)


def _q2_outcome(lab, fits: bool, tail: str, code: str | None = None) -> Outcome:
    from recipes.exam.cold_start import POLICY
    from recipes.serving import probe

    scenario = q2_scenario(lab)
    cold = scenario["cold"]
    # the client's side on Databricks (recipes.exam.cold_start cites the documentation)
    ev = {**{k: v for k, v in scenario.items() if k != "cold"}, "client_retry": POLICY.as_dict()}
    happened = (
        f"After {ev['idle_seconds']:.1f} s idle the worker was "
        f"{'stopped (scaled to zero)' if ev['scaled_to_zero'] else 'still up'}; the next request "
        f"got HTTP {ev['status']} in {ev['cold_ms']:,.0f} ms against {ev['warm_ms']:,.1f} ms warm. {tail}"
    )
    figure = lab.once("q2:figure", lambda: probe.plot_latency(cold))
    return Outcome(happened, fits=fits, evidence=ev, table=cold.frame(), figure=figure, code=code)


def _unit(ms: float) -> str:
    """How long a wait was, in words: ``milliseconds``, ``seconds`` or ``minutes``."""
    return "milliseconds" if ms < 1000 else "seconds" if ms < 60_000 else "minutes"


def q2_a(lab) -> Outcome:
    ev = q2_scenario(lab)
    timed_out = ev["status"] != 200 or ev["cold_ms"] >= ev["client_timeout_s"] * 1000
    return _q2_outcome(
        lab,
        timed_out,
        "No timeout here: the request waited for the worker and got its answer. On Databricks "
        "this first request can fail (HTTP 555, or the client's own timeout) while the entity "
        "scales up, and the endpoint comes up all the same: a client retries it.",
    )


def q2_b(lab) -> Outcome:
    from recipes.exam.cold_start import POLICY

    ev = q2_scenario(lab)
    # the server timed a cold start for that request (a worker had to load the model)
    fits = (
        ev["scaled_to_zero"]
        and ev["status"] == 200
        and bool(ev["server_cold_start_ms"])
        and ev["cold_ms"] > ev["warm_ms"]
    )
    return _q2_outcome(
        lab,
        fits,
        f"Scaled up from zero, paid a cold start of {_unit(ev['cold_ms'])} (a small model, "
        "loaded by a local worker), then served. On Databricks the same wait is far longer and "
        "the first "
        f"attempt can get HTTP 555: the client below retries on {list(POLICY.statuses)} and on "
        f"a timeout, {POLICY.attempts} times with backoff.",
        code=POLICY.code(),
    )


def q2_c(lab) -> Outcome:
    ev = q2_scenario(lab)
    return _q2_outcome(
        lab, ev["status"] != 200, "Nobody restarted anything: the request itself woke the worker."
    )


def q2_d(lab) -> Outcome:
    ev = q2_scenario(lab)
    return _q2_outcome(
        lab,
        not ev["exists_after"],
        f"The endpoint still exists ({ev['ready_after']}, v{ev['version_after']}): idling scales "
        "the compute to zero, never the endpoint itself.",
    )


# --------------------------------------------------------------------------- Q4


def _served_by(responses) -> pd.Series:
    return pd.Series([r for r in responses if r], dtype=object).value_counts().sort_index()


def _counts(series: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in series.items()}


def _split_table(counts: pd.Series, expected: dict[str, int]) -> pd.DataFrame:
    from recipes.serving import traffic

    return traffic.compare_split(counts, expected)


def q4_a(lab) -> Outcome:
    """Two endpoints and a router you write: 90 % to one, 10 % to the other."""
    import requests

    _, conn = lab.serving()
    one, two = endpoint(lab, "champion"), endpoint(lab, "challenger")
    rng = random.Random(4)
    answered = []
    with requests.Session() as s:
        for rec in _records(lab.sizes.requests):
            target = one if rng.random() < 0.9 else two
            r = _post(s, conn, target, {"dataframe_records": [rec]})
            answered.append(target if r.status_code == 200 else None)
    counts = _served_by(answered)
    table = _split_table(counts, {one: 90, two: 10})
    code = (
        'endpoint = "exam-champion" if random.random() < 0.9 else "exam-challenger"; '
        "requests.post(...)"
    )
    return Outcome(
        f"It works: {_counts(counts)} of {len(answered)} requests. But the split lives in your "
        "client: two endpoints to run, and no single place that sees, captures or moves the split.",
        fits=False,
        evidence={"counts": _counts(counts), "endpoints": 2, "split_owner": "client"},
        code=code,
        table=table,
    )


def q4_b(lab) -> Outcome:
    from recipes.serving import traffic

    w, conn = lab.serving()
    name = endpoint(lab, "ab")
    sent = traffic.send(conn, name, lab.sizes.requests, concurrency=2, seed=3)
    counts = sent.split()
    table = traffic.compare_split(counts, SPLIT)
    routes = traffic.routes(w.serving_endpoints.get(name))
    fig = traffic.plot_split(routes, by_header=table)
    code = (
        "EndpointCoreConfigInput(served_entities=[champion, challenger], traffic_config="
        'TrafficConfig(routes=[Route("champion", 90), Route("challenger", 10)]))'
    )
    return Outcome(
        f"One endpoint, one URL: {_counts(counts)} of {sent.sent} answers by the served-model-name "
        f"header, within tolerance of the configured {routes}.",
        fits=bool(table["within"].all()) and sent.failed == 0,
        evidence={
            "counts": _counts(counts),
            "routes": routes,
            "failed": sent.failed,
            "within": bool(table["within"].all()),
            "endpoints": 1,
        },
        code=code,
        table=table,
        figure=fig,
    )


def q4_c(lab) -> Outcome:
    """Stages in the registry, then traffic: the endpoint answers as before."""
    import requests
    from databricks.sdk.errors import DatabricksError

    m = lab.registry()
    w, conn = lab.serving()
    name = endpoint(lab, "champion")
    client = lab.client
    client.transition_model_version_stage(m.name, m.v2, "Staging")
    client.transition_model_version_stage(m.name, m.v1, "Production")
    with requests.Session() as s:
        answered = [
            r.headers.get("served-model-name") if r.status_code == 200 else None
            for r in (
                _post(s, conn, name, {"dataframe_records": [rec]})
                for rec in _records(lab.sizes.requests // 2)
            )
        ]
    counts = _served_by(answered)
    try:  # an endpoint names versions; a stage is not one
        w.serving_endpoints.create(
            name="exam-by-stage",
            config=_config("exam-by-stage", _entity("staging", m.name, "Staging")),
        )
        refused = None
        lab._endpoints.append("exam-by-stage")
    except DatabricksError as exc:
        refused = " ".join(str(exc).split())[:200]
    return Outcome(
        f"v{m.v2} is in Staging and v{m.v1} in Production, and the endpoint's answers did not "
        f"change: {_counts(counts)}. Serving a stage is refused too ({refused or 'accepted'}). "
        "Stages label versions; they route no traffic.",
        fits=False,
        evidence={
            "counts": _counts(counts),
            "stages": {m.v1: "Production", m.v2: "Staging"},
            "stage_entity_refused": refused is not None,
            "refusal": refused,
        },
        code=f'client.transition_model_version_stage("{m.name}", {m.v2}, "Staging")',
    )


def q4_d(lab) -> Outcome:
    """A feature flag in the app: 10 % of users (by a hash of their id) see the new model."""
    import requests

    _, conn = lab.serving()
    one, two = endpoint(lab, "champion"), endpoint(lab, "challenger")
    users = [f"user-{i}" for i in range(lab.sizes.requests)]
    flag = {u: zlib.crc32(u.encode()) % 100 < 10 for u in users}
    answered = []
    with requests.Session() as s:
        for u, rec in zip(users, _records(len(users)), strict=True):
            target = two if flag[u] else one
            r = _post(s, conn, target, {"dataframe_records": [rec]})
            answered.append(target if r.status_code == 200 else None)
        again = []  # the same users come back: the flag sends each where it went before
        for u, rec in zip(users[:20], _records(20), strict=True):
            target = two if flag[u] else one
            r = _post(s, conn, target, {"dataframe_records": [rec]})
            again.append(target if r.status_code == 200 else None)
    counts = _served_by(answered)
    sticky = again == answered[:20]
    return Outcome(
        f"It works and is sticky per user: {_counts(counts)}. But the flag, the two endpoints and "
        "the bookkeeping are all in your application; the serving endpoint knows nothing of it.",
        fits=False,
        evidence={
            "counts": _counts(counts),
            "endpoints": 2,
            "sticky": sticky,
            "split_owner": "application",
        },
        code='endpoint = "exam-challenger" if crc32(user_id) % 100 < 10 else "exam-champion"',
        table=_split_table(counts, {one: 90, two: 10}),
    )


# --------------------------------------------------------------------------- Q8 formats


def _bodies(records: list[dict]) -> dict[str, dict]:
    columns = list(records[0])
    return {
        "A": {"dataframe_records": records},
        "B": {
            "dataframe_split": {
                "columns": columns,
                "data": [[r[c] for c in columns] for r in records],
            }
        },
        "C": {"instances": records},
        "D": {"inputs": {c: [r[c] for r in records] for c in columns}},
    }


def _layout(body: dict) -> str:
    ((key, value),) = body.items()
    if isinstance(value, dict) and "data" in value:
        return "rows (a columns header, then one list of values per row)"
    if isinstance(value, dict):
        return "columns (one list per feature)"
    return "rows (one object per row)"


def q8_scenario(lab) -> dict:
    def run() -> dict:
        import requests

        _, conn = lab.serving()
        name = endpoint(lab, "champion")
        records = _records(3, seed=8)  # JSON integers, as the long signature takes them
        out = {}
        with requests.Session() as s:
            for letter, body in _bodies(records).items():
                r = _post(s, conn, name, body)
                out[letter] = {
                    "body": body,
                    "status": r.status_code,
                    "predictions": r.json().get("predictions"),
                    "layout": _layout(body),
                }
        return out

    return lab.once("q8", run)


def _q8(lab, letter: str) -> Outcome:
    s = q8_scenario(lab)
    mine = s[letter]
    same = all(v["predictions"] == s["A"]["predictions"] for v in s.values())
    body = json.dumps(mine["body"], separators=(",", ":"))
    return Outcome(
        f"HTTP {mine['status']}, predictions {mine['predictions']}"
        f"{' (the same in all four formats)' if same else ''}. Laid out by {mine['layout']}.",
        fits=mine["layout"].startswith("columns") and mine["status"] == 200,
        evidence={
            "status": mine["status"],
            "layout": mine["layout"],
            "same_predictions": same,
            "predictions": mine["predictions"],
            "key": next(iter(mine["body"])),
        },
        code=f"requests.post(url, headers=headers, json={body[:160]}{'…' if len(body) > 160 else ''})",
    )


def q8_a(lab) -> Outcome:
    return _q8(lab, "A")


def q8_b(lab) -> Outcome:
    return _q8(lab, "B")


def q8_c(lab) -> Outcome:
    return _q8(lab, "C")


def q8_d(lab) -> Outcome:
    return _q8(lab, "D")


# --------------------------------------------------------------------------- Q9 signatures


def typed_model():
    """Logistic regression on float features, logged with an inferred (double) signature."""
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    from recipes import data

    df = data.make_churn(1000, seed=2)
    x = df[list(data.FEATURES)].astype("float64")
    model = LogisticRegression(max_iter=1000).fit(x, df[data.LABEL])
    return model, infer_signature(x, model.predict(x).astype("int64"))


def _typed_config(lab):
    name = lab.related("typed")
    version = lab.registered_model(name, typed_model)
    return name, _config(name, _entity("typed", name, version))


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

        name, config = _typed_config(lab)
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
            r = _post(s, conn, name, {"dataframe_records": [bad]})
            ints = _post(s, conn, name, {"dataframe_records": [seed_record()]})
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


# --------------------------------------------------------------------------- Q10 updates


def q10_scenario(lab) -> dict:
    """Traffic from 4 clients while ``exam-champion`` moves from v1 to v2 (once)."""

    def run() -> dict:
        from recipes.serving import traffic

        m = lab.registry()
        w, conn = lab.serving()
        name = endpoint(lab, "champion")
        old, new = f"v{m.v1}", f"v{m.v2}"
        lab.forget(f"endpoint:{name}")  # moved to v2 below: the next user puts v1 back
        states = []
        with traffic.background(
            conn,
            name,
            concurrency=4,
            seconds=lab.sizes.traffic_seconds,
            tag=f"update-{uuid.uuid4().hex[:6]}",
        ) as bg:
            t0 = time.monotonic()
            waiter = w.serving_endpoints.update_config(
                name=name, served_entities=[_entity(new, m.name, m.v2, scale_to_zero=True)]
            )
            first = waiter.response
            states.append(
                (
                    0.0,
                    first.state.config_update.value,
                    bool(first.pending_config),
                    [e.name for e in first.config.served_entities],
                )
            )
            while True:
                ep = w.serving_endpoints.get(name)
                states.append(
                    (
                        round(time.monotonic() - t0, 2),
                        ep.state.config_update.value,
                        bool(ep.pending_config),
                        [e.name for e in ep.config.served_entities],
                    )
                )
                if ep.state.config_update.value != "IN_PROGRESS":
                    break
                time.sleep(0.1)
            update_s = time.monotonic() - t0
            bg.clients.phase = "after"  # "during" is exactly while the update was in progress
        frame = bg.result.frame
        by_phase = (
            frame[frame["status"] == 200]
            .groupby(["phase", "served_model_name"])
            .size()
            .unstack(fill_value=0)
        )
        during = frame[frame["phase"] == "during"]
        return {
            "old": old,
            "new": new,
            "sent": len(frame),
            "failed": int((frame["status"] != 200).sum()),
            "update_seconds": round(update_s, 2),
            "states": states,
            "in_progress_seen": any(s[1] == "IN_PROGRESS" and s[2] for s in states),
            "first_during": during["served_model_name"].iloc[0] if len(during) else None,
            "old_answered_during": int((during["served_model_name"] == old).sum()),
            "after": sorted(set(frame[frame["phase"] == "after"]["served_model_name"].dropna())),
            "max_ms_during": round(float(during["ms"].max()), 1) if len(during) else None,
            "p50_ms_during": round(float(during["ms"].median()), 1) if len(during) else None,
            "by_phase": by_phase,
            "frame": frame,
        }

    return lab.once("q10", run)


def _q10(lab, fits_fn) -> Outcome:
    from recipes.exam import plots

    s = q10_scenario(lab)
    ev = {k: v for k, v in s.items() if k not in ("frame", "by_phase")}
    happened = (
        f"{s['sent']} requests while the update took {s['update_seconds']} s: {s['failed']} failed. "
        f"While config_update was IN_PROGRESS (new config pending) {s['first_during']} kept "
        f"answering ({s['old_answered_during']} answers while the update ran); after the swap "
        f"{', '.join(s['after'])} answered. The slowest request during "
        f"the update took {s['max_ms_during']} ms (median {s['p50_ms_during']} ms): nothing waited "
        "for the update."
    )
    return Outcome(
        happened,
        fits=fits_fn(s),
        evidence=ev,
        table=s["by_phase"],
        figure=lab.once("q10:figure", lambda: plots.update_phases(s)),
        code="w.serving_endpoints.update_config(name=..., served_entities=[v2])",
    )


def q10_a(lab) -> Outcome:
    return _q10(lab, lambda s: s["failed"] > 0)


def q10_b(lab) -> Outcome:
    return _q10(
        lab,
        lambda s: (
            s["failed"] == 0
            and s["in_progress_seen"]
            and s["first_during"] == s["old"]
            and s["after"] == [s["new"]]
        ),
    )


def q10_c(lab) -> Outcome:
    # requests held until the update completed would all be answered after the swap
    return _q10(lab, lambda s: s["old_answered_during"] == 0)


def q10_d(lab) -> Outcome:
    return _q10(lab, lambda s: s["first_during"] == s["new"])


# --------------------------------------------------------------------------- Q11 capture

LEGACY = "exam-legacy"  # the endpoint option A asks for with the legacy auto_capture_config
# the legacy inference table's columns that the AI Gateway's has not (Databricks, "Inference
# tables for monitoring and debugging models", the legacy page's schema)
LEGACY_COLUMNS = ("timestamp_ms", "execution_time_ms", "date", "request_metadata")


def _served_entities(ids) -> pd.DataFrame:
    """``system.serving.served_entities`` rows (latest per id) for the served entity ids, as
    Databricks users join them to an inference table: names and versions by id."""
    from recipes import tables
    from recipes.serving import traffic

    wanted = sorted(set(ids))
    traffic.served_entity_names(wanted, timeout=20)  # waits until the endpoint wrote them
    if not wanted or not tables.table_exists("system.serving.served_entities"):
        return pd.DataFrame(columns=["served_entity_id", "served_entity_name", "entity_version"])
    rows = tables.read_rows("system.serving.served_entities", "served_entity_id", wanted)
    rows = rows.sort_values("change_time").drop_duplicates("served_entity_id", keep="last")
    return rows[["served_entity_id", "served_entity_name", "entity_name", "entity_version"]]


def q11_scenario(lab) -> dict:
    """Four requests (one bad) to ``exam-ab``, created with an AI Gateway inference table, and
    the table's rows for them joined to ``system.serving.served_entities`` (once)."""

    def run() -> dict:
        import requests

        from recipes.serving import traffic

        w, conn = lab.serving()
        name = endpoint(lab, "ab")
        gateway = w.serving_endpoints.get(name).ai_gateway
        tag = f"q11-{uuid.uuid4().hex[:6]}"
        ids = []
        with requests.Session() as s:
            for i, rec in enumerate([*_records(3, seed=11), {"total_purchases": "fifteen"}]):
                crid = f"{tag}-{i}"
                ids.append(crid)
                _post(s, conn, name, {"dataframe_records": [rec], "client_request_id": crid})
        rows = traffic.captured_rows(payload_table(name), ids, timeout=20)
        rows = rows.sort_values("client_request_id").reset_index(drop=True)
        columns = list(rows.columns)
        if len(rows):
            entities = _served_entities(rows["served_entity_id"].dropna())
            rows = rows.merge(entities, on="served_entity_id", how="left")
        answered = rows[rows["status_code"] == 200] if len(rows) else rows
        who = answered.reindex(columns=["served_entity_name", "entity_version"]).dropna()
        return {
            "sent": len(ids),
            "rows": len(rows),
            "columns": columns,
            "status_codes": rows["status_code"].tolist() if len(rows) else [],
            "gateway": gateway.as_dict() if gateway is not None else {},
            "answered": sorted({f"{n} v{v}" for n, v in who.itertuples(index=False)}),
            "served": sorted(set(who["served_entity_name"])),
            "versions": sorted(set(who["entity_version"])),
            "table": payload_table(name),
            "frame": rows[
                [
                    "client_request_id",
                    "status_code",
                    "execution_duration_ms",
                    "served_entity_name",
                    "entity_version",
                    "request",
                    "response",
                ]
            ]
            if len(rows)
            else rows,
        }

    return lab.once("q11", run)


def _q11(lab, fits_fn) -> Outcome:
    s = q11_scenario(lab)
    ev = {k: v for k, v in s.items() if k != "frame"}
    ev["legacy_columns"] = [c for c in LEGACY_COLUMNS if c in s["columns"]]
    ev["version_column"] = [c for c in s["columns"] if "version" in c]
    happened = (
        f"{s['sent']} requests (one of them bad) gave {s['rows']} rows in {s['table']}, "
        f"status codes {s['status_codes']}. Columns: {', '.join(s['columns'])}: none holds "
        "the model's version. Joined on served_entity_id, system.serving.served_entities "
        f"names who answered: {', '.join(s['answered']) or 'nobody'}."
    )
    frame = s["frame"].copy()
    for c in ("request", "response"):
        if c in frame:
            frame[c] = frame[c].astype(str).str.slice(0, 60)
    code = (
        f'w.serving_endpoints.create(name="{AB}", config=..., ai_gateway=AiGatewayConfig('
        "inference_table_config=AiGatewayInferenceTableConfig(catalog_name="
        f'"{CAPTURE_SCHEMA[0]}", schema_name="{CAPTURE_SCHEMA[1]}", '
        f'table_name_prefix="{AB.replace("-", "_")}", enabled=True)))'
    )
    return Outcome(
        happened,
        fits=fits_fn(s),
        evidence=ev,
        table=frame,
        table_title=f"{s['table']} ⋈ system.serving.served_entities",
        code=code,
    )


def q11_a(lab) -> Outcome:
    """The legacy call, as the pre-2026 documentation wrote it: Databricks refuses it now."""
    from databricks.sdk.errors import DatabricksError, NotFound
    from databricks.sdk.service.serving import AutoCaptureConfigInput, EndpointCoreConfigInput

    from recipes import tables

    m = lab.registry()
    w, _ = lab.serving()
    config = EndpointCoreConfigInput(
        name=LEGACY,
        served_entities=[_entity(f"v{m.v1}", m.name, m.v1)],
        auto_capture_config=AutoCaptureConfigInput(
            catalog_name=CAPTURE_SCHEMA[0],
            schema_name=CAPTURE_SCHEMA[1],
            table_name_prefix=LEGACY.replace("-", "_"),
            enabled=True,
        ),
    )
    refusal = error_code = None
    try:
        w.serving_endpoints.create(name=LEGACY, config=config)
        lab._endpoints.append(LEGACY)  # accepted after all: the lab deletes it
    except DatabricksError as exc:
        refusal, error_code = " ".join(str(exc).split()), exc.error_code
    try:
        w.serving_endpoints.get(LEGACY)
        created = True
    except NotFound:
        created = False
    table = payload_table(LEGACY)
    made_table = tables.table_exists(table)
    if refusal is None:
        happened = f"Accepted: {LEGACY} was created with a legacy inference table."
    else:
        happened = (
            f"Refused with {error_code}: {refusal} No endpoint was created "
            f"({LEGACY} {'exists' if created else 'does not exist'}) and no table "
            f"{table} {'appeared' if made_table else 'was made'}."
        )
    code = (
        f'w.serving_endpoints.create(name="{LEGACY}", config=EndpointCoreConfigInput(..., '
        f'auto_capture_config=AutoCaptureConfigInput(catalog_name="{CAPTURE_SCHEMA[0]}", '
        f'schema_name="{CAPTURE_SCHEMA[1]}", enabled=True)))'
    )
    # databricks-sdk marks the class itself deprecated (databricks.sdk.service.serving)
    deprecated = (AutoCaptureConfigInput.__doc__ or "").strip().startswith("Deprecated")
    return Outcome(
        happened,
        fits=refusal is None and created,
        evidence={
            "refused": refusal is not None,
            "error_code": error_code,
            "refusal": refusal,
            "names_gateway": bool(refusal and "ai_gateway.inference_table_config" in refusal),
            "created": created,
            "table_made": made_table,
            "sdk_deprecated": deprecated,
        },
        code=code,
        error=refusal,
    )


def q11_b(lab) -> Outcome:
    need = {
        "request",
        "response",
        "status_code",
        "execution_duration_ms",
        "request_time",
        "served_entity_id",
    }
    return _q11(
        lab,
        lambda s: (
            need <= set(s["columns"])
            and s["rows"] == s["sent"]
            and bool(s["gateway"].get("inference_table_config", {}).get("enabled"))
            and bool(s["versions"])
        ),
    )


def q11_c(lab) -> Outcome:
    return _q11(lab, lambda s: s["rows"] > 0 and all(c != 200 for c in s["status_codes"]))


def q11_d(lab) -> Outcome:
    return _q11(lab, lambda s: s["rows"] < s["sent"] and "request" not in s["columns"])


# --------------------------------------------------------------------------- Q17 params

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
    rows = {"dataframe_records": records}
    return {
        "params": {**rows, "params": {"threshold": LOWER}},
        "none": rows,
        "column": {"dataframe_records": [{**r, "threshold": LOWER} for r in records]},
        "string": {**rows, "params": {"threshold": str(LOWER)}},
        "unknown": {**rows, "params": {"threshold": LOWER, UNKNOWN: 0.9}},
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
        records = _records(12, seed=8)
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
                r = _post(s, conn, name, body)
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
