"""The Kafka poller runs real functions on topics of the local Kafka broker, for MSK and
self-managed Kafka mappings created through the Lambda API on moto: the documented event
shapes, starting positions, batching, per-partition order, consumer-group resume, retries
that never skip a batch, and records the mock broker dropped reported as an emulator limit."""

import base64
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    KafkaMskEventModel,
    KafkaSelfManagedEventModel,
)
from botocore.exceptions import ClientError
from confluent_kafka import Consumer, Producer, TopicPartition

from harness.local.lambda_runtime.functions import Functions
from harness.local.lambda_runtime.pollers.base import PAYLOAD_LIMIT, MappingContext
from harness.local.lambda_runtime.pollers.kafka import KafkaPoller
from harness.local.lambda_runtime.timing import LambdaTiming
from tests.conftest import BareCloud
from tests.helpers import DOC_EXAMPLES, create_msk_cluster, unique, wait_for
from tests.lambda_support import create_function, recorded

pytestmark = pytest.mark.slow

HANDLER = """\
import json
import os
import time


def handler(event, context):
    size = len(json.dumps(event))
    if os.environ.get("STRIP_VALUES"):
        for records in event["records"].values():
            for record in records:
                record.pop("value")
    with open(os.environ["RECORD_TO"], "a") as out:
        out.write(json.dumps({"at": time.time(), "size": size, "event": event}) + "\\n")
    fail_times = int(os.environ.get("FAIL_TIMES", "0"))
    if fail_times:
        counter = os.environ["RECORD_TO"] + ".calls"
        calls = int(open(counter).read()) if os.path.exists(counter) else 0
        with open(counter, "w") as out:
            out.write(str(calls + 1))
        if fail_times < 0 or calls < fail_times:
            raise RuntimeError("not this time")
"""
"""Records each event (with the time and its JSON size); fails the first FAIL_TIMES calls
(every call when negative)."""

PRODUCER = """\
import sys
from confluent_kafka import Producer

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
for seq in range(count):
    key = f"k{seq % 10}"
    producer.produce(topic, key=key.encode(), value=f"{key}:{seq}".encode())
    producer.poll(0)
assert producer.flush(30) == 0
"""
"""A producer in its own process: `bootstrap topic count`, keys k0..k9, values key:seq."""


@dataclass
class Mapped:
    """A Kafka mapping to a recording function; pollers for it start and stop on demand."""

    mapping: dict[str, Any]
    ctx: MappingContext
    record_to: Path
    reports: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)
    poller: KafkaPoller | None = None

    def start(self) -> None:
        assert self.poller is None
        self.poller = KafkaPoller(self.ctx)
        self.poller.start()

    def stop(self) -> None:
        if self.poller is not None:
            self.poller.stop()
            assert not self.poller._thread.is_alive()
            self.poller = None

    def calls(self) -> list[dict[str, Any]]:
        """What the function recorded, one entry per invocation: at, size, event."""
        return recorded(self.record_to)

    def batches(self) -> list[list[tuple[int, int]]]:
        """(partition, offset) of each invocation's records, in event order."""
        return [
            [
                (r["partition"], r["offset"])
                for records in c["event"]["records"].values()
                for r in records
            ]
            for c in self.calls()
        ]

    def offsets(self) -> list[int]:
        return [offset for batch in self.batches() for _, offset in batch]


MapTopic = Callable[..., Mapped]


@pytest.fixture(scope="module")
def cluster_arn(bare_cloud: BareCloud) -> str:
    return create_msk_cluster(bare_cloud.aws.client("kafka"), unique("lambda"))


