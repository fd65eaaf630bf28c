"""The local DMS engine end to end: tasks created and started through the DMS API, PostgreSQL
as the source, each target read back and compared with the source table."""

import contextlib
import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import psycopg
import pytest

from harness.local.dms.context import TaskContext
from harness.local.dms.engine import DmsEngine
from harness.local.dms.mapping import TableMapping
from harness.local.dms.sources import pg_types
from harness.local.dms.sources.postgres import PostgresSource
from harness.local.kafka_broker import KafkaBroker
from harness.nemesis import KINDS
from harness.settings import Settings
from harness.targets import Target, make_target
from harness.targets.local import LocalTarget
from tests.helpers import SELECT_ALL, wait_for
from tests.integration import dms_support as dms

pytestmark = pytest.mark.slow

COLUMNS = [
    pg_types.column("id", "bigint", False),
    pg_types.column("version", "bigint", False),
    pg_types.column("name", "text"),
    pg_types.column("qty", "integer"),
    pg_types.column("at", "timestamp with time zone"),
    pg_types.column("flag", "boolean"),
]
NAMES = [c.name for c in COLUMNS]


@pytest.fixture(scope="module")
def kafka(shared_tmp: Path) -> Iterator[KafkaBroker]:
    broker = KafkaBroker(shared_tmp / "kafka-dms-engine")
    broker.start()
    yield broker
    broker.stop()


def make_table(dsn: str, name: str, rows: int = 20) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {name} (id bigint PRIMARY KEY, version bigint NOT NULL, name text, "  # type: ignore[arg-type]
            "qty integer, at timestamptz, flag boolean)"
        )
        conn.execute(
            f"INSERT INTO {name} SELECT g, 1, 'row ' || g, g, now(), g %% 2 = 0 "  # type: ignore[arg-type]
            "FROM generate_series(1, %s) g",
            (rows,),
        )


def replicated(
    target: Target,
    table: str,
    kind: str = "kinesis",
    rows: int = 20,
    kafka: KafkaBroker | None = None,
    instance: str = dms.INSTANCE,
    settings: dict[str, Any] | None = None,
) -> tuple["Destination", str]:
    """A source table of `rows` rows, a destination of `kind`, and a task (not yet started,
    on replication instance `instance`, with task `settings`) replicating that table into it."""
    make_table(target.source_dsn, table, rows)
    dest = Destination(kind, target, table, kafka)
    source = dms.source_endpoint(target, f"{table}-src")
    arn = dms.create_task(
        target,
        table,
        source,
        dest.arn,
        [dms.selection("public", table)],
        settings=settings,
        instance=instance,
    )
    return dest, arn


class Churn:
    """Random committed inserts/updates/deletes, multi-row transactions and aborted ones."""

    def __init__(self, dsn: str, table: str, seed: int, first_id: int = 1000) -> None:
        self.dsn, self.table, self.rng, self.next_id = dsn, table, random.Random(seed), first_id

    @contextlib.contextmanager
    def running(self, transactions: int) -> Iterator[None]:
        """`run` in a thread of its own while the block runs (then waited for); changes
        flowing once the block begins."""
        writer = threading.Thread(target=self.run, args=(transactions,))
        writer.start()
        try:
            time.sleep(0.3)
            yield
        finally:
            writer.join()

    def run(self, transactions: int) -> None:
        with psycopg.connect(self.dsn) as conn:
            for _ in range(transactions):
                abort = self.rng.random() < 0.1
                with conn.transaction(force_rollback=abort):
                    for _ in range(self.rng.choice((1, 1, 1, 3, 5))):
                        self._one(conn, abort)

    def _one(self, conn: psycopg.Connection[Any], abort: bool) -> None:
        t, r = self.table, self.rng.random()
        name = "ABORTED" if abort else self.rng.choice(["plain", 'say "hi", ok', "it's\nmultiline"])
        if r < 0.45:
            self.next_id += 1
            conn.execute(
                f"INSERT INTO {t} VALUES (%s, 1, %s, %s, now(), %s)",  # type: ignore[arg-type]
                (self.next_id, name, self.rng.randint(0, 99), self.rng.random() < 0.5),
            )
        elif r < 0.85:
            conn.execute(
                f"UPDATE {t} SET version = version + 1, name = %s, qty = NULL, at = now() "  # type: ignore[arg-type]
                f"WHERE id = (SELECT id FROM {t} ORDER BY random() LIMIT 1)",
                (name,),
            )
        else:
            conn.execute(
                f"DELETE FROM {t} WHERE id = (SELECT id FROM {t} ORDER BY random() LIMIT 1)"
            )  # type: ignore[arg-type]


