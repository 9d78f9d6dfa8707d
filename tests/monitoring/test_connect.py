"""recipes.monitoring under Spark Connect gives what the classic session gives.

The client runs in a subprocess (this process holds the classic session) against the session's
local Spark Connect server (tests/conftest.py); each reads the same payload rows, written (as
the endpoint writes them, with delta-rs) into the warehouse of each: the server's and the
classic session's, each shared by the whole run, so under names of this test's own. The client
reads them through the processed table (``process_inference_table``), the classic session
unpacks them on the fly: the metrics are the same.
"""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest

from recipes import data
from recipes.monitoring import (
    drift_metrics,
    profile_metrics,
    quality_metrics,
    unpack_inference_table,
)
from tests.monitoring.conftest import unique_names
from tests.monitoring.payloads import T0, records_row, request_row, split_row, write
from tests.spark_connect import run_client

CLIENT = textwrap.dedent(
    """
    import json, os
    import pandas as pd
    from recipes import data
    from recipes import tables
    from recipes.monitoring import drift_metrics, process_inference_table, profile_metrics, quality_metrics
    from recipes.spark import describe_session, get_spark, stop_spark

    payload, processed = os.environ["TEST_PAYLOAD"], os.environ["TEST_PROCESSED"]
    spark = get_spark()
    done = process_inference_table(payload, processed, spark=spark)
    again = process_inference_table(payload, processed, spark=spark)
    df = tables.read_table(processed, spark=spark)
    cols = [*data.FEATURES, "prediction"]
    base = spark.createDataFrame(data.make_churn(500, 0)[list(data.FEATURES)])
    profile = profile_metrics(df, "1 hour", columns=cols)
    drift = drift_metrics(df, base, "1 hour", columns=cols, categorical=["prediction"])
    labels = pd.DataFrame({"customer_id": range(400), "churned": [i % 2 for i in range(400)]})
    quality = quality_metrics(df, labels)
    print(json.dumps({"kind": describe_session(spark)["kind"], "rows": df.count(),
                      "new_rows": [done.new_rows, again.new_rows],
                      "profile": profile.to_json(), "drift": drift.to_json(),
                      "quality": quality.to_json()}))
    stop_spark()
    """
)


def _payload(table: str, homes: list) -> None:
    churn = data.make_churn(400, seed=5)
    rows = []
    for i, rec in enumerate(churn.drop(columns=data.LABEL).to_dict("records")):
        ts = T0 + i * 20_000  # 400 requests over ~2 hours
        if i % 3 == 2:
            rows.append(
                records_row(
                    [rec], [int(rec["days_since_last_visit"] > 20)], ts=ts, version=str(1 + i % 2)
                )
            )
        elif i % 3 == 1:  # columnar inputs
            rows.append(request_row([rec], [1], "inputs", ts=ts))
        else:
            rows.append(split_row(list(rec), [list(rec.values())], [0], ts=ts))
    for home in homes:
        write(table, rows, home=home)


@pytest.mark.spark
def test_connect_and_classic_give_the_same_metrics(spark_connect, mdk_home, spark, spark_run):
    payload, processed = unique_names()
    _payload(payload, [spark_connect.workdir, spark_run.home])  # <home>/warehouse of each
    got = run_client(
        CLIENT,
        env={
            "MDK_SPARK_REMOTE": spark_connect.url,
            "MDK_HOME": str(mdk_home),
            "TEST_PAYLOAD": payload,
            "TEST_PROCESSED": processed,
        },
        timeout=400,
    )
    assert got["kind"] == "connect" and got["rows"] == 400
    assert got["new_rows"] == [400, 0]  # the second call found nothing new
    df = unpack_inference_table(payload, spark=spark)
    cols = [*data.FEATURES, "prediction"]
    base = spark.createDataFrame(data.make_churn(500, 0)[list(data.FEATURES)])
    labels = pd.DataFrame({"customer_id": range(400), "churned": [i % 2 for i in range(400)]})
    classic = {
        "profile": profile_metrics(df, "1 hour", columns=cols),
        "drift": drift_metrics(df, base, "1 hour", columns=cols, categorical=["prediction"]),
        "quality": quality_metrics(df, labels),
    }
    for name, frame in classic.items():
        assert json.loads(got[name]) == json.loads(frame.to_json()), name
    assert len(classic["drift"]) > 0 and len(classic["quality"]) == 3
