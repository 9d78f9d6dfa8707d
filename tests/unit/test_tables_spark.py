"""recipes.tables with Spark: writes and reads, the atomic overwrite, and format("delta").

One classic session for the file (the ``spark`` fixture); Spark Connect runs in a
subprocess against a local server, since one process cannot hold both kinds.
"""

from __future__ import annotations

import os
import textwrap

import pandas as pd
import pytest

from recipes import tables
from recipes.errors import ParameterError

pytestmark = pytest.mark.spark

NAME = "main.preds.scores"
SCHEMA = "id int, n bigint, x double, meta map<string,string>"


def _rows(spark, version: int, n: int):
    data = [(i, version, i / 4, {"v": str(version)}) for i in range(n)]
    return spark.createDataFrame(data, SCHEMA)


def _versions(name: str) -> list[str]:
    path = tables.table_path(name)
    return sorted(os.listdir(path.parent / f".{path.name}.versions"))


def test_spark_write_append_read_list_drop(spark, mdk_home):
    made = tables.write_table(NAME, _rows(spark, 1, 5).repartition(2))
    assert made.rows == 5 and made.mode == "overwrite"
    df = tables.read_table(NAME, spark=spark)
    assert [f.dataType.simpleString() for f in df.schema] == [
        "int",
        "bigint",
        "double",
        "map<string,string>",
    ]
    assert sorted(r.id for r in df.collect()) == [0, 1, 2, 3, 4]
    tables.write_table(NAME, _rows(spark, 2, 3), mode="append")
    tables.append(NAME, tables.read_arrow(NAME).slice(0, 1))  # an inference-table style part
    pdf = tables.read_table(NAME)
    assert len(pdf) == 9 and pdf["meta"].iloc[-2] == {"v": "2"}
    assert str(pdf["id"].dtype) == "int32" and str(pdf["n"].dtype) == "int64"
    assert tables.read_table(NAME, spark=spark).count() == 9
    with pytest.raises(ParameterError, match="'n' is int64 in the table but double"):
        tables.write_table(
            NAME, _rows(spark, 3, 1).selectExpr("id", "double(n) n", "x", "meta"), mode="append"
        )
    # pandas written, Spark read (timestamps in microseconds)
    tables.write_table("main.preds.ts", pd.DataFrame({"ts": pd.to_datetime(["2026-01-02"])}))
    assert str(tables.read_table("main.preds.ts", spark=spark).first().ts) == "2026-01-02 00:00:00"
    assert tables.list_tables("main.preds") == ["main.preds.scores", "main.preds.ts"]
    assert tables.drop_table(NAME) and tables.list_tables() == ["main.preds.ts"]


def test_failed_spark_overwrite_leaves_the_old_table(spark, mdk_home):
    from pyspark.sql.functions import col, udf

    tables.write_table(NAME, _rows(spark, 1, 20))
    before = (tables.version_folder(NAME), _versions(NAME))

    @udf("double")
    def score(i):
        if i == 13:
            raise ValueError("poison row 13")
        return i / 2

    poisoned = _rows(spark, 2, 40).repartition(4).withColumn("x", score(col("id")))
    with pytest.raises(Exception, match="poison row 13"):
        tables.write_table(NAME, poisoned)
    assert (tables.version_folder(NAME), _versions(NAME)) == before
    assert os.listdir(tables.table_path(NAME).parent / ".scores.staging") == []
    assert tables.read_table(NAME)["n"].tolist() == [1] * 20
    assert tables.read_table(NAME, spark=spark).where("n = 1").count() == 20


def test_the_delta_line_lands_in_the_kit(spark, mdk_home):
    predictions_df = _rows(spark, 1, 6)
    predictions_df.write.format("delta").mode("overwrite").saveAsTable("predictions.churn_scores")
    full = "main.predictions.churn_scores"
    assert tables.read_table(full)["id"].tolist() == list(range(6))
    assert spark.table("predictions.churn_scores").count() == 6
    assert spark.read.table(full).count() == 6
    _rows(spark, 2, 2).write.format("delta").mode("append").saveAsTable(full)
    _rows(spark, 3, 1).write.saveAsTable(full, format="delta", mode="append")
    assert sorted(tables.read_table(full)["n"].tolist()) == [1] * 6 + [2] * 2 + [3]
    with pytest.raises(tables.TableExistsError):
        _rows(spark, 4, 1).write.format("delta").saveAsTable("predictions.churn_scores")
    _rows(spark, 5, 2).write.format("DELTA").mode("overwrite").saveAsTable(full)
    assert spark.table(full).where("n = 5").count() == 2 == tables.row_count(full)
    # other formats and names are still Spark's own
    assert not spark.catalog.tableExists("predictions.churn_scores")
    _rows(spark, 6, 1).write.format("parquet").mode("overwrite").saveAsTable("plain_t")
    assert spark.table("plain_t").count() == 1 and not tables.exists("main.default.plain_t")


_CONNECT_CLIENT = textwrap.dedent(
    """
    import json
    from pyspark.sql.functions import col, udf
    from recipes import tables
    from recipes.spark import get_spark, describe_session

    spark = get_spark("local")
    df = spark.createDataFrame([(i, 1) for i in range(6)], "id int, n bigint")
    df.write.format("delta").mode("overwrite").saveAsTable("predictions.churn_scores")

    @udf("bigint")
    def boom(i):
        if i == 3:
            raise ValueError("poison row 3")
        return i

    try:
        df.withColumn("n", boom(col("id"))).write.format("delta").mode(
            "overwrite"
        ).saveAsTable("predictions.churn_scores")
        failed = ""
    except Exception as exc:
        failed = str(exc)
    written = tables.write_table("main.x.y", df, mode="append")
    print(json.dumps({
        "kind": describe_session(spark)["kind"],
        "failed": "poison row 3" in failed,
        "n": sorted(r.n for r in spark.table("predictions.churn_scores").collect()),
        "rows": tables.row_count("main.predictions.churn_scores"),
        "written": written.rows,
    }))
    """
)


def test_spark_connect_writes_through_the_kit(spark_connect, mdk_home):
    from tests.spark_connect import run_client

    out = run_client(_CONNECT_CLIENT, env={"MDK_SPARK_REMOTE": spark_connect.url})
    assert out == {"kind": "connect", "failed": True, "n": [1] * 6, "rows": 6, "written": 6}
    assert tables.read_table("main.x.y")["id"].tolist() == list(range(6))
