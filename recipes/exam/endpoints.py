"""The serving endpoints the exam's questions call, each made once per lab.

- ``exam-champion``: v1 alone, with scale-to-zero on (question 2 idles it, question 10 moves it
  to v2 and the next user puts v1 back);
- ``exam-challenger``: v2 alone;
- ``exam-ab``: v1 and v2 split 90/10, with an AI Gateway inference table;
- ``exam-threshold``: the lab's threshold model, whose signature declares a ``threshold``
  parameter;
- the typed model's endpoint (``<model_name>-typed``): a signature of doubles.

A question's ``prepare`` may start them early with :func:`warm`; its checks make them with
:func:`endpoint`. Every endpoint is created through the databricks-sdk as on a workspace,
named ``exam-*``, and deleted again when the lab releases serving. :func:`post` and
:func:`live_records` are how the checks send requests.
"""

from __future__ import annotations

from recipes.exam.lab import MADE_BY

SPLIT = {"champion": 90, "challenger": 10}  # exam-ab's routes
CAPTURE_SCHEMA = ("main", "exam")  # where the inference tables land


def entity(name: str, model: str, version: int, *, scale_to_zero: bool = False):
    """A Small served entity of ``model`` version ``version``."""
    from databricks.sdk.service.serving import ServedEntityInput

    return ServedEntityInput(
        name=name,
        entity_name=model,
        entity_version=str(version),
        workload_size="Small",
        scale_to_zero_enabled=scale_to_zero,
    )


def endpoint_config(endpoint: str, *entities, routes=None):
    """An endpoint's config: ``entities``, and ``routes`` (served entity name to percentage)."""
    from databricks.sdk.service.serving import EndpointCoreConfigInput, Route, TrafficConfig

    traffic = None
    if routes:
        traffic = TrafficConfig(
            routes=[Route(served_model_name=n, traffic_percentage=p) for n, p in routes.items()]
        )
    return EndpointCoreConfigInput(
        name=endpoint, served_entities=list(entities), traffic_config=traffic
    )


def inference_gateway(endpoint: str):
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
    return CHAMPION, endpoint_config(CHAMPION, entity(f"v{m.v1}", m.name, m.v1, scale_to_zero=True))


def _challenger_config(lab):
    m = lab.registry()
    return CHALLENGER, endpoint_config(CHALLENGER, entity(f"v{m.v2}", m.name, m.v2))


def _ab_config(lab):
    m = lab.registry()
    return AB, endpoint_config(
        AB, entity("champion", m.name, m.v1), entity("challenger", m.name, m.v2), routes=SPLIT
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
    return THRESHOLD, endpoint_config(
        THRESHOLD, entity("threshold", lab.related("threshold"), version)
    )


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
    gateway = inference_gateway(name) if key in LOGGED else None
    lab.once(f"endpoint:{name}", lambda: lab.endpoint(name, config, tags=tags, ai_gateway=gateway))
    return name


def warm(*which: str):
    """A ``prepare`` hook creating the named endpoints without waiting (``champion``,
    ``challenger``, ``ab``, ``typed``, ``threshold``); the ``typed`` and ``threshold`` models
    are registered first."""

    def prepare(lab) -> None:
        for key in which:
            name, config = typed_config(lab) if key == "typed" else _CONFIGS[key](lab)
            lab.warm_endpoint(
                name, config, ai_gateway=inference_gateway(name) if key in LOGGED else None
            )

    return prepare


def payload_table(endpoint: str) -> str:
    """The AI Gateway inference table of ``endpoint``: ``main.exam.<endpoint>_payload``."""
    return f"{CAPTURE_SCHEMA[0]}.{CAPTURE_SCHEMA[1]}.{endpoint.replace('-', '_')}_payload"


def post(session, conn, endpoint: str, body: dict, timeout: float = 60):
    """POST ``body`` to ``endpoint``'s invocations URL on ``session``."""
    return session.post(
        conn.invocations_url(endpoint), headers=conn.headers, json=body, timeout=timeout
    )


def live_records(n: int, seed: int = 5) -> list[dict]:
    """``n`` rows of live traffic's features, as JSON records."""
    from recipes.data import FEATURES, live_traffic

    return live_traffic(n, seed=seed)[list(FEATURES)].to_dict(orient="records")


def typed_model():
    """Logistic regression on float features, logged with an inferred (double) signature."""
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    from recipes import data

    df = data.make_churn(1000, seed=2)
    x = df[list(data.FEATURES)].astype("float64")
    model = LogisticRegression(max_iter=1000).fit(x, df[data.LABEL])
    return model, infer_signature(x, model.predict(x).astype("int64"))


def typed_config(lab):
    """The typed model's endpoint (its name is the model's), with :func:`typed_model`
    registered once."""
    name = lab.related("typed")
    version = lab.registered_model(name, typed_model)
    return name, endpoint_config(name, entity("typed", name, version))