class Destination:
    """One DMS target kind: its endpoint, and its output read back as events and state."""

    def __init__(self, kind: str, target: Target, table: str, kafka: KafkaBroker | None) -> None:
        self.kind, self.target, self.table, self.kafka = kind, target, table, kafka
        aws = target.aws
        if kind == "s3":
            aws.client("s3").create_bucket(Bucket=table.replace("_", "-"))
            settings = {"BucketName": table.replace("_", "-"), "BucketFolder": "out"}
            settings |= {"CdcMaxBatchInterval": 1, "ServiceAccessRoleArn": dms.ROLE}
        elif kind == "kinesis":
            aws.client("kinesis").create_stream(StreamName=table, ShardCount=1)
            arn = aws.client("kinesis").describe_stream(StreamName=table)["StreamDescription"]
            settings = {"StreamArn": arn["StreamARN"], "MessageFormat": "json"}
            settings["ServiceAccessRoleArn"] = dms.ROLE
        elif kind == "kafka":
            assert kafka is not None
            settings = {"Broker": kafka.bootstrap, "Topic": table}
        else:
            settings = {"ServiceAccessRoleArn": dms.ROLE}
        self.arn = dms.target_endpoint(target, f"{table}-tgt", kind, **settings)

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        if self.kind == "s3":
            bucket = self.table.replace("_", "-")
            objects = dms.s3_objects(self.target, bucket, f"out/public/{self.table}/")
            return dms.s3_events(objects, NAMES)
        if self.kind == "kinesis":
            return dms.stream_events(dms.kinesis_messages(self.target, self.table))
        assert self.kafka is not None
        return dms.stream_events(dms.kafka_messages(self.kafka.bootstrap, self.table))

    def state(self) -> dict[str, dict[str, str | None]]:
        if self.kind != "dynamodb":
            return dms.replay(self.events(), COLUMNS)
        ddb = self.target.aws.client("dynamodb")
        try:
            pages = list(ddb.get_paginator("scan").paginate(TableName=self.table))
        except ddb.exceptions.ResourceNotFoundException:
            return {}  # the task creates its table with the first row it writes
        items = [i for p in pages for i in p["Items"]]
        return {i["id"]["N"]: {c.name: _attribute(i.get(c.name)) for c in COLUMNS} for i in items}


def _attribute(value: dict[str, Any] | None) -> str | None:
    if value is None or "NULL" in value:
        return None
    ((kind, raw),) = value.items()
    if kind == "BOOL":
        return "true" if raw else "false"
    return str(raw)


def assert_versions_consecutive(events: list[tuple[str, dict[str, Any]]]) -> None:
    """Per key, the row images (load, insert, update) carry versions v, v+1, v+2...: nothing
    doubled or dropped where full load meets CDC, or anywhere after."""
    last: dict[str, int] = {}
    for op, data in events:
        if op in ("D", "delete"):
            continue
        key, version = str(data["id"]), int(data["version"])
        if key in last:
            assert version == last[key] + 1, f"key {key}: version {version} after {last[key]}"
        last[key] = version


