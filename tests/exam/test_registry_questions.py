"""Q1 (stages and archiving) and Q7 (aliases), every option run on the registry."""

from __future__ import annotations

import pytest

from tests.exam.conftest import fits_only, outcome

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def test_q1_a_leaves_two_versions_in_production(lab):
    o = outcome(lab, "Q1", "A")
    assert o.evidence["stages"] == {1: "Production", 2: "Production"}
    assert o.table["stage"].tolist() == ["Production", "Production"]
    assert not o.fits and "nothing was archived" in o.happened


def test_q1_b_archives_the_old_version(lab):
    o = outcome(lab, "Q1", "B")
    assert o.evidence["stages"] == {1: "Archived", 2: "Production"}
    assert "archive_existing_versions=True" in o.code and o.fits


def test_q1_c_is_an_attribute_error_and_changes_nothing(lab):
    o = outcome(lab, "Q1", "C")
    assert o.error.startswith("AttributeError") and "promote_model_version" in o.error
    assert o.evidence["stages"] == {1: "Production", 2: "None"} and not o.fits


def test_q1_d_sets_an_alias_named_production_and_moves_no_stage(lab):
    o = outcome(lab, "Q1", "D")
    assert o.evidence["aliases"].get("Production") == 2
    assert o.evidence["stages"] == {1: "Production", 2: "None"}
    assert o.table.set_index("version").loc[2, "aliases"] == "Production" and not o.fits
    assert "Production" not in lab.client.get_registered_model("churn-predictor").aliases


def test_q1_only_b_fits(lab):
    assert fits_only(lab, "Q1") == ["B"]


@pytest.mark.parametrize("letter", ["A", "B", "C", "D"])
def test_q7_each_option_sees_two_aliases_share_a_version_and_one_alias_move(lab, letter):
    o = outcome(lab, "Q7", letter)
    ev = o.evidence
    assert ev["shared"] == {"exam_a": 1, "exam_b": 1} and ev["two_aliases_one_version"]
    assert ev["after_move"] == 2 and "exam_a" in ev["aliases_on_v2"]
    assert "exam_a" not in ev["aliases_on_v1"] and not ev["one_alias_two_versions"]
    assert o.fits == (letter == "B")
