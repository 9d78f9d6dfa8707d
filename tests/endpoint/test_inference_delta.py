"""The endpoint's inference table is a real Delta table that Spark jobs use while it grows.

ONE AI Gateway inference table, ``main.<unique schema>.delta_payload``, in the warehouse of
the session's classic Spark session (``spark_run.home``), so ``spark.table`` resolves it:

- a real endpoint process (``python -m recipes.endpoint``, its ``MDK_HOME`` that same home),
  an A/B endpoint created with ``ai_gateway.inference_table_config``, captures its requests
  into it with delta-rs: the table has Databricks' columns, the change data feed on, the
  kit's mark, and checkpoints once it has more than 10 commits; no JVM runs for it;
- one row per request, 4xx answers included; ``served_entity_id`` joins (in Spark, by name)
  to ``system.serving.served_entities``, which names the entity and model version that
  answered;
- then, concurrently, the endpoint and an in-process capture writer (the class the endpoint
  runs, flushing every 50 ms) append many small batches, a Spark job reads the change data
  feed incrementally (each read from the last version seen + 1) and Spark ``OPTIMIZE``s the
  table: no row is lost or duplicated, in the feed nor in the table.
"""

from __future__ import annotations

import threading
import time
import uuid

import psutil
import pytest
import requests
from deltalake import DeltaTable

from recipes import tables
from recipes.endpoint.capture import CaptureWriter, make_row
from recipes.formats import encode
from tests.endpoint.server import RECORD, Server, capture, entity, routes

pytestmark = [pytest.mark.spark, pytest.mark.server, pytest.mark.timeout(400)]

SCHEMA = f"infer_delta_{uuid.uuid4().hex[:8]}"  # a schema no other test uses
TABLE = f"main.{SCHEMA}.delta_payload"
ENDPOINT = "delta-capture"
COMMITS = 12  # more than delta.checkpointInterval (10)
PHASE_SECONDS = 60  # bound on each traffic phase


class Traffic:
    """Requests to the endpoint from one thread, each with its own client_request_id."""

    def __init__(self, server: Server, prefix: str, pause: float = 0.05):
        self.server, self.prefix, self.pause = server, prefix, pause
        self.sent: list[tuple[str, int | None]] = []  # (crid, status; None: no answer)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + PHASE_SECONDS
        while not self._stop.is_set() and time.monotonic() < deadline:
            crid = f"{self.prefix}-{len(self.sent)}"
            body = encode([RECORD], "dataframe_records", client_request_id=crid)
            try:
                self.sent.append((crid, self.server.invoke(ENDPOINT, body).status_code))
            except requests.RequestException:
                self.sent.append((crid, None))
            time.sleep(self.pause)

    def start(self) -> Traffic:
        self._thread.start()
        return self

    def stop(self) -> list[tuple[str, int]]:
        self._stop.set()
        self._thread.join(30)
        return self.sent


def _delta(home) -> DeltaTable:
    return DeltaTable(str(tables.table_path(TABLE, home)))


def _rows_by_crid(home, prefix: str) -> list[str]:
    ids = tables.read(TABLE, home=home)["client_request_id"]
    return [c for c in ids if isinstance(c, str) and c.startswith(prefix)]


def _wait_rows(home, prefix: str, expect: int, timeout: float = 15) -> list[str]:
    """The endpoint's rows of ``prefix`` once there are ``expect`` (it flushes every second)."""
    deadline = time.monotonic() + timeout
    while len(got := _rows_by_crid(home, prefix)) < expect and time.monotonic() < deadline:
        time.sleep(0.2)
    return got


@pytest.fixture(scope="module")
def endpoint_table(tmp_path_factory, churn_store, spark, spark_run):
    """A real endpoint whose MDK_HOME is the Spark session's, capturing into TABLE; it has
    answered requests until the table has more than ``COMMITS`` commits.

    Returns ``(server, crids answered in this phase)``.
    """
    server = Server(spark_run.home, churn_store, env={"MDK_CAPTURE_FLUSH_SECONDS": "0.2"})
    server.start()
    try:
        server.create(
            ENDPOINT,
            {
                "served_entities": [entity("champion", 1), entity("challenger", 2)],
                "traffic_config": routes(champion=50, challenger=50),
            },
            ai_gateway={"inference_table_config": capture("delta", schema=SCHEMA)},
        )
        server.wait_ready(ENDPOINT)
        traffic = Traffic(server, "a", pause=0.1).start()
        deadline = time.monotonic() + PHASE_SECONDS
        try:  # one commit per flush, one flush every 0.2 s while requests come
            while time.monotonic() < deadline:
                if tables.exists(TABLE, home=spark_run.home) and (
                    _delta(spark_run.home).version() > COMMITS
                ):
                    break
                time.sleep(0.2)
        finally:
            sent = traffic.stop()
        _wait_rows(spark_run.home, "a-", len(sent))  # the last flush: the table is settled
        yield server, sent
    finally:
        server.api("DELETE", f"/{ENDPOINT}")
        server.stop()


# --------------------------------------------------------------------------- (a)