@pytest.mark.parametrize("kind", ["s3", "kinesis", "kafka", "dynamodb"])
def test_full_load_and_cdc_reproduce_the_source(
    local_target: Target, kafka: KafkaBroker, kind: str
) -> None:
    table = f"repro_{kind}"
    dsn = local_target.source_dsn
    dest, arn = replicated(local_target, table, kind, rows=200, kafka=kafka)

    churn = Churn(dsn, table, seed=len(kind))
    during_load = threading.Thread(target=churn.run, args=(150,))
    during_load.start()  # writes race the slot's snapshot and the full load
    dms.start(local_target, arn)
    during_load.join()
    churn.run(150)

    expected = dms.source_rows(dsn, table)
    got = dms.eventually(lambda: dest.state() == expected and dest.state(), timeout_s=30)
    assert got == expected
    if kind != "dynamodb":
        events = dest.events()
        assert_versions_consecutive(events)
        assert not any(d.get("name") == "ABORTED" for _, d in events), "aborted change replicated"

    def table_stats() -> list[dict[str, Any]]:  # reported about once a second, as on AWS
        client = local_target.aws.client("dms")
        found = client.describe_table_statistics(ReplicationTaskArn=arn)["TableStatistics"]
        return [s for s in found if s["Inserts"] + s["Updates"] + s["Deletes"] > 0]

    (row,) = dms.eventually(table_stats, timeout_s=5)
    assert row["TableName"] == table and row["FullLoadRows"] >= 200
    dms.stop(local_target, arn)


@pytest.mark.parametrize("kind", ["kinesis", "dynamodb"])
def test_a_steady_trickle_is_written_as_it_comes(local_target: Target, kind: str) -> None:
    """Changes arriving closer together than a read waits are written as each read drains
    the source, not held until the source falls quiet or a full buffer (500) gathers."""
    table = f"trickle_{kind}"
    dsn = local_target.source_dsn
    dest, arn = replicated(local_target, table, kind, rows=1)
    dms.start(local_target, arn)
    assert dms.eventually(lambda: "1" in dest.state())
    trickling = threading.Event()

    def trickle() -> None:  # 50 changes/s for up to 6 s: never quiet for 50 ms, never 500
        with psycopg.connect(dsn, autocommit=True) as conn:
            for n in range(2, 300):
                conn.execute(
                    f"INSERT INTO {table} VALUES (%s, 1, 'trickle', 1, now(), true)",  # type: ignore[arg-type]
                    (n,),
                )
                trickling.set()
                time.sleep(0.02)

    writer = threading.Thread(target=trickle)
    writer.start()
    try:
        trickling.wait(10)
        written = dms.eventually(lambda: len(dest.state()) >= 20, timeout_s=4)
        assert written and writer.is_alive(), "the changes waited for the trickle to end"
    finally:
        writer.join()
    assert dms.eventually(lambda: dest.state() == dms.source_rows(dsn, table), timeout_s=30)
    dms.stop(local_target, arn)


def test_stop_and_resume_loses_nothing_and_doubles_nothing(local_target: Target) -> None:
    """A clean stop flushes and confirms what it has read, so a resumed task continues exactly
    after it. (A crash instead replays the batch written but not yet confirmed: duplicates,
    as DMS allows, never gaps.)"""
    table = "resume_kinesis"
    dsn = local_target.source_dsn
    dest, arn = replicated(local_target, table)
    churn = Churn(dsn, table, seed=7)

    dms.start(local_target, arn)
    churn.run(60)
    checkpoint_before = dms.eventually(
        lambda: dms.task(local_target, arn).get("RecoveryCheckpoint")
    )
    dms.stop(local_target, arn)
    churn.run(60)  # written while the task is stopped: held by the slot
    assert len(dms.slots(dsn)) >= 1
    dms.start(local_target, arn, "resume-processing")
    churn.run(60)

    expected = dms.source_rows(dsn, table)
    assert dms.eventually(lambda: dest.state() == expected, timeout_s=30)
    events = dest.events()
    assert_versions_consecutive(events)
    loads = [e for e in events if e[0] == "load"]
    assert len(loads) == 20, "a resumed task must not load the tables again"
    assert dms.task(local_target, arn)["RecoveryCheckpoint"] != checkpoint_before
    dms.stop(local_target, arn)


