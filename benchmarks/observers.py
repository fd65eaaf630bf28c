"""How fast each observer reads its projection, against a bare reader of the same projection.

A moto server, a Kafka mock broker and a throwaway PostgreSQL are started once. The source's
row changes are generated first (not timed): --changes (3000) widget and order row changes
as the load driver's transactions would commit them with the smoke scenario's workload (its
mix of inserts, updates, orders and deletes with their orders, aborts, values: Decimal
prices, timestamps, JSON, NULLs, unicode, LOB-sized notes), ids and versions as the
database would assign them. Each observer kind's projection is filled with them:

- kinesis_stream: one DMS JSON message per change (tab-indented, NULLs left out, the row's
  `public.<table>.<id>` as partition key) over 2 shards;
- kafka_topic: the same messages, keyed the same way, in a topic of 2 partitions;
- s3_objects: DMS CSV CDC objects (`cdc/public/<table>/<yyyymmdd-hhmmssffff>.csv`) of 100
  row changes each;
- dynamodb_stream: a read-model table with a stream, each change written as the `direct`
  pattern does (put_item of the row image; a delete as a tombstone item);
- dynamodb_scan: a read-model table holding the final items, tombstones included;
- postgres_replica: a database with the source's tables holding the final rows.

An event log (the first four) holds one observation per change; a polling observer (the
last two) sees states, so it has to observe each live row once.

Timed, per kind, observer and reference alternately, --repeat (3) times, the best of each
kept (so both see the same machine conditions):

1. The observer, made afresh: from `start()` until its log holds every expected observation
   (its `observed` count, checked every 2 ms). The observations' `seen_ns` would not do:
   it is taken when a read returns, before its records are decoded and logged (for S3,
   when the listing showed the object, before its download), so most of an observer's
   work would fall after it. Then it is stopped and its `state` checked against the final
   state. Also reported: `stats()` of the best run (busy share = busy_s / wall_s, up to
   `stop()`, whose last poll counts; capacity_per_s) and moto's CPU time during the read
   per 1000 observations.
2. The reference: a bare reader in this process making the same API calls from the start
   (GetRecords over every shard; a consumer's assign + poll/consume; list + get every
   object; consistent Scan + BatchGetItem; the versions SELECT + SELECT * of those rows)
   until it has read every record, discarding them undecoded and unlogged.

Rate = observations / seconds; ratio = observer rate / reference rate.

    .venv/bin/python benchmarks/observers.py [--changes 3000] [--repeat 3]
        [--kinds kinesis_stream,...] [--timeout 120] [--seed 1]

Progress goes to stderr; then a table per kind, a headroom line (the slowest observer's rate
against the row changes/s the smoke scenario offers) and, last, `observer_min_ratio: <x>`.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import os
import platform
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from psycopg.types.json import Jsonb

from harness import signals
from harness.aws import AwsAccess
from harness.load import schema
from harness.load.ledger import Entity
from harness.load.schema import COLUMNS
from harness.load.workload import KeySpace, Plan, Workload
from harness.local.kafka_broker import KafkaBroker
from harness.local.moto_server import MotoServer
from harness.local.postgres import PostgresCluster, find_bindir
from harness.observe import Observer
from harness.observe.base import ObserverStats
from harness.observe.dynamodb_scan import BATCH_GET_KEYS, DynamoDBScanObserver
from harness.observe.dynamodb_stream import DynamoDBStreamObserver
from harness.observe.kafka_topic import KafkaTopicObserver
from harness.observe.kinesis_stream import KinesisStreamObserver
from harness.observe.postgres_replica import PostgresReplicaObserver
from harness.observe.s3_objects import S3ObjectsObserver
from harness.read_model import (
    KEY_ATTRIBUTE,
    TOMBSTONE_ATTRIBUTE,
    VERSION_ATTRIBUTE,
    is_tombstone,
    to_item,
    tombstone,
)
from harness.scenario import load_scenario
from harness.settings import Settings

from bench_util import Console, proc_cpu_s

SMOKE = Path(__file__).resolve().parents[1] / "scenarios" / "smoke.yaml"
T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
"""The first transaction's commit time; the others follow at the scenario's rate."""
SHARDS = 2
"""Kinesis shards and Kafka partitions."""
OBJECT_ROWS = 100
"""Row changes per DMS CSV object."""
STREAM, TOPIC, BUCKET = "observed", "observed", "observed"
WAIT_S = 0.002
"""How often a timed observer's count is checked."""
OP_CODES = {"insert": "I", "update": "U", "delete": "D"}
"""Row change -> DMS CSV op field."""

