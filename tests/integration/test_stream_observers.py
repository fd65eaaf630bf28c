"""The Kinesis and Kafka observers log every DMS row change of every shard or partition, in
order, skipping control records; they name a record they cannot decode, report how far behind
they are, and leave the pattern's consumer groups untouched."""

import json
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_INVALID, Consumer, Producer, TopicPartition

from harness.load.row_image import row_digest
from harness.observe import read_observations
from harness.observe.base import Observation
from harness.observe.kafka_topic import KafkaTopicObserver
from harness.observe.kinesis_stream import KinesisStreamObserver
from tests.conftest import BareCloud
from tests.helpers import unique, wait_for

pytestmark = pytest.mark.slow

W1 = {
    "id": 1,
    "version": 1,
    "written_at": "2024-05-01T10:00:00.000001Z",
    "name": "sprocket ✓",
    "price": "12.5000",
    "attrs": {"colour": "blue"},
}
W1_2 = {**W1, "version": 2, "name": "sprocket 2"}
W2 = {"id": 2, "version": 1, "written_at": "2024-05-01T10:00:01Z", "name": "cog"}
O5 = {
    "id": 5,
    "version": 1,
    "written_at": "2024-05-01T10:00:02Z",
    "widget_id": 2,
    "quantity": 3,
    "amount": "7.0000",
    "status": "new",
}


def dms(operation: str, table: str, data: dict[str, Any] | None = None) -> bytes:
    """A DMS stream message as the DMS guide shows them (tab-indented JSON); a control record
    for DDL operations."""
    record_type = "data" if operation in ("load", "insert", "update", "delete") else "control"
    metadata = {
        "timestamp": "2024-05-01T10:00:03.000000Z",
        "record-type": record_type,
        "operation": operation,
        "partition-key-type": "schema-table" if data is not None else "task-id",
        "schema-name": "public",
        "table-name": table,
    }
    body = {"metadata": metadata} if data is None else {"data": data, "metadata": metadata}
    return json.dumps(body, indent="\t").encode()


Seen = tuple[str, str, int, str, str]
"""(table, key, version, op, digest) of an observation."""

LANES: list[list[tuple[bytes, Seen | None]]] = [
    [
        (dms("create-table", "widgets"), None),
        (dms("insert", "widgets", W1), ("widgets", "1", 1, "upsert", row_digest("widgets", W1))),
        (
            dms("update", "widgets", W1_2),
            ("widgets", "1", 2, "upsert", row_digest("widgets", W1_2)),
        ),
        (dms("delete", "widgets", W1_2), ("widgets", "1", 3, "delete", "")),
    ],
    [
        (dms("load", "widgets", W2), ("widgets", "2", 1, "upsert", row_digest("widgets", W2))),
        (dms("insert", "orders", O5), ("orders", "5", 1, "upsert", row_digest("orders", O5))),
        (dms("delete", "orders", O5), ("orders", "5", 2, "delete", "")),
        (dms("insert", "awsdms_apply_exceptions", {"TASK_NAME": "t"}), None),
    ],
]
"""Messages of two shards / partitions and what each must be observed as (None: skipped)."""
OBSERVED = sum(seen is not None for lane in LANES for _, seen in lane)
STATE = {
    ("widgets", "1"): (3, False),
    ("widgets", "2"): (1, True),
    ("orders", "5"): (2, False),
}


def by_lane(observations: list[Observation]) -> dict[str, list[tuple[str, Seen]]]:
    """(position, what was seen) per shard or partition, in log order."""
    lanes: dict[str, list[tuple[str, Seen]]] = {}
    for o in observations:
        lane = o.position.rsplit(":", 1)[0]
        lanes.setdefault(lane, []).append((o.position, (o.table, o.key, o.version, o.op, o.digest)))
    return lanes


def expected(positions: list[list[str]]) -> dict[str, list[tuple[str, Seen]]]:
    """What `by_lane` must give, for the position each message of LANES got."""
    return {
        lane_positions[0].rsplit(":", 1)[0]: [
            (position, seen)
            for position, (_, seen) in zip(lane_positions, lane, strict=True)
            if seen is not None
        ]
        for lane_positions, lane in zip(positions, LANES, strict=True)
    }


# -- Kinesis


def put(kinesis: Any, stream: str, shard: dict[str, Any], bodies: list[bytes]) -> list[str]:
    """Put `bodies` into `shard` in order; their positions `<shardId>:<SequenceNumber>`."""
    hash_key = shard["HashKeyRange"]["StartingHashKey"]
    records = [{"Data": b, "PartitionKey": "p", "ExplicitHashKey": hash_key} for b in bodies]
    response = kinesis.put_records(StreamName=stream, Records=records)
    assert {r["ShardId"] for r in response["Records"]} == {shard["ShardId"]}
    return [f"{r['ShardId']}:{r['SequenceNumber']}" for r in response["Records"]]