@pytest.fixture
def map_topic(bare_cloud: BareCloud, cluster_arn: str, tmp_path: Path) -> Iterator[MapTopic]:
    """`map_topic(topic, env=..., self_managed=..., **mapping)`: a mapping from the MSK
    cluster (or the broker as self-managed Kafka) to a recording function."""
    aws = bare_cloud.aws
    functions = Functions(aws, tmp_path / "run")
    made: list[Mapped] = []

    def create(
        topic: str, env: dict[str, str] | None = None, self_managed: bool = False, **mapping: Any
    ) -> Mapped:
        name = f"fn-{uuid.uuid4().hex[:10]}"
        record_to = tmp_path / f"{name}.jsonl"
        function = create_function(aws, name, HANDLER, {"RECORD_TO": str(record_to), **(env or {})})
        source: dict[str, Any] = {"EventSourceArn": cluster_arn}
        if self_managed:
            endpoints = {"KAFKA_BOOTSTRAP_SERVERS": bare_cloud.kafka.bootstrap.split(",")}
            source = {"SelfManagedEventSource": {"Endpoints": endpoints}}
        lam = aws.client("lambda")
        uuid_ = lam.create_event_source_mapping(
            FunctionName=function, Topics=[topic], **source, **mapping
        )["UUID"]
        config = lam.get_event_source_mapping(UUID=uuid_)
        outcome: dict[str, list[str]] = {"reports": [], "failures": [], "limits": []}
        ctx = MappingContext(
            mapping=config,
            functions=functions,
            aws=aws,
            timing=LambdaTiming(),
            report=outcome["reports"].append,
            fail=outcome["failures"].append,
            limit=outcome["limits"].append,
        )
        mapped = Mapped(config, ctx, record_to, **outcome)
        made.append(mapped)
        return mapped

    try:
        yield create
    finally:
        for mapped in made:
            mapped.stop()
        functions.close()
    assert [m.failures for m in made if m.failures] == []


@pytest.fixture
def produce(bare_cloud: BareCloud) -> Iterator[Callable[..., None]]:
    """`produce(topic, value, key=None, headers=None, timestamp=0)`, flushed at once."""
    producer = Producer({"bootstrap.servers": bare_cloud.kafka.bootstrap, "acks": "all"})

    def send(topic: str, value: bytes | None, **kwargs: Any) -> None:
        producer.produce(topic, value=value, **kwargs)
        assert producer.flush(10) == 0

    yield send


def committed(bare_cloud: BareCloud, group: str, topic: str, partition: int = 0) -> int:
    consumer = Consumer({"bootstrap.servers": bare_cloud.kafka.bootstrap, "group.id": group})
    try:
        [found] = consumer.committed([TopicPartition(topic, partition)], timeout=10)
        return int(found.offset)
    finally:
        consumer.close()


def new_topic(bare_cloud: BareCloud, partitions: int = 1) -> str:
    topic = f"t-{uuid.uuid4().hex[:10]}"
    bare_cloud.kafka.create_topic(topic, partitions)
    return topic


def _doc(name: str) -> dict[str, Any]:
    return dict(json.loads((DOC_EXAMPLES / "lambda-events" / name).read_text()))


def test_the_lambda_api_accepts_msk_and_self_managed_kafka_mappings(
    bare_cloud: BareCloud, cluster_arn: str
) -> None:
    aws = bare_cloud.aws
    function = create_function(aws, f"fn-{uuid.uuid4().hex[:10]}", HANDLER)
    lam = aws.client("lambda")
    msk = lam.create_event_source_mapping(
        EventSourceArn=cluster_arn,
        FunctionName=function,
        Topics=["orders"],
        StartingPosition="LATEST",
    )
    got = lam.get_event_source_mapping(UUID=msk["UUID"])
    assert (got["EventSourceArn"], got["Topics"], got["StartingPosition"]) == (
        cluster_arn,
        ["orders"],
        "LATEST",
    )
    assert (got["BatchSize"], got["State"], got["FunctionArn"]) == (100, "Enabled", function)
    assert got["AmazonManagedKafkaEventSourceConfig"] == {"ConsumerGroupId": msk["UUID"]}
    listed = lam.list_event_source_mappings(EventSourceArn=cluster_arn)["EventSourceMappings"]
    assert msk["UUID"] in [m["UUID"] for m in listed]

    endpoints = {"KAFKA_BOOTSTRAP_SERVERS": ["b-1:9092", "b-2:9092"]}
    own = lam.create_event_source_mapping(
        FunctionName=function,
        Topics=["orders"],
        StartingPosition="TRIM_HORIZON",
        SelfManagedEventSource={"Endpoints": endpoints},
        SelfManagedKafkaEventSourceConfig={"ConsumerGroupId": "billing"},
        BatchSize=10000,
    )
    got = lam.get_event_source_mapping(UUID=own["UUID"])
    assert "EventSourceArn" not in got
    assert got["SelfManagedEventSource"] == {"Endpoints": endpoints}
    assert got["SelfManagedKafkaEventSourceConfig"] == {"ConsumerGroupId": "billing"}
    updated = lam.update_event_source_mapping(UUID=own["UUID"], BatchSize=7, Enabled=False)
    assert (updated["BatchSize"], updated["State"]) == (7, "Disabled")
    assert lam.delete_event_source_mapping(UUID=own["UUID"])["State"] == "Deleting"
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        lam.get_event_source_mapping(UUID=own["UUID"])

    base = {"EventSourceArn": cluster_arn, "FunctionName": function}
    invalid = [
        ({"StartingPosition": "LATEST"}, "Topics"),
        ({"Topics": ["orders"]}, "StartingPosition"),
        ({"Topics": ["orders"], "StartingPosition": "AT_TIMESTAMP"}, "StartingPositionTimestamp"),
        ({"Topics": ["orders"], "StartingPosition": "LATEST", "BatchSize": 10001}, "BatchSize"),
    ]
    for extra, named in invalid:
        with pytest.raises(ClientError, match=f"InvalidParameterValueException.*{named}"):
            lam.create_event_source_mapping(**base, **extra)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        lam.create_event_source_mapping(
            **{**base, "EventSourceArn": cluster_arn + "-gone"},
            Topics=["orders"],
            StartingPosition="LATEST",
        )


