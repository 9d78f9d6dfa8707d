"""The explanations an audit corrected (issue 30), against the installed sources they cite.

One test per corrected claim: the false sentence is gone, the true one is there, and the fact
it states holds in the installed MLflow, databricks-sdk or the kit's own mirror. What the runs
show for the same claims is asserted on 07's recorded run
(tests/notebooks/test_exam_practice.py). Nothing here starts a service or Spark.
"""

from __future__ import annotations

import http.server
import re
import threading
import time
from types import SimpleNamespace

import pytest

from recipes.exam import BANK, find


def _explanation(qid: str) -> str:
    return " ".join(find(BANK, qid).explanation.split())


# --------------------------------------------------------------------------- Q2


def test_q2_says_milliseconds_here_and_that_databricks_clients_retry_on_555():
    text = _explanation("Q2")
    assert "seconds here" not in text
    assert "Here that wait is milliseconds" in text
    assert "HTTP 555" in text and "retries on 555 and on a timeout" in text


class _ColdEndpoint(http.server.BaseHTTPRequestHandler):
    """Answers its first POST as a cold endpoint may on Databricks, then 200."""

    first: str = "555"  # or "slow": the first answer comes after the client's timeout
    calls: list[float]

    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).calls.append(time.monotonic())
        if len(self.calls) == 1 and self.first == "slow":
            time.sleep(0.6)
        status = 555 if len(self.calls) == 1 and self.first == "555" else 200
        body = b'{"predictions": [0]}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("first", ["555", "slow"])
