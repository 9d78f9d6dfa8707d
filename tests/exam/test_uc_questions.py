"""Q5 and Q6: MLflow's real ``databricks-uc`` and ``databricks`` clients against the
workspace double, which this module's lab starts (with a ``mlflow server`` behind it) and
stops by pid; open-source MLflow on the module's store beside them."""

from __future__ import annotations

import pytest

from tests.exam.conftest import outcome

pytestmark = [pytest.mark.server, pytest.mark.filterwarnings("ignore::FutureWarning")]


def test_q5_a_the_stage_uri_loads_locally_and_fails_in_unity_catalog(lab):
    o = outcome(lab, "Q5", "A")
    ev = o.evidence
    assert ev["local"].startswith("loads") and ev["workspace"] == "resolves to v1"
    assert ev["uc"].startswith("fails:") and "Unity Catalog" in ev["uc"] and not o.fits


def test_q5_b_the_alias_uri_loads_in_open_source_mlflow_and_unity_catalog(lab):
    o = outcome(lab, "Q5", "B")
    ev = o.evidence
    assert ev["local"].startswith("loads") and ev["uc"].startswith("loads")
    assert "unsupported for models in the Workspace Model Registry" in ev["workspace"]
    assert o.fits and o.code.endswith('@champion")')


def test_q5_c_latest_loads_in_open_source_mlflow_and_fails_in_unity_catalog(lab):
    o = outcome(lab, "Q5", "C")
    ev = o.evidence
    assert ev["local"].startswith("loads") and ev["workspace"].startswith("resolves to v")
    assert ev["uc"].startswith("fails:") and "get_latest_versions" in ev["uc"]
    assert not o.fits


def test_q5_d_a_run_uri_loads_without_the_registry(lab):
    o = outcome(lab, "Q5", "D")
    ev = o.evidence
    assert ev["local"].startswith("loads") and ev["uc"].startswith("loads")
    assert ev["workspace"].startswith("not a registry URI") and not o.fits


@pytest.mark.parametrize("letter", ["A", "B", "C", "D"])
def test_q6_unity_catalog_wants_three_levels_and_aliases_not_stages(lab, letter):
    o = outcome(lab, "Q6", letter)
    uc, ws = o.evidence["uc_ok"], o.evidence["ws_ok"]
    assert not uc["two-level name"] and uc["three-level name"]
    assert not uc["stage transition"] and not uc["/latest"]
    assert uc["alias"] and uc["load @champion"]
    assert ws["two-level name"] and ws["stage transition"] and ws["/latest"] and not ws["alias"]
    assert o.fits == (letter == "B")


def test_releasing_uc_stops_the_double_and_its_mlflow_server(lab):
    import psutil

    outcome(lab, "Q6", "B")
    uc = lab.uc()
    assert psutil.pid_exists(uc.pid)
    server_home = lab._uc_mlflow_home
    lab.release("uc")
    assert not psutil.pid_exists(uc.pid) or psutil.Process(uc.pid).status() == psutil.STATUS_ZOMBIE
    if server_home is not None:
        from recipes import stack

        assert stack.read_record("mlflow", home=server_home) is None
