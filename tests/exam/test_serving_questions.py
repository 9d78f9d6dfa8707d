"""Q2, Q4, Q8, Q9, Q10, Q11: every option run against one real local serving endpoint
(started by this module's lab, with its ``exam-*`` endpoints, and stopped at the end)."""

from __future__ import annotations

import pytest

from tests.exam.conftest import outcome

pytestmark = [pytest.mark.server, pytest.mark.filterwarnings("ignore::FutureWarning")]


# ----------------------------------------------------------------------------- Q2


def test_q2_the_endpoint_scales_to_zero_then_serves_after_a_cold_start(lab):
    b = outcome(lab, "Q2", "B")
    ev = b.evidence
    assert ev["scaled_to_zero"] and ev["status"] == 200
    assert ev["cold_ms"] > ev["warm_ms"] and ev["server_cold_start_ms"] > 0
    assert b.fits and b.figure is not None


def test_q2_a_no_timeout_c_no_queue_forever_d_not_deleted(lab):
    a, c, d = (outcome(lab, "Q2", k) for k in "ACD")
    assert a.evidence["status"] == 200 and a.evidence["cold_ms"] < 60_000 and not a.fits
    assert not c.evidence["restarted_by_us"] and c.evidence["status"] == 200 and not c.fits
    assert d.evidence["exists_after"] and d.evidence["ready_after"] == "READY" and not d.fits


# ----------------------------------------------------------------------------- Q4


def test_q4_a_two_endpoints_and_a_client_router_split_the_traffic(lab):
    o = outcome(lab, "Q4", "A")
    counts = o.evidence["counts"]
    assert set(counts) == {"exam-v1", "exam-v2"} and counts["exam-v1"] > counts["exam-v2"] > 0
    assert o.evidence["endpoints"] == 2 and o.evidence["split_owner"] == "client" and not o.fits


def test_q4_b_one_endpoint_routes_90_10_natively(lab):
    o = outcome(lab, "Q4", "B")
    assert o.evidence["routes"] == {"champion": 90, "challenger": 10}
    assert o.evidence["within"] and o.evidence["failed"] == 0 and o.evidence["endpoints"] == 1
    assert o.evidence["counts"]["champion"] > o.evidence["counts"]["challenger"] > 0 and o.fits


def test_q4_c_stages_route_nothing(lab):
    o = outcome(lab, "Q4", "C")
    assert o.evidence["counts"] == {"v1": 60}  # every answer from the pinned version
    assert o.evidence["stage_entity_refused"] and "version number" in o.evidence["refusal"]
    assert not o.fits


def test_q4_d_a_feature_flag_splits_in_the_app_sticky_per_user(lab):
    o = outcome(lab, "Q4", "D")
    assert o.evidence["sticky"] and o.evidence["split_owner"] == "application"
    assert set(o.evidence["counts"]) == {"exam-v1", "exam-v2"} and not o.fits


# ----------------------------------------------------------------------------- Q8


@pytest.mark.parametrize(
    ("letter", "key", "columnar"),
    [("A", "dataframe_records", False), ("B", "dataframe_split", False),
     ("C", "instances", False), ("D", "inputs", True)],
)  # fmt: skip
def test_q8_each_format_gives_the_same_answer_and_only_inputs_is_columnar(
    lab, letter, key, columnar
):
    o = outcome(lab, "Q8", letter)
    ev = o.evidence
    assert ev["status"] == 200 and ev["key"] == key and ev["same_predictions"]
    assert len(ev["predictions"]) == 3
    assert ev["layout"].startswith("columns") == columnar == o.fits


# ----------------------------------------------------------------------------- Q9


@pytest.mark.parametrize("letter", ["A", "B", "C", "D"])
def test_q9_a_string_for_a_double_is_refused_before_the_model(lab, letter):
    o = outcome(lab, "Q9", letter)
    ev = o.evidence
    assert ev["rest_status"] == 400 and ev["column_named"] and not ev["predicted"]
    assert "total_purchases" in ev["pyfunc_error"] and ev["pyfunc_error"].startswith(
        "MlflowException"
    )
    assert ev["schema"][0]["type"] == "double" and ev["ints_status"] == 200
    assert o.fits == (letter == "C")


# ----------------------------------------------------------------------------- Q10


@pytest.mark.parametrize("letter", ["A", "B", "C", "D"])
def test_q10_the_old_config_serves_through_an_update_and_none_is_lost(lab, letter):
    o = outcome(lab, "Q10", letter)
    ev = o.evidence
    assert ev["failed"] == 0 and ev["sent"] > 50
    assert ev["in_progress_seen"] and ev["first_during"] == ev["old"] == "v1"
    assert ev["old_answered_during"] > 0  # answered while the update ran: nothing queued
    assert ev["after"] == ["v2"] and ev["max_ms_during"] < 1000 * ev["update_seconds"] + 2000
    assert o.fits == (letter == "B")


# ----------------------------------------------------------------------------- Q11


@pytest.mark.parametrize("letter", ["A", "B", "C", "D"])
def test_q11_the_inference_table_logs_every_request_with_its_metadata(lab, letter):
    o = outcome(lab, "Q11", letter)
    ev = o.evidence
    assert ev["rows"] == ev["sent"] == 4 and ev["status_codes"] == [200, 200, 200, 400]
    assert {"request", "response", "status_code", "execution_time_ms"} <= set(ev["columns"])
    assert ev["metadata_keys"] == [
        "endpoint_name",
        "model_name",
        "model_version",
        "served_entity_name",
    ]
    assert o.fits == (letter == "B")


def test_releasing_serving_deletes_the_endpoints_and_stops_what_the_lab_started(lab):
    from recipes import stack

    outcome(lab, "Q8", "A")  # the serving endpoint and exam-v1 exist
    w, _ = lab.serving()
    names = {e.name for e in w.serving_endpoints.list()}
    assert "exam-v1" in names
    record = stack.read_record("serving")
    lab.release("serving")
    assert not any(s.alive for s in stack.status() if s.name == "serving")
    assert record is not None and stack._ours(record) is None  # that pid no longer runs ours