def test_q2s_client_retries_a_555_and_a_timeout(first):
    from recipes.exam.cold_start import POLICY, RetryPolicy, retrying_session

    assert 555 in POLICY.statuses and "status_forcelist=[555, 503]" in POLICY.code()
    handler = type("Handler", (_ColdEndpoint,), {"first": first, "calls": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        policy = RetryPolicy(attempts=2, backoff_factor=0.01, timeout_s=0.3)
        with retrying_session(policy) as session:
            url = f"http://127.0.0.1:{server.server_address[1]}/serving-endpoints/x/invocations"
            r = session.post(url, json={"dataframe_records": [{}]}, timeout=policy.timeout_s)
    finally:
        server.shutdown()
        server.server_close()
    assert r.status_code == 200 and r.json() == {"predictions": [0]}
    assert len(handler.calls) == 2  # the cold answer, then the retry's


# --------------------------------------------------------------------------- Q5


def test_q5_calls_latest_a_valid_mlflow_uri_and_the_module_inaccurate():
    from mlflow.store.artifact.utils.models import _parse_model_uri

    text = _explanation("Q5")
    assert "the exam counts it out" not in text
    assert "C is a valid MLflow URI" in text
    assert "The study module calls it 'not a valid format': that is inaccurate." in text
    # MLflow parses /latest on purpose: a name with no version, stage or alias (the newest)
    parsed = _parse_model_uri("models:/churn/latest")
    assert (parsed.name, parsed.version, parsed.stage, parsed.alias) == ("churn", None, None, None)
    assert _parse_model_uri("models:/churn/Production").stage == "Production"


def test_q5_c_no_longer_credits_the_exam():
    import inspect

    from recipes.exam.bank import q05_alias_uri

    assert "the exam calls it" not in inspect.getsource(q05_alias_uri.q5_c)


def test_uc_refuses_latest_in_mlflows_own_client():
    from mlflow.exceptions import MlflowException
    from mlflow.store._unity_catalog.registry.rest_store import UcModelRegistryStore

    store = UcModelRegistryStore.__new__(UcModelRegistryStore)  # no workspace needed
    with pytest.raises(MlflowException, match="'get_latest_versions' is unsupported"):
        store.get_latest_versions("main.mdk.churn")


# --------------------------------------------------------------------------- Q6


class _Spark:
    """What ``get_full_name_from_sc`` asks of a session: its current catalog and schema."""

    def __init__(self, catalog: str, schema: str = "default"):
        self.current = {"catalog": catalog, "schema": schema}

    def sql(self, query: str):
        key = "catalog" if "current_catalog" in query else "schema"
        return SimpleNamespace(collect=lambda: [{key: self.current[key]}])


def test_q6_says_short_names_are_completed_unless_hive_or_no_session():
    from mlflow.utils._unity_catalog_utils import get_full_name_from_sc

    text = _explanation("Q6")
    assert "a two-level name is refused" not in text
    assert "completes a shorter one from the Spark session's current catalog and schema" in text
    assert "without a Spark session, or with the Hive metastore as the current catalog" in text
    main = _Spark("main", "mdk")
    assert get_full_name_from_sc("mdk.churn", main) == "main.mdk.churn"
    assert get_full_name_from_sc("churn", main) == "main.mdk.churn"
    assert get_full_name_from_sc("mdk.churn", _Spark("hive_metastore")) == "mdk.churn"
    assert get_full_name_from_sc("mdk.churn", _Spark("spark_catalog")) == "mdk.churn"
    assert get_full_name_from_sc("mdk.churn", None) == "mdk.churn"


def test_q6s_rows_name_what_they_register():
    from recipes.exam.bank import q06_workspace_to_unity_catalog as q6

    assert q6.SHORT_MAIN_ONE.startswith("one-part") and q6.SHORT_MAIN_TWO.startswith("two-part")
    assert q6.SHORT_HIVE.startswith("two-part") and "Hive" in q6.SHORT_HIVE


# --------------------------------------------------------------------------- Q11


def test_q11_teaches_the_ai_gateway_table_and_its_columns():
    from databricks.sdk.service.serving import AutoCaptureConfigInput

    from recipes.endpoint.capture import PAYLOAD_SCHEMA

    text = _explanation("Q11")
    for column in PAYLOAD_SCHEMA.names:  # the local table's columns, Databricks' schema
        assert f"`{column}`" in text, column
    assert "join `served_entity_id` to `system.serving.served_entities`" in text
    assert "March 20, 2026" in text and "marks `AutoCaptureConfigInput` deprecated" in text
    assert AutoCaptureConfigInput.__doc__.strip().startswith("Deprecated")
    # the legacy table's columns are named only as gone
    legacy = text[text.index("The legacy table's") :]
    assert all(f"`{c}`" in legacy for c in ("timestamp_ms", "execution_time_ms", "date"))
    assert "`timestamp_ms`" not in text[: text.index("The legacy table's")]


# --------------------------------------------------------------------------- Q13


def _refusal(monkeypatch, *, databricks: bool, env_manager: str) -> str:
    """MLflow's own ``spark_udf`` run as over Spark Connect (to Databricks or not), from a
    machine outside Databricks: the refusal it raises before it opens the model."""
    import mlflow.pyfunc as pyfunc

    monkeypatch.setattr(pyfunc, "is_spark_connect_mode", lambda: True)
    monkeypatch.setattr(pyfunc, "is_databricks_connect", lambda spark=None: databricks)
    with pytest.raises(Exception) as exc:  # noqa: PT011 - MlflowException or RuntimeError
        pyfunc.spark_udf(object(), "models:/not-opened/1", env_manager=env_manager)
    return str(exc.value)


def test_q13_says_where_the_env_managers_run_as_mlflow_does(monkeypatch):
    text = _explanation("Q13")
    assert "On Spark Connect only `local` is allowed" not in text
    assert "over Spark Connect to a non-Databricks cluster MLflow refuses all three" in text
    assert "requires `prebuilt_env_uri` whatever the `env_manager`, `local` included" in text
    for manager in ("virtualenv", "conda", "uv"):
        refused = _refusal(monkeypatch, databricks=False, env_manager=manager)
        assert "connects to non-Databricks Spark cluster" in refused, manager
    remote = _refusal(monkeypatch, databricks=True, env_manager="local")
    assert "'prebuilt_env_uri' param is required" in remote


# --------------------------------------------------------------------------- Q14


def test_q14_says_the_key_is_always_required_in_the_real_clients_words():
    from recipes.features.checks import FeatureInputError, check_scoring_columns

    text = _explanation("Q14")
    assert "which is why A, C and D also score" not in text
    quoted = re.search(r'"(DataFrame is missing required columns [^"]+)"', text).group(1)
    spec = {
        "feature_lookups": [{"lookup_key": ["customer_id"], "output_names": ["f"]}],
        "source_columns": [],
    }
    with pytest.raises(FeatureInputError) as exc:
        check_scoring_columns(["f", "churned"], spec)  # the features and the label (C)
    assert str(exc.value) == quoted  # the local client says what the explanation quotes
    assert "used instead of the feature table's values" in text and "rides along" in text
