"""score_table once more, against the session's real local Spark Connect server (tests/conftest.py).

The client runs in a subprocess: pyspark cannot hold this suite's classic session and a
Connect session in one process. The server's warehouse is shared by the whole run, not the
test's MDK_HOME: the client overwrites its tables and reads them back through the server.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.spark_connect import FORBIDDEN_PORT, run_client

_CLIENT = textwrap.dedent(
    """
    import json

    from recipes import batch, registry, tables
    from recipes.data import live_traffic
    from recipes.spark import describe_session, get_spark, stop_spark
    from recipes.target import use_target

    use_target("local")
    registry.set_alias("churn-predictor", "champion", 2)
    spark = get_spark()
    kind = describe_session(spark)["kind"]
    tables.write_table("main.raw.traffic", spark.createDataFrame(live_traffic(300, seed=5)))
    result = batch.score_table(
        "models:/churn-predictor@champion", "main.raw.traffic", "main.predictions.connect"
    )
    df = tables.read_table("main.predictions.connect", spark=spark)
    lineage = [r.asDict() for r in df.select("model_name", "model_version").distinct().collect()]
    out = {
        "kind": kind,
        "rows": result.rows,
        "version": result.model_version,
        "table_rows": df.count(),
        "types": dict(df.dtypes),
        "lineage": lineage,
        "scored_at": df.select("scored_at").distinct().count(),
        "classes": sorted(r[0] for r in df.select("prediction").distinct().collect()),
    }
    stop_spark()
    print(json.dumps(out))
    """
)


@pytest.mark.spark
@pytest.mark.timeout(300)
def test_score_table_over_spark_connect(spark_connect, trained, mdk_home):
    assert spark_connect.port != FORBIDDEN_PORT
    result = run_client(
        _CLIENT, env={"MDK_SPARK_REMOTE": spark_connect.url, "MDK_HOME": str(mdk_home)}, timeout=200
    )
    assert result["kind"] == "connect"
    assert result["rows"] == result["table_rows"] == 300
    assert result["version"] == 2
    assert result["lineage"] == [{"model_name": trained, "model_version": 2}]
    assert result["scored_at"] == 1
    assert result["types"]["prediction"] == "bigint"
    assert result["types"]["scored_at"] == "timestamp"
    assert set(result["classes"]) <= {0, 1}
