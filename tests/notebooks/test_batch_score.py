"""05_batch_score executed with papermill on its own, with a pinned version: the tables and
models it leaves behind (the default @champion: tests/notebooks/test_story.py)."""

from __future__ import annotations

import uuid

import pytest

from recipes import registry, tables
from recipes.features import load_feature_spec
from recipes.pictures import png_size
from tests.notebooks.nbtools import png_outputs


@pytest.mark.notebook
@pytest.mark.spark
# @champion, the default, runs in test_story.py
@pytest.mark.parametrize("ref, n_rows", [("/2", 1500)])
def test_batch_score_writes_lineage_and_feature_predictions(
    run_notebook, connect_kernel, model_name, mdk_home, ref, n_rows
):
    schema = f"nb_{uuid.uuid4().hex[:8]}"
    output = f"main.{schema}.churn_scores"
    nb = run_notebook(
        "05_batch_score",
        model_uri=f"models:/{model_name}{ref}",
        n_rows=n_rows,
        output_table=output,
        loop_sample=50,
    )
    expected = registry.version_of(model_name, ref.lstrip("/"))
    home = connect_kernel.workdir  # the Connect server's catalog is its own warehouse
    scored = tables.read_table(output, home=home)
    assert len(scored) == n_rows
    assert set(scored["model_name"]) == {model_name}
    assert set(scored["model_version"]) == {expected}
    assert set(scored["prediction"]) <= {0, 1} and scored["scored_at"].nunique() == 1
    assert tables.read_table(f"main.{schema}.churn_input", home=home)["customer_id"].is_unique
    spec = load_feature_spec(f"models:/{model_name}-features@champion")
    assert spec  # the model carries its feature lookups
    assert "main.features.churn_customers" in str(spec)
    [picture] = png_outputs(nb)  # driver loop vs spark_udf, drawn
    assert min(png_size(picture)) > 100
