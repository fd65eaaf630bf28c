"""Driving the local DMS engine through the DMS API the way Terraform would, and reading
each target back into rows, for the engine's integration and golden-format tests."""

import csv
import io
import json
import time
from collections.abc import Callable
from typing import Any

import psycopg
from confluent_kafka import Consumer, TopicPartition

from harness.local.dms.api import await_task_status, describe_task
from harness.local.dms.changes import Column
from harness.local.dms.sources import pg_types
from harness.targets import Target

ROLE = "arn:aws:iam::123456789012:role/dms-access"
INSTANCE = "arn:aws:dms:us-east-1:123456789012:rep:local"


def selection(schema: str = "%", table: str = "%", action: str = "include") -> dict[str, Any]:
    return {
        "rule-type": "selection",
        "rule-id": f"{schema}-{table}-{action}",
        "rule-name": f"{schema}-{table}-{action}",
        "object-locator": {"schema-name": schema, "table-name": table},
        "rule-action": action,
    }


def source_endpoint(target: Target, ident: str, port: int | None = None) -> str:
    info = psycopg.conninfo.conninfo_to_dict(target.source_dsn)
    found = target.aws.client("dms").create_endpoint(
        EndpointIdentifier=ident,
        EndpointType="source",
        EngineName="postgres",
        Username=str(info["user"]),
        Password="unused-locally",
        ServerName=str(info["host"]),
        Port=port or int(str(info["port"])),
        DatabaseName=str(info["dbname"]),
        PostgreSQLSettings={"PluginName": "test_decoding"},
    )
    return str(found["Endpoint"]["EndpointArn"])


def target_endpoint(target: Target, ident: str, engine: str, **settings: Any) -> str:
    key = {
        "s3": "S3Settings",
        "kinesis": "KinesisSettings",
        "kafka": "KafkaSettings",
        "dynamodb": "DynamoDbSettings",
    }[engine]
    found = target.aws.client("dms").create_endpoint(
        EndpointIdentifier=ident, EndpointType="target", EngineName=engine, **{key: settings}
    )
    return str(found["Endpoint"]["EndpointArn"])


def create_task(
    target: Target,
    ident: str,
    source: str,
    dest: str,
    rules: list[dict[str, Any]],
    migration: str = "full-load-and-cdc",
    settings: dict[str, Any] | None = None,
    instance: str = INSTANCE,
) -> str:
    found = target.aws.client("dms").create_replication_task(
        ReplicationTaskIdentifier=ident,
        SourceEndpointArn=source,
        TargetEndpointArn=dest,
        ReplicationInstanceArn=instance,
        MigrationType=migration,
        TableMappings=json.dumps({"rules": rules}),
        ReplicationTaskSettings=json.dumps(settings or {}),
    )
    return str(found["ReplicationTask"]["ReplicationTaskArn"])


def task(target: Target, arn: str) -> dict[str, Any]:
    return describe_task(target.aws.client("dms"), arn)


def start(target: Target, arn: str, kind: str = "start-replication") -> None:
    target.aws.client("dms").start_replication_task(
        ReplicationTaskArn=arn, StartReplicationTaskType=kind
    )
    await_status(target, arn, "running")


def stop(target: Target, arn: str) -> None:
    target.aws.client("dms").stop_replication_task(ReplicationTaskArn=arn)
    await_status(target, arn, "stopped")


def await_status(target: Target, arn: str, status: str, timeout_s: float = 30) -> dict[str, Any]:
    return await_task_status(target.aws.client("dms"), arn, status, timeout_s)


def eventually(check: Callable[[], Any], timeout_s: float = 30) -> Any:
    """The first truthy result of `check`, polled until the deadline (then its last result)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def source_rows(dsn: str, table: str) -> dict[str, dict[str, str | None]]:
    """The source table as canonical text rows by `id`, the form every target is compared in."""
    with psycopg.connect(dsn, options="-c TimeZone=UTC") as conn:
        cols = conn.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            (table,),
        ).fetchall()
        columns = [pg_types.column(n, t) for n, t in cols]
        select = ", ".join(f'"{c.name}"::text' for c in columns)
        out = {}
        for values in conn.execute(f"SELECT {select} FROM {table}"):  # type: ignore[call-overload]
            row = {c.name: pg_types.canonical(c, v) for c, v in zip(columns, values, strict=True)}
            out[str(row["id"])] = row
        return out


def slots(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute("SELECT slot_name FROM pg_replication_slots")]


def sent_all(dsn: str, slot: str) -> bool:
    """Whether the server has sent the slot's reader everything written so far."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT r.sent_lsn >= pg_current_wal_lsn() FROM pg_stat_replication r "
            "JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = %s",
            (slot,),
        ).fetchone()
    return bool(row and row[0])


# -- reading targets back ------------------------------------------------------------------


def s3_objects(target: Target, bucket: str, prefix: str = "") -> dict[str, str]:
    s3 = target.aws.client("s3")
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            out[obj["Key"]] = body.decode()
    return dict(sorted(out.items()))


def s3_events(objects: dict[str, str], columns: list[str]) -> list[tuple[str, dict[str, str]]]:
    """(op, row) of every LOAD then CDC row in per-table S3 files (op I for LOAD rows)."""
    events: list[tuple[str, dict[str, str]]] = []
    loads = [k for k in objects if k.rsplit("/", 1)[-1].startswith("LOAD")]
    cdc = [k for k in objects if k not in loads]
    for key in loads + cdc:
        for fields in csv.reader(io.StringIO(objects[key])):
            op = "I" if key in loads else fields.pop(0)
            events.append((op, dict(zip(columns, fields, strict=False))))
    return events


def stream_events(messages: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(operation, data) of the data records of DMS JSON messages."""
    return [
        (m["metadata"]["operation"], m["data"])
        for m in messages
        if m["metadata"]["record-type"] == "data"
    ]


def kinesis_messages(target: Target, stream: str) -> list[dict[str, Any]]:
    kinesis = target.aws.client("kinesis")
    out = []
    for shard in kinesis.describe_stream(StreamName=stream)["StreamDescription"]["Shards"]:
        it = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while it:
            page = kinesis.get_records(ShardIterator=it, Limit=10000)
            out += [json.loads(r["Data"]) for r in page["Records"]]
            if not page["Records"]:
                break
            it = page.get("NextShardIterator")
    return out


def kafka_messages(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"read-{time.time_ns()}",
            "enable.auto.commit": False,
        }
    )
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        parts = [TopicPartition(topic, p, 0) for p in meta.partitions]
        consumer.assign(parts)
        ends = {p.partition: consumer.get_watermark_offsets(p, timeout=10)[1] for p in parts}
        out, done = [], {p for p, end in ends.items() if end == 0}
        while len(done) < len(parts):
            msg = consumer.poll(5)
            if msg is None:
                break
            if msg.error():
                continue
            out.append(json.loads(msg.value()))
            if msg.offset() + 1 >= ends[msg.partition()]:
                done.add(msg.partition())
        return out
    finally:
        consumer.close()


def replay(
    events: list[tuple[str, dict[str, Any]]], columns: list[Column]
) -> dict[str, dict[str, str | None]]:
    """The table state an event log leads to, values back in canonical text (absent = NULL)."""
    state: dict[str, dict[str, str | None]] = {}
    for op, data in events:
        key = str(data["id"])
        if op in ("D", "delete"):
            state.pop(key, None)
        else:
            state[key] = {c.name: _text(data.get(c.name)) for c in columns}
    return state


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