def test_the_endpoint_writes_a_delta_table_with_the_change_feed_and_checkpoints(
    endpoint_table, spark_run
):
    server, sent = endpoint_table
    home = spark_run.home
    delta = _delta(home)
    assert delta.version() > COMMITS, f"only {delta.version() + 1} commits in {PHASE_SECONDS}s"
    config = delta.metadata().configuration
    assert config["delta.enableChangeDataFeed"] == "true"
    assert config["delta.checkpointInterval"] == "10" and config["created_by"] == "mdk"
    assert delta.protocol().min_writer_version >= 4  # what the change data feed needs
    log = tables.table_path(TABLE, home) / "_delta_log"
    assert sorted(log.glob("*.checkpoint.parquet")), sorted(p.name for p in log.iterdir())
    assert (log / "_last_checkpoint").is_file()
    history = delta.history()
    assert history[-1]["operation"] == "CREATE TABLE"
    assert {h["operation"] for h in history[:-1]} <= {"WRITE", "OPTIMIZE"}
    # every answered request is a row, once
    assert {status for _, status in sent} == {200}
    answered = sorted(c for c, _ in sent)
    assert len(answered) >= COMMITS
    assert sorted(_wait_rows(home, "a-", len(answered))) == answered
    # delta-rs wrote it: no JVM runs in or under the endpoint. (Its /health reports
    # pyspark_imported True here: loading a served model's signature imports mlflow.types,
    # which does `import pyspark` when it is installed; no session or JVM comes of it.)
    procs = [psutil.Process(server.pid), *server.children()]
    assert not [p for p in procs if "java" in p.name()], [p.cmdline()[:3] for p in procs]


# --------------------------------------------------------------------------- (b)


def _latest(home) -> int:
    return _delta(home).version()


def _read_feed(spark, start: int, end: int):
    """The change feed of versions ``start``..``end`` as (request id, change type, version)."""
    df = (
        spark.read.option("readChangeFeed", "true")
        .option("startingVersion", start)
        .option("endingVersion", end)
        .table(TABLE)
    )
    return [
        tuple(r)
        for r in df.select("databricks_request_id", "_change_type", "_commit_version").collect()
    ]


def test_appends_a_change_feed_reader_and_optimize_lose_and_duplicate_nothing(
    endpoint_table, spark, spark_run
):
    server, _ = endpoint_table
    home = spark_run.home
    before = {r for r in tables.read(TABLE, home=home)["databricks_request_id"]}
    seen = first = _latest(home)  # the feed is read from the version after this one
    feed: list[tuple] = []
    reads = 0
    optimized: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()
    added: list[str] = []

    def optimize() -> None:  # a Spark OPTIMIZE of the same table, twice, while it grows
        try:
            for _ in range(2):
                time.sleep(1)
                if stop.is_set():
                    return
                spark.sql(f"OPTIMIZE {TABLE}").collect()
                optimized.append(_latest(home))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    def produce(writer: CaptureWriter) -> None:  # many small batches from the writer
        deadline = time.monotonic() + PHASE_SECONDS
        i = 0
        while not stop.is_set() and time.monotonic() < deadline and i < 20_000:
            rid = f"w-{i}"
            writer.add(
                TABLE,
                make_row(
                    request_id=rid,
                    client_request_id=rid,
                    status_code=200,
                    execution_duration_ms=1,
                    request="{}",
                    response='{"predictions": [0]}',
                    served_entity_id=None,
                ),
            )
            added.append(rid)
            i += 1
            time.sleep(0.01)

    writer = CaptureWriter(home=home, flush_interval=0.05).start()
    producer = threading.Thread(target=produce, args=(writer,), daemon=True)
    optimizer = threading.Thread(target=optimize, daemon=True)
    traffic = Traffic(server, "b", pause=0.02).start()
    producer.start()
    optimizer.start()
    started = time.monotonic()
    try:
        # the incremental reader: each batch from the last version seen + 1 to the latest
        while time.monotonic() - started < PHASE_SECONDS and (
            reads < 4 or optimizer.is_alive() or time.monotonic() - started < 8
        ):
            latest = _latest(home)
            if latest > seen:
                feed += _read_feed(spark, seen + 1, latest)
                seen, reads = latest, reads + 1
            time.sleep(0.2)
    finally:
        stop.set()
        producer.join(30)
        optimizer.join(120)
        sent = traffic.stop()
        writer.close()
    assert not errors, repr(errors[0])
    assert {status for _, status in sent} == {200}
    answered = [c for c, _ in sent]  # one row each
    endpoint_rows = _wait_rows(home, "b-", len(answered))
    latest = _latest(home)
    if latest > seen:  # what was committed after the last read
        feed += _read_feed(spark, seen + 1, latest)
        reads += 1

    print(
        f"{reads} feed reads, {len(added)} writer rows, {len(answered)} endpoint rows, "
        f"{latest - first} commits, OPTIMIZE done by versions {optimized}"
    )
    assert reads >= 4 and len(optimized) == 2
    runs = [h for h in _delta(home).history() if h["operation"] == "OPTIMIZE"]
    assert len(runs) == 2 and all(int(h["operationMetrics"]["numRemovedFiles"]) > 1 for h in runs)
    # each OPTIMIZE committed after appends made since the snapshot it compacted: truly
    # concurrent, and Delta's conflict check let both sides through
    spans = [(h["readVersion"], h["version"]) for h in runs]
    print(f"OPTIMIZE (read version, commit version): {spans}")
    assert all(committed - read > 1 for read, committed in spans), spans
    assert {t for _, t, _ in feed} == {"insert"}  # appends only: OPTIMIZE adds no change rows
    fed = [rid for rid, _, _ in feed]
    assert len(fed) == len(set(fed)), "a row came twice through the change feed"
    assert not set(fed) & before
    # what was appended: the writer's rows and one row per answered request
    table = spark.table(TABLE)
    final = {
        r[0]: r[1] for r in table.select("databricks_request_id", "client_request_id").collect()
    }
    appended = set(added) | {rid for rid, crid in final.items() if crid in set(endpoint_rows)}
    assert sorted(endpoint_rows) == sorted(answered)  # every answered request, once
    assert set(fed) == appended and len(fed) == len(added) + len(answered)
    assert table.count() == len(before) + len(added) + len(answered) == len(final)
    assert set(final) == before | appended


