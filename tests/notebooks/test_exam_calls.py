"""The study module's calls stand in the notebooks' code cells, typed as a learner types them.

Each entry is (notebook, a piece of code the module shows). The notebooks run in the other
tests, so a call found here is a call that runs. The kit's old wrappers for these calls must
not stand in for them.
"""

from __future__ import annotations

import nbformat
import pytest

from recipes.workspace_names import CREATED_BY
from tests.notebooks.nbtools import NOTEBOOKS, code_sources

EXAM_CALLS = [
    # registering: method 1 during logging, method 2 from a run; tags, descriptions, search
    ("01_register", "with mlflow.start_run("),
    ("01_register", "mlflow.sklearn.log_model("),
    ("01_register", "registered_model_name=model_name"),
    ("01_register", 'result = mlflow.register_model(\n    model_uri=f"runs:/{run_id}/model"'),
    ("01_register", 'print(f"Version: {result.version}")'),
    ("01_register", "client = MlflowClient()"),
    ("01_register", "client.set_registered_model_tag("),
    ("01_register", "client.update_registered_model("),
    ("01_register", "client.set_model_version_tag("),
    ("01_register", "client.update_model_version("),
    ("01_register", 'client.search_registered_models(filter_string="tags.'),
    ("01_register", "client.search_model_versions(\n        filter_string="),
    # on Unity Catalog the registry's refusals are shown in one line (no stages, no tag filters)
    ("01_register", "with registry.unity_catalog_refuses("),
    ("02_promote", "with registry.unity_catalog_refuses("),
    # stages (exam question 1, both ways) and aliases; loading by stage, alias and version
    ("02_promote", "client.transition_model_version_stage("),
    ("02_promote", "archive_existing_versions=False"),
    ("02_promote", "archive_existing_versions=archive_existing_versions"),
    ("02_promote", 'client.set_registered_model_alias(model_name, "champion"'),
    ("02_promote", 'mlflow.pyfunc.load_model(f"models:/{model_name}/{stage}")'),
    ("02_promote", 'mlflow.pyfunc.load_model(f"models:/{model_name}@champion")'),
    ("02_promote", 'mlflow.pyfunc.load_model(f"models:/{model_name}/{version}")'),
    # serving: the bare WorkspaceClient, create with ServedEntityInput, requests.post twice
    ("03_serve", "w = WorkspaceClient()"),
    (
        "03_serve",
        "config = EndpointCoreConfigInput(\n    name=endpoint_name,\n    served_entities=[\n"
        "        ServedEntityInput(\n            entity_name=model_name,",
    ),
    ("03_serve", "w.serving_endpoints.create(name=endpoint_name, config=config, tags=["),
    (
        "03_serve",
        "w.serving_endpoints.update_config(name=endpoint_name, served_entities=config.served_entities)",
    ),
    ("03_serve", "scale_to_zero_enabled=scale_to_zero_enabled"),
    (
        "03_serve",
        'headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}',
    ),
    (
        "03_serve",
        '"dataframe_records": [\n        {"total_purchases": 15, "avg_session_duration": 320, "days_since_last_visit": 7}',
    ),
    ("03_serve", "response = requests.post(url, headers=headers, json=data)"),
    ("03_serve", '{"dataframe_split": {"columns":'),
    # A/B: two served entities and TrafficConfig(routes=[Route(...), Route(...)])
    ("04_ab_split", "config = EndpointCoreConfigInput("),
    ("04_ab_split", 'ServedEntityInput(\n            name="champion",'),
    ("04_ab_split", 'ServedEntityInput(\n            name="challenger",'),
    ("04_ab_split", "traffic_config=TrafficConfig(\n        routes=["),
    ("04_ab_split", 'Route(served_model_name="champion", traffic_percentage='),
    ("04_ab_split", 'Route(served_model_name="challenger", traffic_percentage='),
    # the inference table: the endpoint's AI Gateway (the legacy auto_capture_config is refused)
    (
        "04_ab_split",
        "ai_gateway = AiGatewayConfig(\n    inference_table_config=AiGatewayInferenceTableConfig(",
    ),
    # batch: spark_udf + withColumn + delta saveAsTable; feature store score_batch
    ("05_batch_score", "predict_udf = mlflow.pyfunc.spark_udf(spark, model_uri=model_uri)"),
    (
        "05_batch_score",
        'predictions_df = input_df.withColumn(\n    "prediction",\n    predict_udf("total_purchases", "avg_session_duration", "days_since_last_visit")',
    ),
    ("05_batch_score", 'predictions_df.write.format("delta").mode("overwrite").saveAsTable('),
    ("05_batch_score", "predictions = fs.score_batch(\n    model_uri="),
    ("05_batch_score", "df=new_customers_df  # only needs primary key columns"),
    # Lakehouse Monitoring's own calls
    (
        "06_monitor",
        "w.quality_monitors.create(\n    table_name=unpacked_table,\n    inference_log=MonitorInferenceLog(",
    ),
    ("06_monitor", 'prediction_col="prediction"'),
    ("06_monitor", 'model_id_col="model_version"'),
    ("06_monitor", 'timestamp_col="transaction_ts"'),
    ("06_monitor", 'label_col="churned"'),
    ("06_monitor", 'slicing_exprs=["days_since_last_visit > 21"]'),
    ("06_monitor", "type=MonitorMetricType.CUSTOM_METRIC_TYPE_AGGREGATE,"),
    ("06_monitor", 'output_data_type=StructField("output", DoubleType()).json()'),
    ("06_monitor", "w.quality_monitors.list_refreshes(table_name=unpacked_table).refreshes"),
    ("06_monitor", "w.quality_monitors.get(table_name=unpacked_table)"),
    ("06_monitor", "MERGE INTO {unpacked_table} AS i"),
    ("06_monitor", "WHERE drift_type = 'CONSECUTIVE' AND column_name IN ('prediction', 'churned')"),
]