def test_an_msk_batch_has_the_documented_shape(
    map_topic: MapTopic, produce: Callable[..., None], bare_cloud: BareCloud, cluster_arn: str
) -> None:
    topic = new_topic(bare_cloud)
    produce(topic, b"Hello, this is a test.", key=b"abc", headers=[("headerKey", b"headerValue")])
    produce(topic, b"no key")
    mapped = map_topic(topic, StartingPosition="TRIM_HORIZON")
    mapped.start()
    wait_for(lambda: mapped.offsets() == [0, 1], "offsets 0 and 1")
    [call] = mapped.calls()
    event = call["event"]
    doc = _doc("msk-event.json")
    parsed = KafkaMskEventModel(**json.loads(json.dumps(event)))  # the model decodes in place
    assert list(event) == list(doc)
    assert (event["eventSource"], event["eventSourceArn"]) == ("aws:kafka", cluster_arn)
    assert event["bootstrapServers"] == bare_cloud.kafka.bootstrap
    assert list(event["records"]) == [f"{topic}-0"]
    keyed, unkeyed = event["records"][f"{topic}-0"]
    doc_record = doc["records"]["mytopic-0"][0]
    assert list(keyed) == list(doc_record)
    assert [k for k in doc_record if k not in unkeyed] == ["key"]
    assert (keyed["topic"], keyed["partition"], keyed["offset"]) == (topic, 0, 0)
    assert (keyed["key"], keyed["value"]) == ("YWJj", "SGVsbG8sIHRoaXMgaXMgYSB0ZXN0Lg==")
    assert keyed["headers"] == doc_record["headers"]
    assert keyed["timestampType"] == "CREATE_TIME"
    assert abs(keyed["timestamp"] / 1000 - call["at"]) < 30
    records = parsed.records[f"{topic}-0"]
    assert [(r.key, r.value) for r in records] == [
        (b"abc", "Hello, this is a test."),
        (None, "no key"),
    ]
    assert mapped.reports == ["OK"]


def test_a_self_managed_batch_has_the_documented_shape_and_uses_the_named_group(
    map_topic: MapTopic, produce: Callable[..., None], bare_cloud: BareCloud
) -> None:
    topic = new_topic(bare_cloud)
    produce(topic, b"first", key=b"k")
    produce(topic, None, key=b"k")  # a tombstone
    group = f"g-{uuid.uuid4().hex[:8]}"
    mapped = map_topic(
        topic,
        self_managed=True,
        StartingPosition="TRIM_HORIZON",
        SelfManagedKafkaEventSourceConfig={"ConsumerGroupId": group},
    )
    mapped.start()
    wait_for(
        lambda: mapped.offsets() == [0, 1] and committed(bare_cloud, group, topic) == 2,
        "both records, committed",
    )
    event = mapped.calls()[0]["event"]
    assert list(event) == list(_doc("self-managed-kafka-event.json"))
    assert event["eventSource"] == "SelfManagedKafka"
    first, tombstone = event["records"][f"{topic}-0"]
    assert "value" not in tombstone and tombstone["key"] == "aw=="
    parsed = KafkaSelfManagedEventModel(**{**event, "records": {f"{topic}-0": [first]}})
    assert parsed.bootstrapServers == bare_cloud.kafka.bootstrap.split(",")
    assert committed(bare_cloud, mapped.mapping["UUID"], topic) < 0  # not the UUID's group


