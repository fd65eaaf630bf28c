"""The DMS Kinesis, Kafka and DynamoDB targets against moto and the local Kafka broker."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from harness.aws import AwsAccess
from harness.local.dms.changes import Column, Row, RowChange, Table, Transaction
from harness.local.dms.context import TaskContext
from harness.local.dms.mapping import TableMapping
from harness.local.dms.targets.dynamodb import DynamoDbTarget
from harness.local.dms.targets.kafka import KafkaTarget
from harness.local.dms.targets.kinesis import KinesisTarget
from harness.local.kafka_broker import KafkaBroker
from harness.targets import Target
from tests.helpers import REPO, SELECT_ALL, alive

pytestmark = pytest.mark.slow

ITEMS = Table(
    "shop",
    "items",
    (Column("id", "INT4", nullable=False), Column("name", "STRING"), Column("qty", "INT4")),
    ("id",),
)
ORDERS = Table(
    "shop",
    "orders",
    (Column("id", "INT8", nullable=False), Column("total", "NUMERIC")),
    ("id",),
)
COMMIT = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def context(
    aws: AwsAccess, endpoint: dict[str, Any], rules: list[dict[str, Any]] | None = None
) -> TaskContext:
    return TaskContext(
        task_id="T1",
        task_arn="arn:aws:dms:us-east-1:123456789012:task:T1",
        endpoint=endpoint,
        mapping=TableMapping({"rules": [SELECT_ALL, *(rules or [])]}),
        settings={"TargetMetadata": {"ParallelApplyThreads": 2}},
        aws=aws,
    )


def item_row(i: int, qty: int = 1) -> Row:
    return {"id": str(i), "name": f"item-{i}", "qty": str(qty)}


def workload() -> tuple[list[Row], list[Transaction]]:
    """Ten loaded rows, then transactions updating and deleting some of them."""
    load = [item_row(i) for i in range(10)]
    txns = [
        Transaction(
            100 + n,
            COMMIT,
            f"0/{n}",
            [
                RowChange("update", ITEMS, item_row(n % 3, qty=n)),
                RowChange("insert", ORDERS, {"id": str(n), "total": "9.99"}),
            ],
        )
        for n in range(1, 8)
    ]
    txns.append(Transaction(200, COMMIT, "0/99", [RowChange("delete", ITEMS, {"id": "9"})]))
    return load, txns


def drive(target: Any) -> None:
    load, txns = workload()
    assert target.load_rows(ITEMS, iter(load)) == len(load)
    for txn in txns:
        target.apply(txn)
    target.flush()


def expected_data_messages() -> list[tuple[str, str, dict[str, Any]]]:
    """(partition key, operation, data) of every data message, in source order."""
    load, txns = workload()
    out = [(f"shop.items.{r['id']}", "load", {**r}) for r in load]
    for txn in txns:
        for ch in txn.changes:
            out.append((f"{ch.table.schema}.{ch.table.name}.{ch.row['id']}", ch.op, {**ch.row}))
    return out


def typed_rows(expected: list[tuple[str, str, dict[str, Any]]]) -> list[tuple[str, str, Any]]:
    numeric = {"id", "qty"}
    return [
        (key, op, {k: int(v) if k in numeric else v for k, v in data.items()})
        for key, op, data in expected
    ]


def per_key(messages: list[tuple[str, str, Any]]) -> dict[str, list[tuple[str, Any]]]:
    out: dict[str, list[tuple[str, Any]]] = {}
    for key, op, data in messages:
        out.setdefault(key, []).append((op, data))
    return out


STREAM_SETTINGS = {"PartitionIncludeSchemaTable": True, "MessageFormat": "json-unformatted"}


# -- Kinesis ---------------------------------------------------------------------------------


def read_stream(aws: AwsAccess, name: str) -> list[tuple[str, dict[str, Any]]]:
    kinesis = aws.client("kinesis")
    out = []
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
            out += [(r["PartitionKey"], json.loads(r["Data"])) for r in page["Records"]]
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return out


def test_kinesis_target_writes_dms_messages_in_per_key_order(local_target: Target) -> None:
    aws = local_target.aws
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName="dms-kinesis-test", ShardCount=2)
    arn = kinesis.describe_stream_summary(StreamName="dms-kinesis-test")[
        "StreamDescriptionSummary"
    ]["StreamARN"]
    endpoint = {"KinesisSettings": {"StreamArn": arn, **STREAM_SETTINGS}}
    target = KinesisTarget(context(aws, endpoint))
    drive(target)
    target.close()

    records = read_stream(aws, "dms-kinesis-test")
    control = [m for _, m in records if m["metadata"]["record-type"] == "control"]
    assert [c["metadata"]["operation"] for c in control] == ["create-table"]
    data = [(k, m["metadata"]["operation"], m["data"]) for k, m in records if "data" in m]
    assert per_key(data) == per_key(typed_rows(expected_data_messages()))


class FlakyKinesis:
    """A PutRecords stand-in that rejects the first record of a key once."""

    def __init__(self, reject_key: str) -> None:
        self.reject_key = reject_key
        self.calls: list[list[str]] = []
        self.rejected = False

    def put_records(self, StreamARN: str, Records: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append([json.loads(r["Data"])["data"]["qty"] for r in Records])
        results: list[dict[str, Any]] = []
        for r in Records:
            if r["PartitionKey"] == self.reject_key and not self.rejected:
                self.rejected = True
                results.append({"ErrorCode": "ProvisionedThroughputExceededException"})
            else:
                results.append({"SequenceNumber": "1", "ShardId": "shardId-0"})
        failed = sum("ErrorCode" in r for r in results)
        return {"FailedRecordCount": failed, "Records": results}


def test_kinesis_resends_a_rejected_record_and_its_keys_later_records_first() -> None:
    ctx = context(AwsAccess(region="us-east-1"), {"KinesisSettings": {"StreamArn": "arn:x"}})
    target = KinesisTarget(ctx)
    flaky = FlakyKinesis(reject_key="1")
    target.client = flaky
    changes = [RowChange("update", ITEMS, item_row(i % 2, qty=i)) for i in range(502)]
    target.apply(Transaction(1, COMMIT, "0/1", changes))
    assert target.due(time.monotonic())
    target.flush()
    # qty 1 (key 1) is rejected: it and every later record of key 1 from that call are
    # sent again, ahead of the records that were not sent yet
    assert flaky.calls == [list(range(500)), [*range(1, 500, 2), 500, 501]]


# -- Kafka -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"))
    broker.start()
    yield broker
    broker.stop()


CONSUMER = """
import json, sys, time
from confluent_kafka import Consumer
topics, want, boot = sys.argv[1].split(","), int(sys.argv[2]), sys.argv[3]
c = Consumer({"bootstrap.servers": boot, "group.id": "check", "auto.offset.reset": "earliest"})
c.subscribe(topics)
seen, deadline = [], time.monotonic() + 60
while len(seen) < want and time.monotonic() < deadline:
    m = c.poll(0.5)
    if m is not None and not m.error():
        seen.append([m.topic(), m.partition(), m.key().decode(), json.loads(m.value())])
