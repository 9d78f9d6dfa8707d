"""Q3, Q12, Q13, Q14, Q15: every option run on the session's local Spark (and, for Q3's REST
option, this module's serving endpoint). The behaviours are asserted, not the timings."""

from __future__ import annotations

import os

import pytest

from tests.exam.conftest import outcome

pytestmark = [pytest.mark.server, pytest.mark.filterwarnings("ignore::FutureWarning")]


@pytest.fixture(scope="module")
def lab(lab, spark):
    """The module's lab on the session's Spark session (made by the ``spark`` fixture)."""
    return lab


# ----------------------------------------------------------------------------- Q3


def test_q3_a_runs_on_the_driver_only(lab):
    o = outcome(lab, "Q3", "A")
    ev = o.evidence
    assert ev["pids"] == [ev["driver_pid"]] == [os.getpid()]
    assert ev["rows"] == lab.sizes.loop_rows and ev["rows_per_s"] > 0
    (n1, m1), (n2, m2) = sorted(ev["memory_mb"].items())
    assert n2 > n1 and m2 > m1  # the rows must sit on the driver
    assert not o.fits and o.table is not None


def test_q3_b_every_row_crosses_http(lab):
    o = outcome(lab, "Q3", "B")
    ev = o.evidence
    assert ev["failed"] == 0 and ev["rows"] == lab.sizes.rest_rows
    assert ev["requests"] == lab.sizes.rest_rows // lab.sizes.rest_batch
    assert ev["bytes_per_row"] > 5 and not o.fits


def test_q3_c_is_a_spark_job_of_several_tasks_in_python_workers(lab):
    o = outcome(lab, "Q3", "C")
    ev = o.evidence
    assert ev["tasks"] >= 2 and ev["tasks_1"] == 1  # one task at a time, then two
    assert ev["worker_pids"] and ev["driver_pid"] not in ev["worker_pids"]
    assert ev["rate_1_task"] > 0 and ev["rate_2_tasks"] > 0 and ev["efficiency"] > 0
    (n1, m1), (n2, m2) = sorted(ev["memory_mb"].items())
    assert abs(m2 - m1) < 0.25 * m1  # a worker holds one batch, whatever the rows
    assert o.figure is not None and o.fits


def test_q3_d_memory_grows_with_the_rows_and_the_data_leaves(lab):
    o = outcome(lab, "Q3", "D")
    ev = o.evidence
    (n1, m1), (n2, m2) = sorted(ev["memory_mb"].items())
    assert m2 > 2 * m1 and ev["memory_slope"] > 20  # bytes per row, in one process
    assert ev["csv_bytes_per_row"] > 5 and ev["export_seconds"] > 0
    assert not o.fits


def test_q3_extrapolation_states_its_assumptions(lab):
    from recipes.exam.runners.batch import q3_scenario

    s = q3_scenario(lab)
    table = s["extrapolation"]
    assert table["option"].tolist() == ["A", "B", "C", "D"]
    assert table.attrs["assumptions"]["rows"] == 100_000_000
    assert table.attrs["assumptions"]["cluster_cores"] == 32
    assert set(s["seconds_100m"]) == {"A", "B", "C", "D"} and min(s["seconds_100m"].values()) > 0


# ----------------------------------------------------------------------------- Q12


@pytest.mark.parametrize("letter", ["A", "B", "C", "D"])
def test_q12_no_result_type_takes_the_signature_and_falls_back_to_double(lab, letter):
    o = outcome(lab, "Q12", letter)
    assert o.evidence == {
        "signed, no result_type": "bigint",
        "no signature, no result_type": "double",
        'signed, result_type="double"': "double",
        'signed, result_type="string"': "string",
    }
    assert o.fits == (letter == "B")


# ----------------------------------------------------------------------------- Q13


def test_q13_local_scores_and_the_others_need_tools_this_machine_lacks(lab):
    import shutil

    runs = {k: outcome(lab, "Q13", k) for k in "ABCD"}
    assert runs["C"].evidence["scored"] and len(runs["C"].evidence["values"]) == 3
    assert runs["C"].fits and not any(runs[k].fits for k in "ABD")
    if shutil.which("conda") is None:
        assert "Conda" in runs["A"].error
    if shutil.which("uv") is None:
        assert "uv" in runs["D"].error
    for k in "ABD":  # each either failed with its reason or built an environment
        ev = runs[k].evidence
        assert ev["scored"] or ev["error"], k


# ----------------------------------------------------------------------------- Q14


@pytest.mark.parametrize(
    ("letter", "given"),
    [("A", ["total_purchases", "avg_session_duration", "days_since_last_visit"]),
     ("B", ["customer_id"]),
     ("C", ["total_purchases", "avg_session_duration", "days_since_last_visit", "churned"]),
     ("D", ["customer_id", "churned"])],
)  # fmt: skip
def test_q14_score_batch_needs_only_the_keys(lab, letter, given):
    o = outcome(lab, "Q14", letter)
    mine, keys = o.evidence["mine"], o.evidence["keys_only"]
    assert mine["columns"] == given and mine["error"] is None and mine["scored"] == 200
    assert keys["scored"] == 200 and "prediction" in keys["output"]
    assert {"total_purchases", "days_since_last_visit"} <= set(keys["output"])  # joined in
    assert o.fits == (letter == "B")


# ----------------------------------------------------------------------------- Q15


def test_q15_a_rescanning_batch_duplicates_rows(lab):
    ev = outcome(lab, "Q15", "A").evidence
    n = lab.sizes.stream_rows
    assert ev["error"] is None and ev["distinct"] == 3 * n and ev["duplicates"] == 2 * n


def test_q15_b_a_kept_checkpoint_scores_each_row_exactly_once(lab):
    o = outcome(lab, "Q15", "B")
    ev, n = o.evidence, lab.sizes.stream_rows
    assert ev["after_first"]["rows"] == 2 * n  # the restart picked up only the new file
    assert ev["rows"] == ev["distinct"] == 3 * n and ev["exactly_once"] and o.fits


def test_q15_c_a_fresh_checkpoint_loses_the_new_file(lab):
    ev = outcome(lab, "Q15", "C").evidence
    n = lab.sizes.stream_rows
    assert ev["error"] is None and not ev["exactly_once"]
    assert ev["missing"] == n and ev["duplicates"] == 0  # the sink took batch 0 as written


def test_q15_d_a_file_sink_refuses_to_start_without_a_checkpoint(lab):
    o = outcome(lab, "Q15", "D")
    assert "checkpointLocation must be specified" in o.error and o.evidence["rows"] == 0
    assert not o.fits