def test_records_from_another_process_arrive_in_partition_order(
    map_topic: MapTopic, bare_cloud: BareCloud
) -> None:
    topic = new_topic(bare_cloud, partitions=3)
    mapped = map_topic(topic, StartingPosition="TRIM_HORIZON", BatchSize=50)
    subprocess.run(
        [sys.executable, "-c", PRODUCER, bare_cloud.kafka.bootstrap, topic, "300"],
        check=True,
        timeout=60,
    )
    mapped.start()
    wait_for(lambda: len(mapped.offsets()) >= 300, "300 records")
    time.sleep(1)  # nothing more should come
    records = [
        r for c in mapped.calls() for records in c["event"]["records"].values() for r in records
    ]
    assert len(records) == 300
    assert all(len(batch) <= 50 for batch in mapped.batches())
    for partition in range(3):
        offsets = [r["offset"] for r in records if r["partition"] == partition]
        assert offsets == list(range(len(offsets)))
    values = [base64.b64decode(r["value"]).decode() for r in records]
    for key in range(10):
        seqs = [int(v.split(":")[1]) for v in values if v.startswith(f"k{key}:")]
        assert seqs == list(range(key, 300, 10))


def test_latest_starts_after_the_records_already_there(
    map_topic: MapTopic, produce: Callable[..., None], bare_cloud: BareCloud
) -> None:
    topic = new_topic(bare_cloud)
    for i in range(3):
        produce(topic, f"before-{i}".encode())
    mapped = map_topic(topic, StartingPosition="LATEST", MaximumBatchingWindowInSeconds=0)
    mapped.start()
    sent = 0
    while not mapped.calls():  # records produced before the group's assignment are skipped too
        produce(topic, f"after-{sent}".encode())
        sent += 1
        time.sleep(0.2)
        assert sent < 100
    wait_for(lambda: mapped.offsets()[-1:] == [3 + sent - 1], "the last record sent")
    offsets = mapped.offsets()
    assert offsets == list(range(offsets[0], 3 + sent)) and offsets[0] >= 3


def test_at_timestamp_starts_at_the_first_record_that_recent(
    map_topic: MapTopic, produce: Callable[..., None], bare_cloud: BareCloud
) -> None:
    topic = new_topic(bare_cloud)
    base_ms = int(time.time() * 1000) - 3_600_000
    for i in range(5):
        produce(topic, f"r{i}".encode(), timestamp=base_ms + i * 60_000)
    at = datetime.fromtimestamp((base_ms + 2 * 60_000) / 1000, UTC)
    mapped = map_topic(topic, StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=at)
    mapped.start()
    wait_for(lambda: mapped.offsets() == [2, 3, 4], "the records from the timestamp on")
    stamps = [r["timestamp"] for r in mapped.calls()[0]["event"]["records"][f"{topic}-0"]]
    assert stamps == [base_ms + i * 60_000 for i in (2, 3, 4)]


def test_batches_hold_the_batch_size_and_wait_for_the_window(
    map_topic: MapTopic, produce: Callable[..., None], bare_cloud: BareCloud
) -> None:
    topic = new_topic(bare_cloud)
    for i in range(12):
        produce(topic, f"r{i}".encode())
    mapped = map_topic(
        topic, StartingPosition="TRIM_HORIZON", BatchSize=5, MaximumBatchingWindowInSeconds=1
    )
    mapped.start()
    wait_for(lambda: len(mapped.offsets()) == 12, "12 records")
    assert [[o for _, o in b] for b in mapped.batches()] == [
        [0, 1, 2, 3, 4],
        [5, 6, 7, 8, 9],
        [10, 11],
    ]
    sent_at = time.time()
    produce(topic, b"alone")
    wait_for(lambda: len(mapped.calls()) == 4, "a fourth invocation")
    assert mapped.batches()[-1] == [(0, 12)]
    assert mapped.calls()[-1]["at"] - sent_at >= 0.95  # held for the 1 s window


