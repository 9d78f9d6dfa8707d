"""unpack_inference_table on payload tables written the way the endpoint writes them."""

from __future__ import annotations

import pandas as pd
import pytest

from recipes.errors import KitError, NotFoundError, ParameterError
from recipes.formats import FORMATS
from recipes.monitoring import unpack_inference_table
from recipes.monitoring.unpack import CONTEXT, infer_columns
from tests.monitoring.payloads import T0, records_row, request_row, row, split_row

pytestmark = pytest.mark.spark


def _rows(spark, table, **kw) -> pd.DataFrame:
    df = unpack_inference_table(table, spark=spark, **kw)
    return df.toPandas().sort_values(
        ["timestamp", "databricks_request_id", "row_index"], ignore_index=True
    )


def test_records_split_and_batch_requests_become_one_row_per_prediction(spark, tbl):
    tbl.write(
        [
            records_row(
                [
                    {
                        "customer_id": 7,
                        "total_purchases": 15,
                        "avg_session_duration": 320,
                        "days_since_last_visit": 7,
                    }
                ],
                [1],
                crid="a-1",
                ts=T0,
            ),
            records_row(
                [
                    {
                        "customer_id": 8,
                        "total_purchases": 2,
                        "avg_session_duration": 10.5,
                        "days_since_last_visit": 40,
                    },
                    {
                        "customer_id": 9,
                        "total_purchases": 30,
                        "avg_session_duration": 600.25,
                        "days_since_last_visit": 1,
                    },
                ],
                [1, 0],
                crid="batch",
                version="2",
                entity="challenger",
                ts=T0 + 1,
            ),
            split_row(
                ["days_since_last_visit", "customer_id", "avg_session_duration", "total_purchases"],
                [[3, 10, 99.5, 4], [50, 11, 12.0, 1], [0, 12, 5, 9]],
                [0, 1, 0],
                ts=T0 + 2,
            ),
            row({"dataframe_records": [{"customer_id": 1}]}, [], status=400, ts=T0 + 3),
        ]
    )
    got = _rows(spark, tbl.payload)
    assert list(got.columns[: len(CONTEXT)]) == list(CONTEXT)
    assert got["customer_id"].tolist() == [7, 8, 9, 10, 11, 12]  # the 400 is left out
    assert got["prediction"].tolist() == [1, 1, 0, 0, 1, 0]
    assert got["row_index"].tolist() == [0, 0, 1, 0, 1, 2]
    assert got["avg_session_duration"].tolist() == [320, 10.5, 600.25, 99.5, 12.0, 5]
    assert got["days_since_last_visit"].tolist() == [7, 40, 1, 3, 50, 0]
    assert got["model_version"].tolist() == ["1", "2", "2", "1", "1", "1"]
    assert got["served_entity_name"].tolist()[:3] == ["champion", "challenger", "challenger"]
    assert got["client_request_id"].tolist()[:3] == ["a-1", "batch", "batch"]
    assert got["timestamp"].iloc[0] == pd.Timestamp(T0, unit="ms")
    assert got["endpoint_name"].unique().tolist() == ["ep"]


def test_the_kits_whole_number_features_come_back_exact_from_every_format(spark, tbl):
    """The features are long (JSON integers): unpacked as double, every value exact."""
    from recipes import data

    frame = data.monitoring_traffic(40, drift=1.0, drifted_features=data.FEATURES)
    sent = data.request_records(frame)
    assert {type(r[c]) for r in sent for c in data.FEATURES} == {int}
    cols = [data.KEY, *data.FEATURES]
    chunks = [sent[i : i + 10] for i in range(0, 40, 10)]
    tbl.write(
        [
            request_row(chunk, [0] * 10, fmt, ts=T0 + i)
            for i, (fmt, chunk) in enumerate(zip(FORMATS, chunks, strict=True))
        ]
    )
    got = _rows(spark, tbl.payload)
    assert {c: str(got[c].dtype) for c in data.FEATURES} == dict.fromkeys(data.FEATURES, "float64")
    want = frame[cols].astype({c: "float64" for c in data.FEATURES}).reset_index(drop=True)
    pd.testing.assert_frame_equal(got[cols], want, check_dtype=False)


def test_instances_and_inputs_records_are_read_too(spark, tbl):
    tbl.write(
        [
            row({"instances": [{"x": 1.5}]}, [0], ts=T0),
            row({"inputs": [{"x": 2.5}, {"x": 3.5}]}, [1, 1], ts=T0 + 1),
        ]
    )
    assert _rows(spark, tbl.payload)["x"].tolist() == [1.5, 2.5, 3.5]


def test_columnar_inputs_and_instances_give_one_row_per_position(spark, tbl):
    tbl.write(
        [
            row({"inputs": {"x": [4.5, 5.5, None], "plan": ["a", "b", "c"]}}, [0, 1, 0], ts=T0),
            row({"instances": {"plan": "d", "x": 6.5}}, [1], ts=T0 + 1),
        ]
    )
    got = _rows(spark, tbl.payload)
    assert got["x"].tolist()[:2] == [4.5, 5.5] and pd.isna(got["x"].iloc[2])
    assert got["x"].iloc[3] == 6.5
    assert got["plan"].tolist() == ["a", "b", "c", "d"]
    assert got["row_index"].tolist() == [0, 1, 2, 0]
    assert got["prediction"].tolist() == [0, 1, 0, 1]