# --------------------------------------------------------------------------- (c)


def test_one_row_per_request_and_served_entity_ids_join_to_names_and_versions(
    endpoint_table, spark, spark_run
):
    """Requests to each entity of the A/B endpoint, a 400 and a 404: one row each, with
    Databricks' columns, and Spark's join with system.serving.served_entities names the entity
    and model version that answered, as a Databricks user finds them."""
    server, _ = endpoint_table
    home = spark_run.home
    sent = {}  # crid -> (status, served entity named in the answer)
    for i in range(6):
        served = ("champion", "challenger")[i % 2]
        crid = f"c-{served}-{i}"
        body = encode([RECORD], "dataframe_records", client_request_id=crid)
        resp = server.invoke(ENDPOINT, body, served=served)
        sent[crid] = (resp.status_code, resp.headers.get("served-model-name"))
    bad = server.invoke(
        ENDPOINT,
        encode([{"no_such_column": 1}], "dataframe_records", client_request_id="c-bad"),
        served="champion",
    )
    missing = server.invoke(
        ENDPOINT, encode([RECORD], "dataframe_records", client_request_id="c-404"), served="nobody"
    )
    assert {s for s, _ in sent.values()} == {200}, sent
    assert (bad.status_code, missing.status_code) == (400, 404), (bad.text, missing.text)
    crids = [*sent, "c-bad", "c-404"]
    assert sorted(_wait_rows(home, "c-", len(crids))) == sorted(crids)  # one row each

    assert [(f.name, f.dataType.simpleString()) for f in spark.table(TABLE).schema.fields] == [
        ("request_date", "date"),
        ("databricks_request_id", "string"),
        ("client_request_id", "string"),
        ("request_time", "timestamp"),
        ("status_code", "int"),
        ("sampling_fraction", "double"),
        ("execution_duration_ms", "bigint"),
        ("request", "string"),
        ("response", "string"),
        ("served_entity_id", "string"),
        ("logging_error_codes", "array<string>"),
        ("requester", "string"),
    ]
    joined = (
        spark.sql(f"""
        SELECT p.client_request_id, p.status_code, p.requester, p.served_entity_id,
               s.endpoint_name, s.served_entity_name, s.entity_name, s.entity_version
        FROM {TABLE} p LEFT JOIN system.serving.served_entities s USING (served_entity_id)
        WHERE p.client_request_id LIKE 'c-%'
    """)
        .toPandas()
        .set_index("client_request_id")
    )
    assert len(joined) == len(crids)  # one served_entities row per id: the join adds none
    versions = {"champion": "1", "challenger": "2"}
    for crid, (_, answered) in sent.items():
        got = joined.loc[crid]
        assert got["served_entity_name"] == answered == crid.split("-")[1]
        assert (got["endpoint_name"], got["entity_name"]) == (ENDPOINT, "churn-predictor")
        assert got["entity_version"] == versions[answered] and got["requester"] == "mdk"
    assert joined.loc["c-bad", "status_code"] == 400
    assert joined.loc["c-bad", "served_entity_name"] == "champion"  # the entity answered 400
    assert joined.loc["c-404", "status_code"] == 404
    assert joined.loc["c-404", ["served_entity_id", "served_entity_name"]].isna().all()
    ids = joined.groupby("served_entity_name")["served_entity_id"].unique()
    assert {k: len(v) for k, v in ids.items()} == {"champion": 1, "challenger": 1}
    entities = spark.sql("SELECT * FROM system.serving.served_entities")
    mine = entities.where(entities.endpoint_name == ENDPOINT).toPandas()
    assert sorted(mine["served_entity_name"]) == ["challenger", "champion"]
    assert set(mine["entity_type"]) == {"CUSTOM_MODEL"} and set(
        mine["endpoint_config_version"]
    ) == {1}