# wrappers that used to stand in for the calls above
WRAPPERS = [
    ("01_register", "train.train_and_log("),
    ("02_promote", "registry.transition_stage("),
    ("02_promote", "registry.load_uris(uris)"),  # allowed only after the typed loads; see below
    ("04_ab_split", "deploy.ab_config("),
]


def _code(name: str) -> str:
    return code_sources(nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4))


_KEY, _VALUE = CREATED_BY
#: What each notebook creates on a workspace, and the tag it puts on it in its own cells
#: (or through the recipe it calls), so that `mdk teardown` finds it.
TAGGED_CREATES = [
    # 01: the registered model and both versions
    ("01_register", f'client.set_registered_model_tag(model_name, "{_KEY}", "{_VALUE}")'),
    ("01_register", f'client.set_model_version_tag(model_name, str(v1), "{_KEY}", "{_VALUE}")'),
    ("01_register", f'client.set_model_version_tag(model_name, str(v2), "{_KEY}", "{_VALUE}")'),
    # 03: the endpoint, tagged when created and when updated in place
    ("03_serve", f'config=config, tags=[EndpointTag(key="{_KEY}", value="{_VALUE}")])'),
    (
        "03_serve",
        f'w.serving_endpoints.patch(name=endpoint_name, add_tags=[EndpointTag(key="{_KEY}", value="{_VALUE}")])',
    ),
    # 04 and 06 (when it makes the endpoint): deploy.ensure_endpoint tags it
    (
        "04_ab_split",
        "endpoint = deploy.ensure_endpoint(w, endpoint_name, config, ai_gateway=ai_gateway)",
    ),
    ("06_monitor", "bootstrap.ensure_ab_endpoint("),
    # 05: the feature model's version (tables: recipes.tables marks what it writes)
    ("05_batch_score", "registry.tag_created(feature_model, feature_version)"),
]


@pytest.mark.parametrize(
    ("notebook", "call"), TAGGED_CREATES, ids=[f"{n}:{c[:40]}" for n, c in TAGGED_CREATES]
)
def test_what_a_notebook_creates_carries_the_kits_tag(notebook, call):
    assert call in _code(notebook), f"{notebook} has no code cell with {call!r}"


def test_the_tag_the_cells_type_is_the_kits_constant():
    assert CREATED_BY == ("created_by", "mdk")  # the cells above type it literally


def test_the_endpoint_is_created_only_with_the_tag():
    code = _code("03_serve")
    assert code.count("w.serving_endpoints.create(") == 1
    assert code.count("w.serving_endpoints.update_config(") == 1
    assert code.index("w.serving_endpoints.patch(name=endpoint_name, add_tags=") < code.index(
        "w.serving_endpoints.update_config("
    )


@pytest.mark.parametrize(
    ("notebook", "call"), EXAM_CALLS, ids=[f"{n}:{c[:40]}" for n, c in EXAM_CALLS]
)
def test_the_exam_call_is_typed_in_a_code_cell(notebook, call):
    assert call in _code(notebook), f"{notebook} has no code cell with {call!r}"


@pytest.mark.parametrize(("notebook", "wrapper"), [w for w in WRAPPERS if "load_uris" not in w[1]])
def test_no_wrapper_stands_in_for_the_exam_call(notebook, wrapper):
    assert wrapper not in _code(notebook)


@pytest.mark.parametrize("notebook", sorted(p.stem for p in NOTEBOOKS.glob("0*.ipynb")))
def test_no_notebook_types_the_legacy_inference_table_call(notebook):
    """Databricks refuses ``auto_capture_config`` since 2026-02-20; 07's Q11 runs it in
    ``recipes/exam`` to show the refusal, and no notebook types it."""
    code = _code(notebook)
    assert "auto_capture_config" not in code and "AutoCaptureConfigInput" not in code


def test_the_typed_loads_come_before_the_kits_summary_table():
    code = _code("02_promote")
    assert code.index('mlflow.pyfunc.load_model(f"models:/{model_name}@champion")') < code.index(
        "registry.load_uris(uris)"
    )


def test_the_feature_store_import_the_module_shows_is_explained_in_markdown():
    nb = nbformat.read(NOTEBOOKS / "05_batch_score.ipynb", as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "from databricks.feature_store import FeatureStoreClient" in text
    assert "databricks.feature_engineering" in text
    assert "fs = feature_client(target)" in code_sources(nb)