def new_stream(kinesis: Any, shards: int) -> tuple[str, list[dict[str, Any]]]:
    name = unique("observed")
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    return name, kinesis.list_shards(StreamName=name)["Shards"]


def test_kinesis_observer_logs_every_shards_row_changes_in_order(
    bare_cloud: BareCloud, tmp_path: Path
) -> None:
    kinesis = bare_cloud.aws.client("kinesis")
    stream, shards = new_stream(kinesis, 2)
    positions = [
        put(kinesis, stream, shard, [body for body, _ in lane])
        for shard, lane in zip(shards, LANES, strict=True)
    ]
    log = tmp_path / "kinesis.csv"
    observer = KinesisStreamObserver("stream", log, bare_cloud.aws, stream)
    assert observer.behind_ms is None
    started = time.time_ns()
    observer.start()
    try:
        wait_for(lambda: observer.observed >= OBSERVED, "every row change")
    finally:
        observer.stop()

    assert observer.error is None
    observations = read_observations(log)
    assert by_lane(observations) == expected(positions)
    assert all(started < o.seen_ns < time.time_ns() for o in observations)
    assert {o.projection for o in observations} == {"stream"}
    assert observer.state == STATE
    assert observer.behind_ms == 0
    assert observer.stats().control_records == {"create-table": 1}


