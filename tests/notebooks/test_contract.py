"""The notebooks' contract: parameters, thinness and clean golden outputs."""

from __future__ import annotations

import ast
import re

import nbformat
import papermill
import pytest

from recipes.tooling.golden import is_golden, stray_outputs
from tests.notebooks.nbtools import NOTEBOOKS, committed_notebooks

# name -> (inferred type, default) as papermill.inspect_notebook reports them
CONTRACT = {
    "01_register": {
        "target": ("str", '"local"'),
        "model_name": ("str", '"churn-predictor"'),
        "n_rows": ("int", "5000"),
        "seed": ("int", "0"),
    },
    "02_promote": {
        "target": ("str", '"local"'),
        "model_name": ("str", '"churn-predictor"'),
        "stage": ("str", '"Production"'),
        "stage_version": ("int", "0"),
        "archive_existing_versions": ("bool", "True"),
        "alias": ("str", '"challenger"'),
        "alias_version": ("int", "0"),
        "min_improvement": ("float", "0.05"),
        "apply": ("bool", "True"),
    },
    "03_serve": {
        "target": ("str", '"local"'),
        "model_name": ("str", '"churn-predictor"'),
        "endpoint_name": ("str", '"churn-predictor-endpoint"'),
        "entity_version": ("int", "0"),
        "scale_to_zero_enabled": ("bool", "True"),
        "idle_seconds": ("int", "5"),
        "replace": ("bool", "False"),
    },
    "04_ab_split": {
        "target": ("str", '"local"'),
        "model_name": ("str", '"churn-predictor"'),
        "endpoint_name": ("str", '"churn-ab"'),
        "champion_version": ("int", "0"),
        "challenger_version": ("int", "0"),
        "challenger_traffic": ("int", "10"),
        "n_requests": ("int", "500"),
        "catalog": ("str", '"main"'),
        "schema": ("str", '"mdk"'),
        "apply": ("bool", "True"),
    },
    "05_batch_score": {
        "target": ("str", '"local"'),
        "model_uri": ("str", '"models:/churn-predictor@champion"'),
        "n_rows": ("int", "100000"),
        "output_table": ("str", '"main.predictions.churn_scores"'),
        "loop_sample": ("int", "2000"),
    },
    "06_monitor": {
        "target": ("str", '"local"'),
        "endpoint_name": ("str", '"churn-ab"'),
        "model_name": ("str", '"churn-predictor"'),
        "champion_version": ("int", "0"),
        "challenger_version": ("int", "0"),
        "challenger_traffic": ("int", "50"),
        "n_requests": ("int", "2000"),
        "drift_strength": ("float", "1.0"),
        "drifted_features": ("str", '"days_since_last_visit"'),
        "granularity": ("str", '"1 hour"'),
        "act": ("bool", "False"),
    },
    "07_exam_practice": {
        "target": ("str", '"local"'),
        "questions": ("str", '"all"'),
        "model_name": ("str", '"exam-churn"'),
    },
    "08_retrain": {
        "target": ("str", '"local"'),
        "endpoint_name": ("str", '"churn-ab"'),
        "quality_metric": ("str", '"accuracy_score"'),
        "quality_threshold": ("float", "0.8"),
        "num_evaluation_windows": ("int", "2"),
        "num_violation_windows": ("int", "1"),
        "expected_loss_threshold": ("float", "2.0"),
        "drift_metric": ("str", '"js_distance"'),
        "drift_threshold": ("float", "0.15"),
        "drift_columns": ("str", '"churned,prediction"'),
        "model_id": ("str", '"*"'),
        "test_fraction": ("float", "0.3"),
        "min_improvement": ("float", "0.0"),
        "force": ("bool", "False"),
        "register_on_workspace": ("bool", "False"),
    },
}


def test_every_notebook_has_a_contract():
    assert sorted(p.stem for p in committed_notebooks()) == sorted(CONTRACT)
    for path in committed_notebooks():
        assert re.fullmatch(r"\d\d_[a-z_]+", path.stem), path.name


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_parameter_contract(name):
    found = papermill.inspect_notebook(str(NOTEBOOKS / f"{name}.ipynb"))
    got = {k: (v["inferred_type_name"], v["default"]) for k, v in found.items()}
    assert got == CONTRACT[name]
    assert all(v["help"] for v in found.values()), "every parameter needs a help comment"


@pytest.mark.parametrize("path", committed_notebooks(), ids=lambda p: p.stem)
def test_structure(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [1], "exactly one `parameters` cell, right after the opening markdown"
    first_code = next(c for c in nb.cells[2:] if c.cell_type == "code")
    assert "check_parameters(" in first_code.source, "the first check validates the parameters"


@pytest.mark.parametrize("path", committed_notebooks(), ids=lambda p: p.stem)
def test_no_def_or_class_in_notebooks(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        lines = [ln for ln in cell.source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        tree = ast.parse("\n".join(lines))
        defs = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda)
        ]
        assert not defs, f"cell {i} defines logic: move it into recipes/ or widgets/"
        assert "sys.path" not in cell.source, f"cell {i}: the kit is installed, no sys.path hacks"


@pytest.mark.parametrize("path", committed_notebooks(), ids=lambda p: p.stem)
def test_committed_notebooks_hold_only_golden_outputs(path):
    nb = nbformat.read(path, as_version=4)
    assert stray_outputs(nb) == [], "strip outputs outside golden cells: `mdk golden`"
    golden = [c for c in nb.cells if is_golden(c)]
    assert golden, "each notebook keeps at least one nbval golden cell"
    assert all(c.outputs for c in golden), "golden cells must hold their expected output"
    assert "papermill" not in nb.metadata