_console = Console("observers")
fail, log = _console.fail, _console.log


# --- the source's row changes ----------------------------------------------------------


class RowChange(NamedTuple):
    op: str
    """insert | update | delete"""
    table: str
    row: dict[str, Any]
    """The full row image (a delete's: the deleted row, as with REPLICA IDENTITY FULL)."""

    @property
    def entity(self) -> Entity:
        return (self.table, str(self.row["id"]))

    @property
    def version(self) -> int:
        """The ledger's version: a delete's is the deleted version + 1."""
        return int(self.row["version"]) + (self.op == "delete")


class Source:
    """The source tables in memory: commits the workload's plans as the driver's statements
    would (see `harness.load.transactions`), with the ids and versions PostgreSQL gives."""

    def __init__(self) -> None:
        self.keys = KeySpace()
        self.widgets: dict[int, dict[str, Any]] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self._order_ids = itertools.count(1)

    def commit(self, plan: Plan, at: datetime) -> list[RowChange]:
        if plan.op == "insert":
            key = self.keys.newest + 1
            self.keys.saw(key)
            self.widgets[key] = {"id": key, "version": 1, "written_at": at, **plan.values}
            return [RowChange("insert", "widgets", self.widgets[key])]
        assert plan.key is not None, plan
        old = self.widgets.get(plan.key)
        if old is None:  # deleted meanwhile: the transaction changes nothing
            return []
        if plan.op == "delete":
            doomed = [k for k, order in self.orders.items() if order["widget_id"] == plan.key]
            del self.widgets[plan.key]
            return [RowChange("delete", "orders", self.orders.pop(k)) for k in doomed] + [
                RowChange("delete", "widgets", old)
            ]
        values = plan.values
        if plan.op == "order":  # the widget's order count goes up with each order
            attrs = old["attrs"] or {}
            values = {"attrs": {**attrs, "orders": attrs.get("orders", 0) + 1}}
        widget = {**old, **values, "version": old["version"] + 1, "written_at": at}
        self.widgets[plan.key] = widget
        changes = [RowChange("update", "widgets", widget)]
        if plan.op == "order":
            key = next(self._order_ids)
            order = {"id": key, "version": 1, "written_at": at, "widget_id": plan.key}
            self.orders[key] = {**order, **plan.values}
            changes.append(RowChange("insert", "orders", self.orders[key]))
        return changes


@dataclass(frozen=True)
class Changes:
    rows: list[RowChange]
    plans: int
    """Transactions planned to make them, aborted ones included."""

    def final(self) -> dict[Entity, RowChange]:
        """Each entity's last change."""
        return {change.entity: change for change in self.rows}

    def describe(self) -> str:
        ops = {op: sum(c.op == op for c in self.rows) for op in OP_CODES}
        live = sum(c.op != "delete" for c in self.final().values())
        return (
            f"{len(self.rows):,} row changes from {self.plans:,} transactions "
            f"({', '.join(f'{n:,} {op}s' for op, n in ops.items())}), {live:,} live rows"
        )


def generate(count: int, seed: int) -> tuple[Changes, float]:
    """`count` row changes of the smoke scenario's workload; and its offered rate (plans/s)."""
    smoke = load_scenario(SMOKE)
    source = Source()
    workload = Workload(smoke.workload, source.keys, seed)
    spacing = timedelta(seconds=1 / smoke.load.rate_per_s)
    rows: list[RowChange] = []
    plans = 0
    while len(rows) < count:
        plan = workload.plan()
        if not plan.abort:
            rows += source.commit(plan, T0 + plans * spacing)
        plans += 1
    return Changes(rows[:count], plans), smoke.load.rate_per_s


# --- projection contents ---------------------------------------------------------------


def _text(value: Any) -> Any:
    """A value as DMS writes it: numerics with the column's 4 decimals, timestamps in UTC
    with six digits, JSON as its text; ints and None as they are."""
    if isinstance(value, Decimal):
        return f"{value:.4f}"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _values(change: RowChange) -> list[Any]:
    return [_text(change.row[column]) for column in COLUMNS[change.table]]


