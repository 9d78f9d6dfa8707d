"""The seed module's registry snippets, run as written against the kit's local default."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from recipes import data, registry, train
from recipes.target import use_target


@pytest.mark.slow
def test_seed_registry_snippets_as_written(mdk_home, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI")  # the embedded default: sqlite under MDK_HOME
    t = use_target()
    assert t.tracking_uri.startswith("sqlite:///") and str(mdk_home) in t.tracking_uri
    df = data.make_churn(600, 0)
    model = train.fit(df)
    # The seed's snippets, exactly as the module prints them:
    # fmt: off

    # Method 1: Register during logging (twice, so that the seed's version 3 exists below)
    for _ in range(2):
        with mlflow.start_run():
            mlflow.sklearn.log_model(
                model,
                "model",
                registered_model_name="churn-predictor"
            )

    # Method 2: Register an existing run's model
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(model, name="model")
    run_id = run.info.run_id
    result = mlflow.register_model(
        model_uri=f"runs:/{run_id}/model",
        name="churn-predictor"
    )
    print(f"Version: {result.version}")
    assert int(result.version) == 3

    client = MlflowClient()

    # Transition a model version to Production
    client.transition_model_version_stage(
        name="churn-predictor",
        version=1,
        stage="Production",
    )
    client.transition_model_version_stage(
        name="churn-predictor",
        version=3,
        stage="Production",
        archive_existing_versions=True  # archives current Production version
    )
    assert registry.describe("churn-predictor")["stage"].tolist() == [
        "Archived", "None", "Production"
    ]

    client.set_registered_model_alias("churn-predictor", "champion", version=3)
    assert registry.aliases("churn-predictor") == {"champion": 3}

    seed_request = pd.DataFrame([data.seed_record()])
    predictions = []
    # Load by stage (legacy)
    model = mlflow.pyfunc.load_model("models:/churn-predictor/Production")
    predictions.append(model.predict(seed_request))
    # Load by alias (recommended)
    model = mlflow.pyfunc.load_model("models:/churn-predictor@champion")
    predictions.append(model.predict(seed_request))
    # Load by version number
    model = mlflow.pyfunc.load_model("models:/churn-predictor/3")
    predictions.append(model.predict(seed_request))

    # fmt: on
    assert [int(p[0]) for p in predictions] == [int(model.predict(seed_request)[0])] * 3
    assert model.metadata.run_id == run_id
