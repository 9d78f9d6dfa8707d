"""Serving questions: scale-to-zero (Q2), traffic splitting (Q4), request formats (Q8),
signature enforcement (Q9), config updates under traffic (Q10), inference tables (Q11:
the AI Gateway's, and the legacy call Databricks refuses), a request's params (Q17)."""

from __future__ import annotations

from recipes.exam.questions import Option, Question
from recipes.exam.runners import serving as s

Q2 = Question(
    id="Q2",
    topic="Model Serving",
    source="module",
    text=(
        "A serving endpoint has scale_to_zero_enabled=True. A request arrives after 30 minutes "
        "of inactivity. What happens?"
    ),
    options=(
        Option("A", "The request fails with a timeout error", s.q2_a),
        Option(
            "B",
            "The endpoint scales up from zero, causing a cold-start delay, then serves the request",
            s.q2_b,
        ),
        Option(
            "C",
            "The request is queued indefinitely until the endpoint is manually restarted",
            s.q2_c,
        ),
        Option("D", "The endpoint is deleted after inactivity and must be recreated", s.q2_d),
    ),
    answer="B",
    # Sources: the run's own figures (cold_ms, server_cold_start_ms: milliseconds); Databricks
    # "Fix slow requests on Model Serving endpoints", "Cold start after scale-up" (the first
    # request after scale-up is slow, or returns HTTP 555 on an endpoint scaled to zero:
    # docs.databricks.com/aws/en/machine-learning/model-serving/model-serving-slow-requests);
    # the client that retries is recipes.exam.cold_start.
    explanation=(
        "Scale-to-zero releases the compute behind an idle served entity, not the endpoint: "
        "its name, URL and config stay. The next request is what brings a worker back; it "
        "waits while the model loads and then gets its answer. Here that wait is milliseconds "
        "(a small scikit-learn model loaded by a local worker: the run shows its figure). On "
        "Databricks a container has to start first, so it takes far longer, and Databricks "
        "documents that the first request after scaling from zero can fail with HTTP 555, and "
        "a client whose own timeout is shorter gives up first. That is what A describes, but "
        "it is a symptom, not what scale-to-zero does: the endpoint still scales up, and a "
        "retry is answered. So a client of a scale-to-zero endpoint retries on 555 and on a "
        "timeout, with backoff (scoring is idempotent; B's run shows such a client). The wait "
        "is the price of paying nothing while idle: it suits occasional traffic, not a latency "
        "target."
    ),
    needs=frozenset({"registry", "serving"}),
)