def _partition_key(change: RowChange) -> str:
    return f"public.{change.table}.{change.row['id']}"


def _message(change: RowChange) -> bytes:
    """The DMS stream message of a row change (MessageFormat json, IncludeNullAndEmpty off)."""
    data = {
        column: value
        for column, value in zip(COLUMNS[change.table], _values(change), strict=True)
        if value is not None
    }
    metadata = {
        "timestamp": change.row["written_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "record-type": "data",
        "operation": change.op,
        "partition-key-type": "primary-key",
        "schema-name": "public",
        "table-name": change.table,
    }
    document = {"data": data, "metadata": metadata}
    return json.dumps(document, indent="\t", ensure_ascii=False).encode()


def _csv_object(changes: list[RowChange]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows([OP_CODES[c.op], *_values(c)] for c in changes)
    return out.getvalue().encode()


def _item(change: RowChange) -> dict[str, Any]:
    """The read-model item the `direct` pattern writes for a change."""
    table, key = change.entity
    if change.op == "delete":
        return tombstone(table, key, change.version)
    return to_item(table, key, change.row)


# --- the kinds: fill + bare reader -----------------------------------------------------


@dataclass(frozen=True)
class Servers:
    aws: AwsAccess
    moto_pid: int
    kafka: KafkaBroker
    dsn: str


Reference = Callable[[], Iterator[int]]
"""A bare read of the projection from its start: yields how many records each call gave."""


@dataclass(frozen=True)
class Kind:
    name: str
    expected: int
    """Observations the observer must log."""
    state: dict[Entity, tuple[int, bool]]
    """What the observer's `state` must end as."""
    observer: Callable[[Path], Observer]
    """A fresh observer logging to the path."""
    reference: Reference


def _event_log(
    name: str, changes: Changes, observer: Callable[[Path], Observer], ref: Reference
) -> Kind:
    """A kind whose projection holds every change."""
    state = {e: (c.version, c.op != "delete") for e, c in changes.final().items()}
    return Kind(name, len(changes.rows), state, observer, ref)


def _state_of(
    name: str, changes: Changes, observer: Callable[[Path], Observer], ref: Reference
) -> Kind:
    """A kind whose projection holds the final rows: one observation per live row."""
    state = {e: (c.version, True) for e, c in changes.final().items() if c.op != "delete"}
    return Kind(name, len(state), state, observer, ref)


def _shards_reference(client: Any, stream: dict[str, str], limit: int) -> Reference:
    """GetRecords over every shard of a Kinesis or DynamoDB stream from TRIM_HORIZON."""

    def read() -> Iterator[int]:
        shards = client.describe_stream(**stream)["StreamDescription"]["Shards"]
        iterators = [
            client.get_shard_iterator(
                **stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for shard in shards
        ]
        while True:
            for n, iterator in enumerate(iterators):
                response = client.get_records(ShardIterator=iterator, Limit=limit)
                iterators[n] = response["NextShardIterator"]
                yield len(response["Records"])

    return read


def kinesis_stream(servers: Servers, changes: Changes) -> Kind:
    kinesis = servers.aws.client("kinesis")
    kinesis.create_stream(StreamName=STREAM, ShardCount=SHARDS)
    for start in range(0, len(changes.rows), 500):
        records = [
            {"Data": _message(c), "PartitionKey": _partition_key(c)}
            for c in changes.rows[start : start + 500]
        ]
        if kinesis.put_records(StreamName=STREAM, Records=records)["FailedRecordCount"]:
            fail("Kinesis refused records of the fill")
    return _event_log(
        "kinesis_stream",
        changes,
        lambda path: KinesisStreamObserver("stream", path, servers.aws, STREAM),
        _shards_reference(servers.aws.client("kinesis"), {"StreamName": STREAM}, 10_000),
    )


def kafka_topic(servers: Servers, changes: Changes) -> Kind:
    bootstrap = servers.kafka.bootstrap
    servers.kafka.create_topic(TOPIC, SHARDS)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
    for change in changes.rows:
        producer.produce(TOPIC, value=_message(change), key=_partition_key(change).encode())
        producer.poll(0)
    if producer.flush(30):
        fail("Kafka did not take every message of the fill within 30 s")

    def read() -> Iterator[int]:
        consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"bench-{uuid.uuid4().hex}",
                "enable.auto.commit": False,
                "log.connection.close": False,
            }
        )
        try:
            partitions = consumer.list_topics(timeout=10).topics[TOPIC].partitions
            consumer.assign([TopicPartition(TOPIC, p, OFFSET_BEGINNING) for p in partitions])
            while True:  # as the observer: wait for one message, then take what came with it
                first = consumer.poll(0.1)
                messages = [] if first is None else [first, *consumer.consume(999, 0)]
                yield sum(m.error() is None for m in messages)
        finally:
            consumer.close()

    return _event_log(
        "kafka_topic",
        changes,
        lambda path: KafkaTopicObserver("topic", path, servers.aws, bootstrap, TOPIC),
        read,
    )


def s3_objects(servers: Servers, changes: Changes) -> Kind:
    s3 = servers.aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    rows_in: dict[str, int] = {}
    for table in schema.TABLES:
        of_table = [c for c in changes.rows if c.table == table]
        for n, start in enumerate(range(0, len(of_table), OBJECT_ROWS)):
            moment = T0 + timedelta(seconds=n)
            key = f"cdc/public/{table}/{moment:%Y%m%d-%H%M%S}0000.csv"
            rows = of_table[start : start + OBJECT_ROWS]
            s3.put_object(Bucket=BUCKET, Key=key, Body=_csv_object(rows))
            rows_in[key] = len(rows)

    def read() -> Iterator[int]:
        reader = servers.aws.client("s3")
        pages = reader.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="cdc/")
        for key in [item["Key"] for page in pages for item in page.get("Contents", ())]:
            reader.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            yield rows_in[key]

    return _event_log(
        "s3_objects",
        changes,
        lambda path: S3ObjectsObserver("store", path, servers.aws, BUCKET, "cdc/"),
        read,
    )


