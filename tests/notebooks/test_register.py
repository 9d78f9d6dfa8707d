"""01_register executed with papermill, beyond the story's defaults (tests/notebooks/test_story.py):
more versions from other seeds, and one bad parameter through a kernel (the others: tests/unit/test_notebook_checks.py)."""

from __future__ import annotations

import mlflow
import papermill
import pytest

from recipes import registry
from recipes.errors import NotFoundError


@pytest.mark.notebook
def test_register_with_another_seed_adds_versions_to_an_existing_model(run_notebook, model_name):
    from recipes.train import train_and_log

    for kind in ("baseline", "challenger"):  # v1, v2, as a first run of 01 makes them
        train_and_log(300, seed=3, kind=kind, registered_model_name=model_name)
    run_notebook("01_register", model_name=model_name, n_rows=300, seed=4)
    table = registry.describe(model_name)
    assert table["version"].tolist() == [1, 2, 3, 4]
    seeds = [mlflow.get_run(r).data.params["seed"] for r in table["run_id"]]
    assert seeds == ["3", "3", "4", "4"]
    # 01's two runs are in its experiment, with the seed it was given
    runs = mlflow.search_runs(experiment_names=["churn-predictor"], output_format="list")
    ours = {r.info.run_id for r in runs}
    assert set(table["run_id"][2:]) <= ours


@pytest.mark.notebook
def test_a_bad_parameter_fails_in_the_kernel_in_the_first_check(run_notebook, model_name):
    with pytest.raises(papermill.PapermillExecutionError) as exc:
        run_notebook("01_register", model_name=model_name, n_rows="many")
    assert exc.value.ename == "ParameterError"
    assert "'n_rows' must be int, got str 'many'" in exc.value.evalue
    # the first code cell after the parameters (and papermill's injected cell) failed
    assert exc.value.exec_count == 3
    with pytest.raises(NotFoundError):
        registry.require_model(model_name)  # nothing was written
