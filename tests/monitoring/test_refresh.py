"""The refresh job's checks before and around Spark: columns from the Delta log, and a session
whose catalog is not the endpoint's warehouse refused in one line (no JVM here)."""

from __future__ import annotations

from types import SimpleNamespace

import pyarrow as pa
import pytest

from recipes import tables
from recipes.delta_lake import CATALOG_CLASS
from recipes.errors import KitError
from recipes.monitoring.refresh import check_catalog


def _session(conf: dict[str, str]):
    return SimpleNamespace(
        conf=SimpleNamespace(get=lambda key, default=None: conf.get(key, default))
    )


def test_columns_come_from_the_delta_log(mdk_home):
    tables.append("main.mdk.t_payload", pa.table({"timestamp": [1], "prediction": [0.5]}))
    assert tables.column_names("main.mdk.t_payload", home=mdk_home) == ["timestamp", "prediction"]


def test_a_session_over_another_warehouse_is_refused(mdk_home, tmp_path):
    ours = {
        "spark.sql.catalog.main": CATALOG_CLASS,
        "spark.sql.catalog.main.root": str(mdk_home / "warehouse" / "main"),
    }
    check_catalog(_session(ours), "main.mdk.t_payload", mdk_home)  # the endpoint's: fine
    check_catalog(_session({}), "main.mdk.t_payload", mdk_home)  # not the kit's catalog
    other = {**ours, "spark.sql.catalog.main.root": str(tmp_path / "elsewhere" / "main")}
    with pytest.raises(KitError) as exc:
        check_catalog(_session(other), "main.mdk.t_payload", mdk_home)
    message = str(exc.value)
    assert "\n" not in message and "elsewhere" in message and "MDK_SPARK_REMOTE" in message


@pytest.mark.spark
def test_a_refresh_writes_tables_dbdemos_sql_reads_unchanged(spark, spark_run):
    """compute() on an inference log with a label, a slice and dbdemos' expected_loss: the
    queries of Databricks' demo run unchanged on the tables it writes, and return rows."""
    import pyarrow as pa

    from recipes import data
    from recipes.monitoring.refresh import compute
    from tests.monitoring.conftest import unique_names
    from tests.monitoring.frames import labeled

    table, _ = unique_names("demo")
    tables.append(
        table,
        pa.Table.from_pandas(labeled([{}, {"drift": 1.5}], n=300), preserve_index=False),
        home=spark_run.home,
    )
    loss = {
        "type": "CUSTOM_METRIC_TYPE_AGGREGATE",
        "name": "expected_loss",
        "input_columns": [":table"],
        "output_data_type": '{"name":"output","type":"double","nullable":true,"metadata":{}}',
        "definition": "avg(CASE WHEN {{prediction_col}} != "
        "{{label_col}} AND {{label_col}} = 1 THEN -total_purchases ELSE 0 END)",
    }
    monitor = {
        "table_name": table,
        "output_schema_name": "main.mdk",
        "slicing_exprs": ["plan"],
        "inference_log": {
            "problem_type": "PROBLEM_TYPE_CLASSIFICATION",
            "timestamp_col": "timestamp",
            "granularities": ["1 hour"],
            "model_id_col": "model_version",
            "prediction_col": "prediction",
            "label_col": data.LABEL,
        },
        "custom_metrics": [loss],
    }
    summary = compute(monitor, spark_run.home, spark)
    profile, drift = summary["tables"]
    got = spark.sql(
        f"SELECT window, accuracy_score, f1_score.macro, expected_loss FROM {profile} "
        "WHERE log_type = 'INPUT' AND column_name = ':table' AND slice_key IS NULL AND "
        "model_version = '*'"
    ).collect()
    assert len(got) == 2 and all(r["accuracy_score"] > 0.7 and r["macro"] > 0.6 for r in got)
    assert all(r["expected_loss"] < 0 for r in got)
    consecutive = spark.sql(
        f"SELECT window, column_name, js_distance FROM {drift} WHERE drift_type = "
        f"'CONSECUTIVE' AND column_name IN ('prediction', '{data.LABEL}')"
    ).collect()
    assert {r["column_name"] for r in consecutive} == {data.LABEL, "prediction"}
    assert len(consecutive) == 2 * 3 * 3  # columns x models (*, 1, 2) x (table, gold, basic)
    types = dict(tables.read_table(profile, spark=spark).dtypes)
    assert types["window"] == "struct<start:timestamp,end:timestamp>"
    assert types["f1_score"] == "struct<one_vs_all:map<string,double>,macro:double,weighted:double>"
    assert types["frequent_items"] == "array<struct<item:string,count:bigint>>"
    assert types["expected_loss"] == "double" and types["logging_table_commit_version"] == "int"
    dtypes = dict(tables.read_table(drift, spark=spark).dtypes)
    assert dtypes["non_null_columns_delta"] == "struct<added:int,missing:int>"
    # read back without Spark (delta-rs), as a notebook reads them: the views and the verdict
    from recipes.monitoring import quality_by_model, summarize_drift, summarize_profile, verdict

    p, d = tables.read(profile, home=spark_run.home), tables.read(drift, home=spark_run.home)
    assert len(summarize_profile(p)) == 2 * 7 and len(summarize_drift(d)) == 7  # 7 columns
    quality = quality_by_model(p).set_index("model_id")
    assert quality.loc["*", "labeled_rows"] == 600 - len(range(0, 600, 9))  # NULL: not scored
    v = verdict(d, p, champion=1, challenger=2, label_col=data.LABEL)
    assert v.decision == "drift" and "days_since_last_visit" in v.drifted
    assert "too few labeled rows" in v.reason
    broken = {**monitor, "custom_metrics": [{**loss, "definition": "avg(nope)"}]}
    with pytest.raises(KitError, match="Custom metric 'expected_loss'.*UNRESOLVED_COLUMN.*nope"):
        compute(broken, spark_run.home, spark)