def _read_model_table(dynamodb: Any, name: str, stream: bool) -> dict[str, Any]:
    """A read-model table as the patterns' Terraform makes it; its description."""
    spec = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"} if stream else {}
    return dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": KEY_ATTRIBUTE, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"}],
        **({"StreamSpecification": spec} if stream else {}),
    )["TableDescription"]


def dynamodb_stream(servers: Servers, changes: Changes) -> Kind:
    dynamodb = servers.aws.client("dynamodb")
    table = "observed-stream"
    arn = _read_model_table(dynamodb, table, stream=True)["LatestStreamArn"]
    for change in changes.rows:
        dynamodb.put_item(TableName=table, Item=_item(change))
    return _event_log(
        "dynamodb_stream",
        changes,
        lambda path: DynamoDBStreamObserver("read_model", path, servers.aws, table, arn),
        _shards_reference(servers.aws.client("dynamodbstreams"), {"StreamArn": arn}, 1000),
    )


def dynamodb_scan(servers: Servers, changes: Changes) -> Kind:
    dynamodb = servers.aws.client("dynamodb")
    table = "observed-scan"
    _read_model_table(dynamodb, table, stream=False)
    items = [_item(change) for change in changes.final().values()]
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        dynamodb.batch_write_item(RequestItems={table: requests})

    def read() -> Iterator[int]:
        reader = servers.aws.client("dynamodb")
        pages = reader.get_paginator("scan").paginate(
            TableName=table,
            ConsistentRead=True,
            ProjectionExpression="#k, #v, #t",
            ExpressionAttributeNames={
                "#k": KEY_ATTRIBUTE,
                "#v": VERSION_ATTRIBUTE,
                "#t": TOMBSTONE_ATTRIBUTE,
            },
        )
        keys = [
            {KEY_ATTRIBUTE: item[KEY_ATTRIBUTE]}
            for page in pages
            for item in page["Items"]
            if not is_tombstone(item)
        ]
        for start in range(0, len(keys), BATCH_GET_KEYS):
            batch = {table: {"Keys": keys[start : start + BATCH_GET_KEYS], "ConsistentRead": True}}
            yield len(reader.batch_get_item(RequestItems=batch)["Responses"][table])

    return _state_of(
        "dynamodb_scan",
        changes,
        lambda path: DynamoDBScanObserver("read_model", path, servers.aws, table),
        read,
    )