c.close()
print(json.dumps(seen))
"""


def consume(broker: KafkaBroker, topics: list[str], want: int) -> list[list[Any]]:
    result = subprocess.run(
        [sys.executable, "-c", CONSUMER, ",".join(topics), str(want), broker.bootstrap],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return list(json.loads(result.stdout))


def test_kafka_target_produces_dms_messages_keyed_by_partition_key(
    local_target: Target, kafka: KafkaBroker
) -> None:
    kafka.create_topic("dms-orders", 3)
    rule = {
        "rule-type": "object-mapping",
        "rule-id": "2",
        "rule-name": "orders",
        "rule-action": "map-record-to-record",
        "kafka-target-topic": "dms-orders",
        "object-locator": {"schema-name": "shop", "table-name": "orders"},
    }
    endpoint = {"KafkaSettings": {"Broker": kafka.bootstrap, **STREAM_SETTINGS}}
    target = KafkaTarget(context(local_target.aws, endpoint, [rule]))
    drive(target)
    target.close()

    expected = typed_rows(expected_data_messages())
    seen = consume(kafka, ["kafka-default-topic", "dms-orders"], len(expected) + 1)
    data = [(key, v["metadata"]["operation"], v["data"]) for _, _, key, v in seen if "data" in v]
    assert per_key(data) == per_key(expected)
    topics = {(value["metadata"]["table-name"], topic) for topic, _, _, value in seen}
    assert topics == {("items", "kafka-default-topic"), ("orders", "dms-orders")}
    partitions: dict[str, set[int]] = {}
    for _, partition, key, _ in seen:
        partitions.setdefault(key, set()).add(partition)
    assert all(len(p) == 1 for p in partitions.values())


def test_kafka_flush_raises_when_messages_cannot_be_delivered(local_target: Target) -> None:
    endpoint = {"KafkaSettings": {"Broker": "127.0.0.1:1", "MessageMaxBytes": 1000}}
    target = KafkaTarget(context(local_target.aws, endpoint))
    target.producer = type(target.producer)(
        {"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 500, "log_level": 0}
    )
    target.apply(Transaction(1, COMMIT, "0/1", [RowChange("insert", ITEMS, item_row(1))]))
    with pytest.raises(RuntimeError, match="1 Kafka messages not delivered"):
        target.flush()


def test_kafka_broker_child_exits_when_its_parent_dies(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from harness.local.kafka_broker import KafkaBroker\n"
        "b = KafkaBroker(Path(sys.argv[1])); b.start()\n"
        "print(b.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert alive(child)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)


# -- DynamoDB --------------------------------------------------------------------------------


def scan(aws: AwsAccess, table: str) -> list[dict[str, Any]]:
    items = aws.client("dynamodb").scan(TableName=table)["Items"]
    return sorted(items, key=lambda i: json.dumps(i, sort_keys=True))


def test_dynamodb_target_without_mapping_mirrors_rows(local_target: Target) -> None:
    aws = local_target.aws
    target = DynamoDbTarget(context(aws, {}))
    drive(target)
    target.close()

    items = {int(i["id"]["N"]): i for i in scan(aws, "items")}
    assert sorted(items) == list(range(9))  # id 9 deleted
    assert items[1] == {"id": {"N": "1"}, "name": {"S": "item-1"}, "qty": {"N": "7"}}
    assert items[5] == {"id": {"N": "5"}, "name": {"S": "item-5"}, "qty": {"N": "1"}}
    orders = scan(aws, "orders")
    assert len(orders) == 7 and orders[0]["total"] == {"N": "9.99"}
    schema = aws.client("dynamodb").describe_table(TableName="items")["Table"]["KeySchema"]
    assert schema == [{"AttributeName": "id", "KeyType": "HASH"}]


def test_dynamodb_target_with_object_mapping(local_target: Target) -> None:
    rule = {
        "rule-type": "object-mapping",
        "rule-id": "2",
        "rule-name": "items",
        "rule-action": "map-record-to-record",
        "object-locator": {"schema-name": "shop", "table-name": "items"},
        "target-table-name": "mapped_items",
        "mapping-parameters": {
            "partition-key-name": "ItemKey",
            "sort-key-name": "Name",
            "exclude-columns": ["NAME"],
            "attribute-mappings": [
                {
                    "target-attribute-name": "ItemKey",
                    "attribute-type": "scalar",
                    "attribute-sub-type": "string",
                    "value": "item#${id}",
                },
                {
                    "target-attribute-name": "Name",
                    "attribute-type": "scalar",
                    "attribute-sub-type": "string",
                    "value": "${name}",
                },
                {
                    "target-attribute-name": "Stock",
                    "attribute-type": "document",
                    "attribute-sub-type": "dynamodb-map",
                    "value": {"M": {"Qty": {"N": "${qty}"}, "Label": {"S": "${name}"}}},
                },
            ],
        },
    }
    aws = local_target.aws
    target = DynamoDbTarget(context(aws, {}, [rule]))
    target.load_rows(ITEMS, [item_row(1), item_row(2)])
    target.apply(
        Transaction(
            1,
            COMMIT,
            "0/1",
            [
                RowChange("update", ITEMS, item_row(1, qty=5)),
                RowChange("delete", ITEMS, item_row(2)),
                RowChange("insert", ITEMS, item_row(3)),
                RowChange("delete", ITEMS, item_row(3)),
                RowChange("insert", ITEMS, item_row(3, qty=4)),
            ],
        )
    )
    target.flush()
    target.close()

    assert scan(aws, "mapped_items") == [
        {
            "ItemKey": {"S": f"item#{i}"},
            "Name": {"S": f"item-{i}"},
            "id": {"N": str(i)},
            "qty": {"N": str(q)},
            "Stock": {"M": {"Qty": {"N": str(q)}, "Label": {"S": f"item-{i}"}}},
        }
        for i, q in ((1, 5), (3, 4))
    ]
    table = aws.client("dynamodb").describe_table(TableName="mapped_items")["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "ItemKey", "KeyType": "HASH"},
        {"AttributeName": "Name", "KeyType": "RANGE"},
    ]
