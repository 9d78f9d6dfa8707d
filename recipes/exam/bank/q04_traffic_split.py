"""Q4 · Traffic Splitting, the study module's: 10% of traffic to a new version, 90% to the
champion.
"""

from __future__ import annotations

import random
import zlib

import pandas as pd

from recipes.exam.endpoints import (
    SPLIT,
    endpoint,
    endpoint_config,
    entity,
    live_records,
    post,
    warm,
)
from recipes.exam.questions import Option, Outcome, Question
from recipes.formats import encode


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
        for rec in live_records(lab.sizes.requests):
            target = one if rng.random() < 0.9 else two
            r = post(s, conn, target, encode([rec], "dataframe_records"))
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
                post(s, conn, name, encode([rec], "dataframe_records"))
                for rec in live_records(lab.sizes.requests // 2)
            )
        ]
    counts = _served_by(answered)
    try:  # an endpoint names versions; a stage is not one
        w.serving_endpoints.create(
            name="exam-by-stage",
            config=endpoint_config("exam-by-stage", entity("staging", m.name, "Staging")),
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
        for u, rec in zip(users, live_records(len(users)), strict=True):
            target = two if flag[u] else one
            r = post(s, conn, target, encode([rec], "dataframe_records"))
            answered.append(target if r.status_code == 200 else None)
        again = []  # the same users come back: the flag sends each where it went before
        for u, rec in zip(users[:20], live_records(20), strict=True):
            target = two if flag[u] else one
            r = post(s, conn, target, encode([rec], "dataframe_records"))
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


QUESTION = Question(
    order=4,
    topic="Traffic Splitting",
    source="module",
    text=(
        "A team wants to test a new model version by sending 10% of traffic to it while 90% "
        "goes to the current champion. How should they configure the serving endpoint?"
    ),
    options=(
        Option("A", "Create two separate endpoints and use a load balancer", q4_a),
        Option(
            "B",
            "Configure traffic routes on a single endpoint with two served entities and "
            "90/10 split",
            q4_b,
        ),
        Option(
            "C",
            "Deploy the new version to Staging and the old to Production in the Model Registry",
            q4_c,
        ),
        Option("D", "Use feature flags in the application code to route requests", q4_d),
    ),
    answer="B",
    explanation=(
        "Model Serving splits traffic itself: one endpoint, two served entities, and "
        "`traffic_config.routes` with percentages that sum to 100. Callers keep one URL, the "
        "response header says which entity answered, one inference table logs both, and moving "
        "to 50/50 is one config update. A and D both work, but you build and run the routing "
        "(and two endpoints); C routes nothing, because an endpoint serves explicit versions "
        "and stages are only labels in the registry."
    ),
    needs=frozenset({"registry", "serving"}),
    prepare=warm("champion", "challenger", "ab"),
)