def test_kinesis_observer_reports_how_far_behind_the_shard_tip_it_reads(
    bare_cloud: BareCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harness.observe.kinesis_stream._READ_LIMIT", 1)
    kinesis = bare_cloud.aws.client("kinesis")
    stream, [shard, _] = new_stream(kinesis, 2)  # the other shard stays empty: 0 ms behind
    before = time.time()
    [first] = put(kinesis, stream, shard, [dms("insert", "widgets", W1)])
    time.sleep(0.3)  # the second record arrives at least 300 ms after the first
    [second] = put(kinesis, stream, shard, [dms("insert", "widgets", W2)])
    between_ms = (time.time() - before) * 1000  # both arrived within this
    observer = KinesisStreamObserver("stream", tmp_path / "kinesis.csv", bare_cloud.aws, stream)
    try:
        assert [o.position for o in observer.poll()] == [first]
        assert observer.behind_ms is not None and 300 <= observer.behind_ms <= between_ms
        assert observer.lagging
        assert [o.position for o in observer.poll()] == [second]
        assert (observer.behind_ms, observer.lagging) == (0, True)  # a full page (of 1)
        assert observer.poll() == []
        assert (observer.behind_ms, observer.lagging) == (0, False)
    finally:
        observer.stop()


def test_kinesis_observer_names_a_record_it_cannot_decode(
    bare_cloud: BareCloud, tmp_path: Path
) -> None:
    kinesis = bare_cloud.aws.client("kinesis")
    stream, [shard] = new_stream(kinesis, 1)
    [_, bad] = put(kinesis, stream, shard, [dms("insert", "widgets", W1), b'{"data": '])
    observer = KinesisStreamObserver("stream", tmp_path / "kinesis.csv", bare_cloud.aws, stream)
    observer.start()
    try:
        error = wait_for(lambda: observer.error, "the decoding error")
    finally:
        observer.stop()
    assert error.startswith(f"ValueError: {bad}: not a JSON document: Expecting value")


# -- Kafka


def produce(bare_cloud: BareCloud, topic: str, lanes: list[list[bytes]]) -> None:
    """Each lane's messages into the partition of its index, in order."""
    producer = Producer({"bootstrap.servers": bare_cloud.kafka.bootstrap, "acks": "all"})
    for partition, bodies in enumerate(lanes):
        for body in bodies:
            producer.produce(topic, value=body, key=b"public.widgets", partition=partition)
    assert producer.flush(10) == 0


def committed(bare_cloud: BareCloud, group: str, topic: str, partitions: int) -> list[int]:
    """The group's committed offset of each partition (negative: none)."""
    consumer = Consumer({"bootstrap.servers": bare_cloud.kafka.bootstrap, "group.id": group})
    try:
        wanted = [TopicPartition(topic, p) for p in range(partitions)]
        return [tp.offset for tp in consumer.committed(wanted, timeout=10)]
    finally:
        consumer.close()


def test_kafka_observer_logs_every_partitions_row_changes_and_leaves_groups_alone(
    bare_cloud: BareCloud, tmp_path: Path
) -> None:
    topic = unique("observed")
    bare_cloud.kafka.create_topic(topic, 2)
    produce(bare_cloud, topic, [[body for body, _ in lane] for lane in LANES])
    group = unique("pattern")
    consumer = Consumer({"bootstrap.servers": bare_cloud.kafka.bootstrap, "group.id": group})
    offsets = [TopicPartition(topic, 0, 2), TopicPartition(topic, 1, 1)]
    consumer.commit(offsets=offsets, asynchronous=False)
    consumer.close()
    assert committed(bare_cloud, group, topic, 2) == [2, 1]

    log = tmp_path / "kafka.csv"
    observer = KafkaTopicObserver("topic", log, bare_cloud.aws, bare_cloud.kafka.bootstrap, topic)
    observer.refresh_s = 0.1
    started = time.time_ns()
    observer.start()
    try:
        wait_for(lambda: observer.observed >= OBSERVED, "every row change")
        wait_for(lambda: observer.behind == 0, "nothing left to read")
    finally:
        observer.stop()

    assert observer.error is None
    observations = read_observations(log)
    positions = [[f"{p}:{offset}" for offset in range(len(lane))] for p, lane in enumerate(LANES)]
    assert by_lane(observations) == expected(positions)
    assert all(started < o.seen_ns < time.time_ns() for o in observations)
    assert observer.state == STATE
    assert observer.stats().control_records == {"create-table": 1}
    assert committed(bare_cloud, group, topic, 2) == [2, 1]
    assert committed(bare_cloud, observer.group, topic, 2) == [OFFSET_INVALID] * 2


def test_kafka_observer_finds_partitions_as_they_appear_and_counts_what_it_has_not_read(
    bare_cloud: BareCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harness.observe.kafka_topic._BATCH", 2)
    topic = unique("observed")
    bootstrap = bare_cloud.kafka.bootstrap
    observer = KafkaTopicObserver("topic", tmp_path / "kafka.csv", bare_cloud.aws, bootstrap, topic)
    observer.refresh_s = 0
    try:
        assert observer.poll() == []  # no topic yet (and not created by looking for it)
        assert (observer.behind, observer.lagging) == (0, False)
        bare_cloud.kafka.create_topic(topic, 2)
        bodies = [dms("insert", "widgets", {**W1, "id": key}) for key in range(5)]
        produce(bare_cloud, topic, [bodies[:3], bodies[3:]])
        seen = observer.poll()
        assert observer.behind == 5  # measured before this poll's records were read
        time.sleep(0.3)  # time to fetch every partition's records: full batches from now on
        full = 0
        deadline = time.monotonic() + 10
        while len(seen) < 5 and time.monotonic() < deadline:
            batch = observer.poll()
            assert observer.lagging == (len(batch) == 2), batch  # a full batch: more may wait
            full += len(batch) == 2
            seen += batch
        assert full, "no poll filled its batch"
        assert observer.poll() == []
        assert (observer.behind, observer.lagging) == (0, False)
    finally:
        observer.stop()
    assert sorted((o.position, o.key) for o in seen) == [
        ("0:0", "0"),
        ("0:1", "1"),
        ("0:2", "2"),
        ("1:0", "3"),
        ("1:1", "4"),
    ]


def test_kafka_observer_rides_out_brokers_that_are_down(
    bare_cloud: BareCloud, tmp_path: Path
) -> None:
    """Every broker down (the `kafka_down` fault): the observer's metadata refresh cannot
    be answered; it keeps what it knew and reads on once they are back."""
    topic = unique("observed")
    bare_cloud.kafka.create_topic(topic, 1)
    bootstrap = bare_cloud.kafka.bootstrap
    observer = KafkaTopicObserver("topic", tmp_path / "kafka.csv", bare_cloud.aws, bootstrap, topic)
    observer.refresh_s = 0
    try:
        produce(bare_cloud, topic, [[dms("insert", "widgets", {**W1, "id": 1})]])
        seen = wait_for(observer.poll, "the first record")
        bare_cloud.kafka.set_brokers(up=False)
        try:
            for _ in range(3):
                assert observer.poll() == []
        finally:
            bare_cloud.kafka.set_brokers(up=True)
        produce(bare_cloud, topic, [[dms("insert", "widgets", {**W1, "id": 2})]])
        seen += wait_for(observer.poll, "the record made once the brokers are back")
    finally:
        observer.stop()
    assert [o.key for o in seen] == ["1", "2"]


def test_kafka_observer_names_a_record_it_cannot_decode(
    bare_cloud: BareCloud, tmp_path: Path
) -> None:
    topic = unique("observed")
    bare_cloud.kafka.create_topic(topic, 1)
    key_only = dms("delete", "widgets", {"id": 9})  # PostgreSQL without REPLICA IDENTITY FULL
    produce(bare_cloud, topic, [[dms("insert", "widgets", W1), key_only]])
    bootstrap = bare_cloud.kafka.bootstrap
    observer = KafkaTopicObserver("topic", tmp_path / "kafka.csv", bare_cloud.aws, bootstrap, topic)
    observer.start()
    try:
        error = wait_for(lambda: observer.error, "the decoding error")
    finally:
        observer.stop()
    assert error.startswith("ValueError: 0:1: widgets 9 carries no version (the source needs")