def test_a_throttled_dynamodb_target_writes_what_it_holds_once_the_throttle_lifts(
    local_target: Target,
) -> None:
    """Under the dynamodb_throttle fault (one write a second) the task keeps retrying its
    batches with backoff; once the table's maximum is lifted every change lands, in order."""
    table = "throttled_dynamodb"
    dsn = local_target.source_dsn
    dest, arn = replicated(local_target, table, "dynamodb", rows=5)
    dms.start(local_target, arn)
    assert dms.eventually(lambda: dest.state() == dms.source_rows(dsn, table))
    kind = KINDS["dynamodb_throttle"]
    before = kind.start(local_target, [table], 10.0)
    try:
        Churn(dsn, table, seed=11).run(40)
        time.sleep(2)
        assert dest.state() != dms.source_rows(dsn, table), "the throttle held nothing back"
    finally:
        kind.end(local_target, [table], before)
    assert dms.eventually(lambda: dest.state() == dms.source_rows(dsn, table), timeout_s=30)
    assert dms.task(local_target, arn)["Status"] == "running"
    dms.stop(local_target, arn)


@pytest.mark.parametrize("full", [False, True], ids=["limited", "full"])
def test_a_lob_over_lob_max_size_arrives_truncated_in_limited_lob_mode(
    local_target: Target, full: bool
) -> None:
    """As DMS documents: in limited LOB mode a LOB longer than LobMaxSize KB arrives cut to
    that size (here counted in UTF-8 bytes), in the full load and in CDC; full LOB mode moves
    it whole."""
    table = f"lob_{'full' if full else 'limited'}"
    mode = {"FullLobMode": True} if full else {"LimitedSizeLobMode": True, "LobMaxSize": 1}
    settings = {"TargetMetadata": {"SupportLobs": True, **mode}}
    dest, arn = replicated(local_target, table, rows=2, settings=settings)
    long, short = "x" * 1023 + "é" * 300, "y" * 1000  # é takes two bytes: the 1024th splits
    with psycopg.connect(local_target.source_dsn, autocommit=True) as conn:
        conn.execute(f"UPDATE {table} SET name = %s WHERE id = 1", (long,))  # type: ignore[arg-type]
        dms.start(local_target, arn)
        for key, name in ((100, long), (101, short)):
            conn.execute(
                f"INSERT INTO {table} VALUES (%s, 1, %s, 1, now(), true)",  # type: ignore[arg-type]
                (key, name),
            )

    state = dms.eventually(lambda: (got := dest.state()).get("101") and got, timeout_s=30)
    expected = long if full else long.encode()[:1024].decode(errors="ignore")
    assert len(expected.encode()) == (1623 if full else 1023)  # cut before a split character
    assert [state[k]["name"] for k in ("1", "100", "101")] == [expected, expected, short]
    assert state["2"]["name"] == "row 2"
    dms.stop(local_target, arn)