def postgres_replica(servers: Servers, changes: Changes) -> Kind:
    final = changes.final().values()
    with psycopg.connect(servers.dsn, autocommit=True) as conn:
        schema.ensure(conn)
        for table in schema.TABLES:  # widgets first: orders reference them
            columns = list(COLUMNS[table])
            conn.cursor().executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join(['%s'] * len(columns))})",
                [
                    [Jsonb(v) if isinstance(v, dict) else v for v in map(c.row.get, columns)]
                    for c in final
                    if c.table == table and c.op != "delete"
                ],
            )
    versions = " UNION ALL ".join(
        f"SELECT '{table}', id::text, version FROM {table}" for table in schema.TABLES
    )

    def read() -> Iterator[int]:
        with psycopg.connect(servers.dsn, autocommit=True) as conn:
            keys: dict[str, list[int]] = defaultdict(list)
            for table, key, _ in conn.execute(versions):
                keys[table].append(int(key))
            for table, ids in keys.items():
                rows = conn.execute(f"SELECT * FROM {table} WHERE id = ANY(%s)", (ids,))
                yield len(rows.fetchall())

    return _state_of(
        "postgres_replica",
        changes,
        lambda path: PostgresReplicaObserver("replica", path, servers.aws, servers.dsn),
        read,
    )


KINDS: dict[str, Callable[[Servers, Changes], Kind]] = {
    fill.__name__: fill
    for fill in (
        kinesis_stream,
        kafka_topic,
        s3_objects,
        dynamodb_stream,
        dynamodb_scan,
        postgres_replica,
    )
}


# --- timing ----------------------------------------------------------------------------


@dataclass
class Best:
    """The best observer run and the best reference run of one kind."""

    kind: Kind
    observer_per_s: float = 0.0
    moto_ms_per_1k: float = 0.0
    stats: ObserverStats | None = None
    reference_per_s: float = 0.0
    reference_moto_ms_per_1k: float = 0.0


def _moto_ms_per_1k(servers: Servers, cpu_before: float, observations: int) -> float:
    return (proc_cpu_s(servers.moto_pid) - cpu_before) * 1e6 / observations


def time_observer(
    kind: Kind, servers: Servers, log_path: Path, timeout_s: float, best: Best
) -> float:
    observer = kind.observer(log_path)
    cpu = proc_cpu_s(servers.moto_pid)
    started = time.perf_counter()
    observer.start()
    try:
        while observer.observed < kind.expected and not observer.error:
            if time.perf_counter() - started > timeout_s:
                fail(
                    f"{kind.name}: the observer logged {observer.observed:,} of "
                    f"{kind.expected:,} observations within {timeout_s:g} s"
                )
            time.sleep(WAIT_S)
        rate = kind.expected / (time.perf_counter() - started)
        moto_ms = _moto_ms_per_1k(servers, cpu, kind.expected)
    finally:
        observer.stop()
    if observer.error:
        fail(f"{kind.name}: the observer failed: {observer.error}")
    if observer.observed != kind.expected or observer.state != kind.state:
        wrong = sum(observer.state.get(e) != s for e, s in kind.state.items())
        fail(
            f"{kind.name}: the observer logged {observer.observed:,} observations "
            f"(expected {kind.expected:,}), {wrong:,} entities not at their final state"
        )
    if rate > best.observer_per_s:
        best.observer_per_s, best.moto_ms_per_1k, best.stats = rate, moto_ms, observer.stats()
    return rate


def time_reference(kind: Kind, servers: Servers, timeout_s: float, best: Best) -> float:
    cpu = proc_cpu_s(servers.moto_pid)
    started = time.perf_counter()
    read = 0
    with closing(kind.reference()) as batches:
        for count in batches:
            read += count
            if read >= kind.expected or time.perf_counter() - started > timeout_s:
                break
        seconds = time.perf_counter() - started
        moto_ms = _moto_ms_per_1k(servers, cpu, kind.expected)
    if read != kind.expected:
        fail(f"{kind.name}: the bare reader read {read:,} of {kind.expected:,} records")
    rate = kind.expected / seconds
    if rate > best.reference_per_s:
        best.reference_per_s, best.reference_moto_ms_per_1k = rate, moto_ms
    return rate