Q4 = Question(
    id="Q4",
    topic="Traffic Splitting",
    source="module",
    text=(
        "A team wants to test a new model version by sending 10% of traffic to it while 90% "
        "goes to the current champion. How should they configure the serving endpoint?"
    ),
    options=(
        Option("A", "Create two separate endpoints and use a load balancer", s.q4_a),
        Option(
            "B",
            "Configure traffic routes on a single endpoint with two served entities and "
            "90/10 split",
            s.q4_b,
        ),
        Option(
            "C",
            "Deploy the new version to Staging and the old to Production in the Model Registry",
            s.q4_c,
        ),
        Option("D", "Use feature flags in the application code to route requests", s.q4_d),
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
    prepare=s.warm("champion", "challenger", "ab"),
)

Q8 = Question(
    id="Q8",
    topic="Model Serving",
    text=(
        "A serving endpoint accepts four JSON input formats. Which request body is columnar, "
        "sending one array of values per feature?"
    ),
    options=(
        Option("A", '{"dataframe_records": [{"total_purchases": 15, ...}, ...]}', s.q8_a),
        Option("B", '{"dataframe_split": {"columns": [...], "data": [[15, 320, 7], ...]}}', s.q8_b),
        Option("C", '{"instances": [{"total_purchases": 15, ...}, ...]}', s.q8_c),
        Option(
            "D",
            '{"inputs": {"total_purchases": [15, ...], "avg_session_duration": [320, ...], ...}}',
            s.q8_d,
        ),
    ),
    answer="D",
    explanation=(
        "`dataframe_records` and `instances` send one object per row; `dataframe_split` sends "
        "the column names once and then the rows as lists, which is pandas' split orientation, "
        "still row by row. `inputs` given an object of arrays (the TensorFlow-serving columnar "
        "form) carries one array per feature. All four reach the model as the same rows and "
        "give the same predictions; they differ in size and in what your client finds easy to "
        "build."
    ),
    needs=frozenset({"registry", "serving"}),
    prepare=s.warm("champion"),
)

Q9 = Question(
    id="Q9",
    topic="Model Signatures",
    text=(
        "A model was logged with a signature declaring its three features as double. A request "
        'sends "fifteen" as total_purchases. What happens?'
    ),
    options=(
        Option("A", "The string becomes NaN and the model predicts anyway.", s.q9_a),
        Option(
            "B", "The model's own code fails on the string and the endpoint answers 500.", s.q9_b
        ),
        Option(
            "C",
            "MLflow's schema enforcement refuses the input before the model runs: a 4xx "
            "from the endpoint, an MlflowException from pyfunc, naming the column.",
            s.q9_c,
        ),
        Option("D", "It is accepted: JSON values carry no types.", s.q9_d),
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
    prepare=s.warm("typed"),
)

Q10 = Question(
    id="Q10",
    topic="Model Serving",
    text=(
        "An endpoint serving version 1 under steady traffic gets a config update to version 2. "
        "What happens to the requests that arrive while the update is in progress?"
    ),
    options=(
        Option("A", "They fail with 503 until the update completes.", s.q10_a),
        Option(
            "B",
            "The old config keeps answering until the new served entity is ready; then "
            "traffic moves over, and no request is lost.",
            s.q10_b,
        ),
        Option("C", "They wait in a queue until the update completes.", s.q10_c),
        Option("D", "Version 2 answers at once, even while it is still loading.", s.q10_d),
    ),
    answer="B",
    explanation=(
        "A config update builds the new served entities beside the old ones: the endpoint "
        "shows `config_update: IN_PROGRESS` and the new config under `pending_config`, while "
        "the current config keeps serving. Only when the new entities are ready does the "
        "endpoint switch, so callers see neither errors nor extra waiting. A failed update "
        "leaves the old config in place."
    ),
    needs=frozenset({"registry", "serving"}),
    prepare=s.warm("champion"),
)

Q11 = Question(
    id="Q11",
    topic="Inference Tables",
    text=(
        "A custom model serving endpoint must log its traffic to an inference table in Unity "
        "Catalog. How is that turned on today, and what does the table record?"
    ),
    options=(
        Option(
            "A",
            "Add `auto_capture_config=AutoCaptureConfigInput(catalog_name=..., schema_name=..., "
            "enabled=True)` to the endpoint's config; the table records each request and its "
            "response.",
            s.q11_a,
        ),
        Option(
            "B",
            "Turn on the endpoint's AI Gateway inference table "
            "(`ai_gateway=AiGatewayConfig(inference_table_config=AiGatewayInferenceTableConfig(...))` "
            "on create, `put_ai_gateway` later); it records each request and its response as "
            "JSON, with the status code, execution time, request time and the id of the served "
            "entity that answered.",
            s.q11_b,
        ),
        Option(
            "C",
            "Turn on the AI Gateway inference table; it records only the requests that failed.",
            s.q11_c,
        ),
        Option(
            "D",
            "Turn on the AI Gateway inference table; it records daily totals of requests "
            "and errors per endpoint.",
            s.q11_d,
        ),
    ),
    answer="B",
    # Sources: databricks-sdk 0.167, databricks.sdk.service.serving.AutoCaptureConfigInput
    # ("Deprecated: legacy inference table configuration. Please use AI Gateway inference
    # tables instead"); Databricks "Inference tables for monitoring and debugging models"
    # (docs.databricks.com/aws/en/machine-learning/model-serving/inference-tables, the legacy
    # page): legacy tables can not be enabled on new or existing endpoints from 2026-02-20
    # and are no longer supported from 2026-03-20; "Monitor served models using AI
    # Gateway-enabled inference tables" (docs.databricks.com/aws/en/ai-gateway/inference-tables):
    # the table's schema and the join on served_entity_id to system.serving.served_entities.
    # The run's rows hold exactly those columns (recipes.endpoint.capture.PAYLOAD_SCHEMA).
    explanation=(
        "Since February 20, 2026 Databricks refuses the legacy `auto_capture_config` on new and "
        "existing endpoints, with a 400 that points to `ai_gateway.inference_table_config` "
        "(option A's run gets that refusal), and since March 20, 2026 it no longer supports "
        "the legacy tables at all; the databricks-sdk marks `AutoCaptureConfigInput` "
        "deprecated. The inference table is now part of the endpoint's AI Gateway: "
        "`ai_gateway=AiGatewayConfig(inference_table_config=AiGatewayInferenceTableConfig("
        "catalog_name, schema_name, table_name_prefix, enabled=True))` on create, or "
        "`w.serving_endpoints.put_ai_gateway(name, inference_table_config=...)` later, and a "
        "config update keeps it. The table `<catalog>.<schema>.<prefix>_payload` is a raw log, "
        "one row per request, failed ones too: `request_date`, `request_time`, "
        "`databricks_request_id`, your `client_request_id`, `status_code`, "
        "`sampling_fraction`, `execution_duration_ms`, `request` and `response` as JSON text, "
        "`served_entity_id`, `logging_error_codes` and `requester`. No column holds the model "
        "or its version: join `served_entity_id` to `system.serving.served_entities` for the "
        "served entity's name, model and version. The legacy table's `timestamp_ms`, "
        "`execution_time_ms`, `date` and `request_metadata` (which carried the version) are "
        "gone. Features, predictions and aggregates come later, when you unpack the JSON and "
        "monitor it."
    ),
    needs=frozenset({"registry", "serving"}),
    prepare=s.warm("ab"),
)

Q17 = Question(
    id="Q17",
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
            s.q17_a,
        ),
        Option(
            "B",
            "`params` is for `pyfunc.predict` only; over REST the threshold must travel inside "
            'each record, as a column: `{"dataframe_records": [{..., "threshold": 0.3}]}`.',
            s.q17_b,
        ),
        Option(
            "C",
            "The endpoint checks 0.3 against the signature's params schema and passes it to the "
            'model: the answers are those of `pyfunc.predict(df, params={"threshold": 0.3})`, '
            "not the default's.",
            s.q17_c,
        ),
        Option(
            "D",
            "The endpoint passes it on, converted to the declared double, so a string works as "
            'well: `"params": {"threshold": "0.3"}` gives the same answers.',
            s.q17_d,
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
    prepare=s.warm("threshold"),
)
