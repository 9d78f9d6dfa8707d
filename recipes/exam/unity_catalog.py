"""The registries the Unity Catalog questions compare, and the model they compare them on.

Three registries answer side by side:

- **open-source MLflow**: the lab's own registry (the local target);
- **the workspace registry**: MLflow's ``databricks`` registry client against the local
  workspace double, which passes its REST calls to a real ``mlflow server`` (the double does
  not serve that registry's file downloads, so it shows which version a URI resolves to);
- **Unity Catalog**: MLflow's ``databricks-uc`` client against the double, which applies
  Unity Catalog's rules (three-level names, no stages, no ``/latest``); MLflow's client
  completes a shorter name from the Spark session's current catalog and schema first.
"""

from __future__ import annotations

import pandas as pd

from recipes.exam.lab import PIP, UC_EXPERIMENT


def _typed_model():
    """A churn model with the kit's typed signature (Unity Catalog requires one): the three
    whole-number features as ``long``, as every churn model of the kit has."""
    from recipes import data, train

    df = data.make_churn(1000, seed=0)
    return train.fit(df, kind="baseline"), train.signature()


def _record() -> pd.DataFrame:
    from recipes.data import seed_record

    return pd.DataFrame([seed_record()])  # the study module's JSON integers, int64


def uc_models(lab) -> dict:
    """The Unity Catalog model (with ``@champion``) and the same run registered in the
    workspace registry (in Production; MLflow's client refuses aliases there), made once per
    double."""

    def make() -> dict:
        import mlflow

        # MLflow's Unity Catalog store keeps the Spark session active when it is first made
        # (UcModelRegistryStore.__init__), to complete short names from its current catalog
        # (question 6): start the session before the store is made
        lab.spark()
        uc_model, ws_model = lab.related("uc"), lab.related("workspace")
        model, signature = _typed_model()
        with lab.unity_catalog("databricks-uc"):
            client = mlflow.MlflowClient()
            found = client.get_experiment_by_name(UC_EXPERIMENT)
            exp = found.experiment_id if found else client.create_experiment(UC_EXPERIMENT)
            with mlflow.start_run(experiment_id=exp) as run:
                info = mlflow.sklearn.log_model(
                    model,
                    name="model",
                    signature=signature,
                    pip_requirements=PIP,
                    registered_model_name=uc_model,
                )
            uc_version = int(info.registered_model_version)
            client.set_registered_model_alias(uc_model, "champion", uc_version)
        run_uri = f"runs:/{run.info.run_id}/model"
        with lab.unity_catalog("databricks"):
            client = mlflow.MlflowClient()
            mv = mlflow.register_model(run_uri, ws_model)
            ws_version = int(mv.version)
            client.transition_model_version_stage(ws_model, ws_version, "Production")
        return {
            "uc_version": uc_version,
            "ws_version": ws_version,
            "run_uri": run_uri,
            "uc_model": uc_model,
            "ws_model": ws_model,
        }

    return lab.once("uc:models", make)


def load_and_predict(uri: str) -> str:
    """Load ``uri`` and predict the seed record; raises what loading raises."""
    import mlflow

    pred = mlflow.pyfunc.load_model(uri).predict(_record())
    return f"loads, predicts {int(pd.Series(pred).iloc[0])}"