def test_selection_and_transformation_rules(local_target: Target) -> None:
    dsn = local_target.source_dsn
    for name in ("rules_keep", "rules_skip"):
        make_table(dsn, name, rows=3)
    dest = Destination("kinesis", local_target, "rules_out", None)
    rules = [
        dms.selection("public", "rules[_]%"),
        dms.selection("public", "rules_skip", "exclude"),
        {
            "rule-type": "transformation",
            "rule-id": "9",
            "rule-name": "9",
            "rule-action": "rename",
            "rule-target": "column",
            "object-locator": {"schema-name": "public", "table-name": "%", "column-name": "qty"},
            "value": "quantity",
        },
        {
            "rule-type": "transformation",
            "rule-id": "10",
            "rule-name": "10",
            "rule-action": "remove-column",
            "rule-target": "column",
            "object-locator": {"schema-name": "%", "table-name": "%", "column-name": "flag"},
        },
    ]
    source = dms.source_endpoint(local_target, "rules-src")
    arn = dms.create_task(local_target, "rules", source, dest.arn, rules)
    dms.start(local_target, arn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO rules_keep VALUES (9, 1, 'new', 5, now(), true)")
        conn.execute("INSERT INTO rules_skip VALUES (9, 1, 'new', 5, now(), true)")
    messages = dms.eventually(
        lambda: [
            m
            for m in dms.kinesis_messages(local_target, "rules_out")
            if m["metadata"].get("operation") == "insert"
        ]
    )
    assert {
        m["metadata"]["table-name"] for m in dms.kinesis_messages(local_target, "rules_out")
    } == {"rules_keep"}
    (insert,) = messages
    assert (
        insert["data"]["quantity"] == 5
        and "qty" not in insert["data"]
        and "flag" not in insert["data"]
    )
    dms.stop(local_target, arn)


def test_deleting_a_task_drops_its_slot(local_target: Target) -> None:
    dsn = local_target.source_dsn
    _, arn = replicated(local_target, "drop_me", rows=1)
    before = set(dms.slots(dsn))
    dms.start(local_target, arn)
    (slot,) = set(dms.slots(dsn)) - before
    dms.stop(local_target, arn)
    assert slot in dms.slots(dsn), "a stopped task keeps its slot to resume from"
    local_target.aws.client("dms").delete_replication_task(ReplicationTaskArn=arn)
    assert dms.eventually(lambda: slot not in dms.slots(dsn), timeout_s=10)


def test_unreachable_source_fails_the_task_with_the_reason(local_target: Target) -> None:
    dest = Destination("kinesis", local_target, "unreachable", None)
    source = dms.source_endpoint(local_target, "unreachable-src", port=1)  # nothing listens
    arn = dms.create_task(local_target, "unreachable", source, dest.arn, [dms.selection()])
    local_target.aws.client("dms").start_replication_task(
        ReplicationTaskArn=arn, StartReplicationTaskType="start-replication"
    )
    failed = dms.await_status(local_target, arn, "failed", timeout_s=20)
    assert "cannot connect to the source" in failed["LastFailureMessage"]
    assert "\n" not in failed["LastFailureMessage"]
    assert dms.eventually(lambda: "DMS task unreachable" in local_target.engine_failures())


def test_a_read_takes_every_waiting_transaction_past_the_server_s_keepalives(
    local_target: Target,
) -> None:
    """The server sends a keepalive each time it waits for WAL, so between nearly every two
    commits; psycopg2 gives no message at one. A read still takes every transaction
    already sent (over TLS, as the endpoint's default asks), not one per read."""
    dsn = local_target.source_dsn
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    endpoint = {
        "ServerName": info["host"],
        "Port": int(str(info["port"])),
        "DatabaseName": info["dbname"],
        "Username": info["user"],
        "SslMode": "require",
    }
    arn = "arn:aws:dms:us-east-1:123456789012:task:keepalives"
    mapping = TableMapping({"rules": [SELECT_ALL]})
    make_table(dsn, "keepalive_rows", rows=0)
    source = PostgresSource(TaskContext("keepalives", arn, endpoint, mapping, {}, local_target.aws))
    source.open(None, full_load=False)
    try:
        source.read(0.2)  # starts streaming
        with psycopg.connect(dsn, autocommit=True) as conn:
            for i in range(1, 31):
                conn.execute("INSERT INTO keepalive_rows VALUES (%s, 1, 'x', 1, now(), true)", (i,))
                time.sleep(0.02)  # the server catches up, and sends a keepalive, in between
        assert dms.eventually(lambda: dms.sent_all(dsn, source.slot), timeout_s=10)
        got, reads = [], 0
        while len(got) < 30 and reads < 30:
            got += source.read(1.0)
            reads += 1
        assert [len(t.changes) for t in got] == [1] * 30
        assert reads <= 2, f"{reads} reads for 30 waiting transactions"
        assert source.caught_up
    finally:
        source.drop()


def test_tearing_down_the_target_drops_every_slot(shared_tmp: Path) -> None:
    target = make_target("local", Settings(), shared_tmp / "dms-teardown")
    target.start()
    try:
        _, arn = replicated(target, "teardown", rows=1)
        dms.start(target, arn)
        assert dms.slots(target.source_dsn)
        assert isinstance(target, LocalTarget)
        target.component(DmsEngine).stop()
        assert dms.slots(target.source_dsn) == []
    finally:
        target.stop()


def test_s3_event_store_replays_into_dynamodb(local_target: Target) -> None:
    """Two tasks chained as in the S3 event-store pattern: PostgreSQL -> S3 transaction files,
    then S3 (external table definition, cdcPath) -> DynamoDB; the read model equals the source."""
    table, bucket = "chained", "chained-store"
    dsn, aws = local_target.source_dsn, local_target.aws
    make_table(dsn, table, rows=30)
    aws.client("s3").create_bucket(Bucket=bucket)
    store = {"BucketName": bucket, "BucketFolder": "store", "ServiceAccessRoleArn": dms.ROLE}
    to_s3 = dms.target_endpoint(
        local_target,
        "chained-s3",
        "s3",
        PreserveTransactions=True,
        CdcPath="cdc",
        CdcMaxBatchInterval=1,
        **store,
    )
    source = dms.source_endpoint(local_target, "chained-src")
    first = dms.create_task(
        local_target, "chained-1", source, to_s3, [dms.selection("public", table)]
    )
    dms.start(local_target, first)
    churn = Churn(dsn, table, seed=3)
    churn.run(40)

    types = {"INT8": "INT8", "INT4": "INT4", "NCLOB": "STRING", "DATETIME": "DATETIME"}
    definition = {
        "TableCount": "1",
        "Tables": [
            {
                "TableName": table,
                "TablePath": f"public/{table}/",
                "TableOwner": "public",
                "TableColumns": [
                    {
                        "ColumnName": c.name,
                        "ColumnType": types.get(c.dms_type, c.dms_type),
                        "ColumnNullable": str(c.nullable).lower(),
                        "ColumnIsPk": str(c.name == "id").lower(),
                        **({"ColumnLength": "200"} if c.dms_type == "NCLOB" else {}),
                    }
                    for c in COLUMNS
                ],
                "TableColumnsTotal": str(len(COLUMNS)),
            }
        ],
    }
    from_s3 = local_target.aws.client("dms").create_endpoint(
        EndpointIdentifier="chained-s3-source",
        EndpointType="source",
        EngineName="s3",
        ExternalTableDefinition=json.dumps(definition),
        S3Settings={**store, "CdcPath": "cdc"},
    )["Endpoint"]["EndpointArn"]
    to_ddb = dms.target_endpoint(
        local_target, "chained-ddb", "dynamodb", ServiceAccessRoleArn=dms.ROLE
    )
    second = dms.create_task(
        local_target, "chained-2", from_s3, to_ddb, [dms.selection("public", table)]
    )
    dms.start(local_target, second)
    churn.run(40)

    expected = dms.source_rows(dsn, table)
    read_model = Destination("dynamodb", local_target, table, None)
    assert dms.eventually(lambda: read_model.state() == expected, timeout_s=30)
    for arn in (first, second):
        dms.stop(local_target, arn)


@pytest.mark.serial
def test_s3_target_writes_one_file_per_batch_interval(local_target: Target) -> None:
    table, bucket = "cadence", "cadence-out"
    dsn = local_target.source_dsn
    make_table(dsn, table, rows=1)
    local_target.aws.client("s3").create_bucket(Bucket=bucket)
    dest = dms.target_endpoint(
        local_target,
        "cadence-s3",
        "s3",
        BucketName=bucket,
        CdcMaxBatchInterval=2,
        ServiceAccessRoleArn=dms.ROLE,
    )
    source = dms.source_endpoint(local_target, "cadence-src")
    arn = dms.create_task(local_target, table, source, dest, [dms.selection("public", table)])
    dms.start(local_target, arn)
    churn = Churn(dsn, table, seed=5)
    deadline = time.monotonic() + 7
    while time.monotonic() < deadline:  # a steady trickle of changes for 7 s
        churn.run(2)
        time.sleep(0.05)
    dms.stop(local_target, arn)  # writes the last, partial batch
    names = [k.rsplit("/", 1)[-1] for k in dms.s3_objects(local_target, bucket) if "LOAD" not in k]
    stamps = [
        datetime.strptime(n[:15], "%Y%m%d-%H%M%S").timestamp() + int(n[15:19]) / 1e4 for n in names
    ]
    gaps = [b - a for a, b in pairwise(stamps)]
    assert 3 <= len(names) <= 5, names
    # A batch is due 2 s after its first change, which comes after the previous file was
    # written: a gap is 2 s plus that write, the wait for the next change and the moment
    # the engine sees the batch is due (well under a second, even on a busy machine).
    assert all(1.9 <= g < 3.0 for g in gaps[:-1]), gaps  # the last file is the stop's flush


def _kill_replication(dsn: str) -> int:
    """Terminate the replication connections; how many there were."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return len(
            conn.execute(
                "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots "
                "WHERE active_pid IS NOT NULL"
            ).fetchall()
        )


@pytest.mark.parametrize(
    ("behaviour", "restarted"),
    [({"RecoverableErrorInterval": 1}, True), ({"RecoverableErrorCount": 0}, False)],
    ids=["restarted", "not-restarted"],
)
def test_a_task_whose_replication_connection_breaks_loses_nothing(
    local_target: Target, behaviour: dict[str, int], restarted: bool
) -> None:
    """The replication connection is killed under load: an environmental error. As DMS's
    ErrorBehavior says, the engine restarts the task from its checkpoint after
    RecoverableErrorInterval (here 1 s), showing "running" throughout; with
    RecoverableErrorCount 0 the task fails with the reason, and resume-processing continues
    from the slot's confirmed position. Changes the target had not durably taken are read
    again; none is lost."""
    table = f"broken_{'restarted' if restarted else 'failed'}"
    dsn = local_target.source_dsn
    dest, arn = replicated(local_target, table, settings={"ErrorBehavior": behaviour})
    churn = Churn(dsn, table, seed=17)
    dms.start(local_target, arn)
    with churn.running(200):
        wait_for(lambda: _kill_replication(dsn), "the task's replication connection to kill")
        if not restarted:
            failed = dms.await_status(local_target, arn, "failed", timeout_s=20)
            assert "replication stream broke" in failed["LastFailureMessage"]
    if not restarted:
        dms.start(local_target, arn, "resume-processing")
    churn.run(20)
    expected = dms.source_rows(dsn, table)
    assert dms.eventually(lambda: dest.state() == expected, timeout_s=30)
    assert dms.task(local_target, arn)["Status"] == "running"
    assert table not in local_target.engine_failures()
    dms.stop(local_target, arn)


def test_a_rebooted_replication_instance_crashes_its_tasks_and_a_resume_loses_nothing(
    local_target: Target,
) -> None:
    """RebootReplicationInstance under load (the `dms_instance_reboot` fault): the instance
    is "rebooting" for a moment, its running task ends in an error state at once, writing
    nothing it had buffered, and cannot start until the instance is back. Resumed, it
    continues from its last checkpoint: nothing is lost, nothing is loaded again."""
    client = local_target.aws.client("dms")
    instance = client.create_replication_instance(
        ReplicationInstanceIdentifier="reboot", ReplicationInstanceClass="dms.t3.micro"
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    assert dms.eventually(
        lambda: (
            client.describe_replication_instances()["ReplicationInstances"][0][
                "ReplicationInstanceStatus"
            ]
            == "available"
        )
    )
    table = "reboot_kinesis"
    dsn = local_target.source_dsn
    dest, arn = replicated(local_target, table, instance=instance)
    churn = Churn(dsn, table, seed=13)
    dms.start(local_target, arn)
    fault = KINDS["dms_instance_reboot"]
    with churn.running(200):
        crashed = fault.start(local_target, [instance], 10.0)
        assert crashed == [arn]
        failed = dms.task(local_target, arn)
        assert failed["Status"] == "failed"
        assert "rebooted" in failed["LastFailureMessage"]
        with pytest.raises(client.exceptions.InvalidResourceStateFault, match="rebooting"):
            client.start_replication_task(
                ReplicationTaskArn=arn, StartReplicationTaskType="resume-processing"
            )
    fault.end(local_target, [instance], crashed)
    assert dms.task(local_target, arn)["Status"] == "running"
    churn.run(20)
    expected = dms.source_rows(dsn, table)
    assert dms.eventually(lambda: dest.state() == expected, timeout_s=30)
    events = dest.events()
    assert len([e for e in events if e[0] == "load"]) == 20, "a resume must not load again"
    assert table not in local_target.engine_failures(), "a reboot is not a task failure"
    dms.stop(local_target, arn)