def test_since_keeps_later_requests_only(spark, tbl):
    tbl.write([records_row([{"x": i}], [0], ts=T0 + 1000 * i) for i in range(5)])
    got = _rows(spark, tbl.payload, since=(T0 + 2500) / 1000)
    assert got["x"].tolist() == [3, 4]
    since = pd.Timestamp(T0 + 1000, unit="ms", tz="UTC").to_pydatetime()
    assert _rows(spark, tbl.payload, since=since)["x"].tolist() == [1, 2, 3, 4]


def test_types_strings_and_values_that_do_not_parse(spark, tbl, monkeypatch):
    from recipes.monitoring import unpack

    tbl.write(
        [
            records_row([{"plan": "gold", "n": 1, "ok": True}], ["yes"], ts=T0),
            records_row([{"plan": "free", "n": "oops", "ok": False}], ["no"], ts=T0 + 1),
        ]
    )
    df = unpack_inference_table(tbl.payload, spark=spark)
    types = dict(df.dtypes)
    assert (types["plan"], types["n"], types["ok"], types["prediction"]) == (
        "string",
        "string",
        "boolean",
        "string",
    )  # fmt: skip: a sampled "oops" makes n a string
    assert df.orderBy("timestamp").toPandas()["n"].tolist() == ["1", "oops"]
    monkeypatch.setattr(unpack, "SAMPLE", 1)  # the sample sees only the first request
    got = unpack_inference_table(tbl.payload, spark=spark).orderBy("timestamp").toPandas()
    assert got["plan"].tolist() == ["gold", "free"] and got["prediction"].tolist() == ["yes", "no"]
    assert got["n"].iloc[0] == 1 and pd.isna(got["n"].iloc[1])  # not a number: null, no error


def test_features_argument_selects_columns_and_names_unknown_ones(spark, tbl):
    tbl.write([records_row([{"a": 1, "b": 2}], [0], ts=T0)])
    df = unpack_inference_table(tbl.payload, spark=spark, features=["b"])
    assert df.columns == [*CONTEXT, "b", "prediction"]
    with pytest.raises(ParameterError, match=r"\['zz'\] are in no sampled request.*a, b"):
        unpack_inference_table(tbl.payload, spark=spark, features=["zz"])


def test_a_table_without_successful_requests_names_the_fix(spark, tbl):
    with pytest.raises(NotFoundError, match=f"{tbl.payload}' does not exist") as exc:
        unpack_inference_table(tbl.payload, spark=spark)
    assert "\n" not in str(exc.value)
    tbl.write([row({"dataframe_records": [{"a": 1}]}, [], status=400, ts=T0)])
    with pytest.raises(KitError, match="no successful request.*send traffic"):
        unpack_inference_table(tbl.payload, spark=spark)
    with pytest.raises(ParameterError, match="since must be"):
        unpack_inference_table(tbl.payload, spark=spark, since="yesterday")


def test_infer_columns_skips_bad_json_and_mixed_numbers_are_double():
    kinds, pred = infer_columns(
        [
            '{"dataframe_records": [{"a": 1}]}',
            "{oops",
            '{"dataframe_records": [{"a": 2.5, "b": "x"}]}',
        ],
        ['{"predictions": [0]}', "{}", '{"predictions": [0.5]}'],
    )
    assert kinds == {"a": "double", "b": "string"} and pred == "double"


def test_names_and_versions_come_from_the_latest_served_entities_row(spark, tbl):
    """As on Databricks, the payload row names its served entity by id only: the context comes
    from system.serving.served_entities, its latest row per id (a table of changes); an id
    the table does not name gets null names, and its records are kept."""
    import uuid

    import pyarrow as pa

    from recipes import tables
    from recipes.endpoint import capture
    from recipes.endpoint.config import EntitySpec

    endpoint_id = uuid.uuid4().hex  # this test's own served entities
    spec = EntitySpec(name="blue", entity_name="churn-predictor", entity_version="7")
    first = capture.served_entity_row(
        endpoint_name="ep-a",
        endpoint_id=endpoint_id,
        spec=spec,
        config_version=1,
        change_time=T0 / 1000,
    )
    later = first | {
        "endpoint_name": "ep-b",
        "entity_version": "8",
        "endpoint_config_version": 2,
        "change_time": pd.Timestamp(T0 + 60_000, unit="ms", tz="UTC").to_pydatetime(),
    }
    for entity_row in (later, first):  # the older one last: the latest is by change_time
        data = pa.Table.from_pylist([entity_row], schema=capture.SERVED_ENTITIES_SCHEMA)
        tables.append(
            capture.SERVED_ENTITIES_TABLE, data, home=tbl.home, configuration=capture.TABLE_CONFIG
        )
    known = records_row([{"x": 1.0}], [1], ts=T0) | {"served_entity_id": first["served_entity_id"]}
    unknown = records_row([{"x": 2.0}], [0], ts=T0 + 1) | {"served_entity_id": uuid.uuid4().hex}
    tbl.write([known, unknown])
    got = _rows(spark, tbl.payload)
    assert got["x"].tolist() == [1.0, 2.0]
    assert got.loc[
        0, ["endpoint_name", "served_entity_name", "model_name", "model_version"]
    ].tolist() == ["ep-b", "blue", "churn-predictor", "8"]
    assert got.loc[1, ["endpoint_name", "served_entity_name", "model_version"]].isna().all()