def test_a_restarted_poller_resumes_from_the_groups_committed_offsets(
    map_topic: MapTopic, produce: Callable[..., None], bare_cloud: BareCloud
) -> None:
    topic = new_topic(bare_cloud)
    for i in range(3):
        produce(topic, f"r{i}".encode())
    mapped = map_topic(topic, StartingPosition="TRIM_HORIZON")
    mapped.start()
    wait_for(lambda: mapped.offsets() == [0, 1, 2], "offsets 0 to 2")
    mapped.stop()
    assert committed(bare_cloud, mapped.mapping["UUID"], topic) == 3
    for i in range(3, 7):
        produce(topic, f"r{i}".encode())
    mapped.start()
    wait_for(lambda: len(mapped.offsets()) >= 7, "seven records")
    # committed once the function returned, which is after it recorded the records
    wait_for(
        lambda: committed(bare_cloud, mapped.mapping["UUID"], topic) == 7,
        "offset 7 committed",
        poll_s=0.2,
    )
    time.sleep(1)  # nothing more should come
    assert mapped.offsets() == list(range(7))


def test_a_failing_batch_is_retried_until_it_succeeds_and_nothing_is_skipped(
    map_topic: MapTopic, produce: Callable[..., None], bare_cloud: BareCloud
) -> None:
    topic = new_topic(bare_cloud)
    for i in range(3):
        produce(topic, f"r{i}".encode())
    mapped = map_topic(topic, env={"FAIL_TIMES": "2"}, StartingPosition="TRIM_HORIZON")
    mapped.start()
    wait_for(lambda: mapped.reports[-1:] == ["OK"], "a successful retry")
    assert mapped.batches() == [[(0, 0), (0, 1), (0, 2)]] * 3
    assert mapped.reports == ["PROBLEM: Function call failed"] * 2 + ["OK"]
    produce(topic, b"r3")
    produce(topic, b"r4")
    wait_for(lambda: len(mapped.calls()) == 4, "a fourth invocation")
    assert mapped.batches()[-1] == [(0, 3), (0, 4)]


def test_a_batch_is_dropped_once_its_retry_attempts_run_out(
    map_topic: MapTopic, produce: Callable[..., None], bare_cloud: BareCloud
) -> None:
    topic = new_topic(bare_cloud)
    produce(topic, b"r0")
    produce(topic, b"r1")
    destination = "arn:aws:sqs:us-east-1:123456789012:failed"
    mapped = map_topic(
        topic,
        env={"FAIL_TIMES": "-1"},
        StartingPosition="TRIM_HORIZON",
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": destination}},
    )
    mapped.start()
    wait_for(
        lambda: committed(bare_cloud, mapped.mapping["UUID"], topic) == 2,
        "offset 2 to be committed",
    )
    assert mapped.batches() == [[(0, 0), (0, 1)]] * 2
    assert mapped.limits == [
        f"on-failure destination {destination} is not emulated: 2 records of {topic}-0 were "
        "dropped after 2 attempts"
    ]


def test_records_the_mock_dropped_before_they_were_read_are_an_emulator_limit(
    map_topic: MapTopic, produce: Callable[..., None], bare_cloud: BareCloud
) -> None:
    topic = new_topic(bare_cloud)
    produce(topic, b"small")
    mapped = map_topic(topic, env={"STRIP_VALUES": "1"}, StartingPosition="TRIM_HORIZON")
    mapped.start()
    wait_for(lambda: mapped.offsets() == [0], "offset 0")
    mapped.stop()
    for _ in range(80):  # 8 MB into one partition: the mock keeps about 5
        produce(topic, bytes(100_000))
    consumer = Consumer({"bootstrap.servers": bare_cloud.kafka.bootstrap, "group.id": "watermarks"})
    low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    consumer.close()
    assert (low > 1, high) == (True, 81)
    mapped.start()
    wait_for(lambda: mapped.offsets()[-1:] == [80], "offset 80")
    assert mapped.offsets() == [0, *range(low, 81)]
    assert mapped.limits == [
        f"Kafka mock dropped records of {topic}-0 before offset {low} (it keeps ~5 MB per "
        "partition): an emulator limit"
    ]
    sizes = [c["size"] for c in mapped.calls()[1:]]
    assert len(sizes) > 1 and all(size <= PAYLOAD_LIMIT for size in sizes)
