"""Serving questions: scale-to-zero (Q2), traffic splitting (Q4), request formats (Q8),
signature enforcement (Q9), config updates under traffic (Q10), inference tables (Q11)."""

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
    ),  # fmt: skip
    answer="B",
    explanation=(
        "Scale-to-zero releases the compute behind an idle served entity, not the endpoint: "
        "its name, URL and config stay. The next request is what brings a worker back; it "
        "waits while the model loads (seconds here, typically tens of seconds to minutes on "
        "Databricks) and then gets its answer. That wait is the price of paying nothing while "
        "idle, so it suits occasional traffic, not a latency target."
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
    ),  # fmt: skip
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
    ),  # fmt: skip
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
    ),  # fmt: skip
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
    ),  # fmt: skip
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
    text="A serving endpoint has an inference table enabled. What does the table record?",
    options=(
        Option("A", "Only the predictions, for measuring model quality later.", s.q11_a),
        Option(
            "B",
            "Each request and its response as JSON, with the status code, execution "
            "time, a timestamp and which model version answered.",
            s.q11_b,
        ),
        Option("C", "Only the requests that failed.", s.q11_c),
        Option("D", "Daily totals of requests and errors per endpoint.", s.q11_d),
    ),  # fmt: skip
    answer="B",
    explanation=(
        "An inference table is a raw log, one row per request: the request and response bodies "
        "as JSON strings, `status_code`, `execution_time_ms`, `timestamp_ms` and `date`, your "
        "`client_request_id`, and `request_metadata` naming the endpoint, model, version and "
        "served entity. Failed requests are logged too. Features, predictions and aggregates "
        "come later, when you unpack the JSON and monitor it."
    ),
    needs=frozenset({"registry", "serving"}),
    prepare=s.warm("ab"),
)