# --- run -------------------------------------------------------------------------------


def start_servers(stack: ExitStack, workdir: Path) -> Servers:
    """moto, Kafka and PostgreSQL, each stopped when `stack` closes."""
    settings = Settings()
    bindir = find_bindir(settings.pg_bindir)
    log("starting moto, the Kafka broker and PostgreSQL")
    moto, kafka = MotoServer(workdir), KafkaBroker(workdir)
    cluster = PostgresCluster(bindir, settings.pg_os_user, workdir)
    for server in (moto, kafka, cluster):
        stack.callback(server.stop)
        server.start()
    assert moto.pid is not None, "moto not started"
    credentials = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    aws = AwsAccess("us-east-1", moto.endpoint_url, credentials, max_attempts=1)
    return Servers(aws, moto.pid, kafka, cluster.dsn)


def report(bests: list[Best], changes: Changes, smoke_rate: float, repeat: int) -> None:
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs; {changes.describe()}; "
        f"best of {repeat}"
    )
    print(
        f"{'kind':17} {'observations':>12} {'observer/s':>11} {'reference/s':>12} {'ratio':>6} "
        f"{'moto ms/1k':>10} {'(ref)':>6} {'busy':>5} {'capacity/s':>11}"
    )
    for best in bests:
        stats = best.stats
        assert stats is not None, best.kind.name
        busy = stats.busy_s / stats.wall_s if stats.wall_s else 0.0
        print(
            f"{best.kind.name:17} {best.kind.expected:12,} {best.observer_per_s:11,.0f} "
            f"{best.reference_per_s:12,.0f} {best.observer_per_s / best.reference_per_s:6.3f} "
            f"{best.moto_ms_per_1k:10.1f} {best.reference_moto_ms_per_1k:6.1f} {busy:5.0%} "
            f"{stats.capacity_per_s or 0:11,.0f}"
        )
    slowest = min(bests, key=lambda b: b.observer_per_s)
    offered = smoke_rate * len(changes.rows) / changes.plans
    print(
        f"headroom: the slowest observer ({slowest.kind.name}) reads "
        f"{slowest.observer_per_s:,.0f} obs/s, {slowest.observer_per_s / offered:,.0f}x the "
        f"smoke scenario's offered {smoke_rate:g} changes/s ({offered:.1f} row changes/s)"
    )
    ratio = min(b.observer_per_s / b.reference_per_s for b in bests)
    print(f"observer_min_ratio: {ratio:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=3000, help="row changes (3000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each, best kept (3)")
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help="observer kinds, comma-separated (all)"
    )
    parser.add_argument("--timeout", type=float, default=120, help="longest read, s (120)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    kinds = args.kinds.split(",")
    if unknown := [k for k in kinds if k not in KINDS]:
        fail(f"unknown observer kind {unknown[0]!r} (known: {', '.join(KINDS)})")
    if args.changes < 1 or args.repeat < 1 or args.timeout <= 0:
        fail("--changes and --repeat must be at least 1, --timeout above 0")

    signals.install()  # SIGTERM like Ctrl-C: the servers are always stopped
    changes, smoke_rate = generate(args.changes, args.seed)
    log(changes.describe())
    with _console.workspace("cdcbench-bench-observers-", "server and observer logs") as workdir:
        servers = ExitStack()
        try:
            running = start_servers(servers, workdir)
            bests: list[Best] = []
            for name in kinds:
                log(f"filling {name}")
                bests.append(Best(KINDS[name](running, changes)))
            for round_ in range(args.repeat):
                for best in bests:
                    kind = best.kind
                    path = workdir / f"{kind.name}-{round_}.csv"
                    observed = time_observer(kind, running, path, args.timeout, best)
                    reference = time_reference(kind, running, args.timeout, best)
                    log(
                        f"round {round_ + 1}/{args.repeat} {kind.name}: {observed:,.0f} obs/s, "
                        f"reference {reference:,.0f}/s"
                    )
        finally:
            with signals.deferred("stopping the servers"):
                servers.close()
    report(bests, changes, smoke_rate, args.repeat)


if __name__ == "__main__":
    main()
