"""The speed fixes for history, shown: moto as released does work (or keeps memory) that grows
with what a queue or stream has seen, on every call; with the fix it does not, and the same
calls answer the same. Counted, not timed. When moto drops that work upstream, the first
assertion fails and says which fix can go. Through a real moto server:
`tests/integration/test_moto_fixes.py`."""

from __future__ import annotations

import gc
import json
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import moto.sqs.models
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID

from tests.moto_fix_support import applied, fixed_upstream

REGION = "us-east-1"
SQS_CORRECTIONS = ("sqs.fifo_sequence_numbers", "sqs.fifo_group_order")
"""What the server's SQS answers with besides the speed fixes (both runs of a story have it)."""
SQS_SPEED = (
    "sqs.lazy_queue_attributes",
    "sqs.indexed_messages",
    "sqs.no_groups_in_standard_queues",
    "server.untracked_models",
)


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def _counted(monkeypatch: pytest.MonkeyPatch, cls: type, name: str) -> list[int]:
    """Count each use of `cls.name` (a method or a property)."""
    counts: list[int] = []
    original = vars(cls)[name]
    if isinstance(original, property):

        def read(self: Any) -> Any:
            counts.append(1)
            return original.fget(self)  # type: ignore[misc]

        monkeypatch.setattr(cls, name, property(read))
    else:

        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            counts.append(1)
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, call)
    return counts


def _send(sqs: Any, url: str, bodies: list[str], **entry: Any) -> None:
    for start in range(0, len(bodies), 10):
        entries = [
            {"Id": str(n), "MessageBody": body, **entry}
            for n, body in enumerate(bodies[start : start + 10])
        ]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def _bodies(answer: dict[str, Any]) -> list[str]:
    return [m["Body"] for m in answer.get("Messages", [])]


# SQS


def test_receive_and_delete_do_not_walk_the_messages_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.sqs.models import Message

    clock_reads = _counted(monkeypatch, Message, "visible")
    handle_checks = _counted(monkeypatch, Message, "had_receipt_handle")

    def work(in_flight: int) -> tuple[int, int]:
        """Messages' clocks read by one ReceiveMessage, receipt handles compared by one
        DeleteMessage, with `in_flight` messages in flight."""
        with mock_aws():
            sqs = _client("sqs")
            url = sqs.create_queue(QueueName="q")["QueueUrl"]
            _send(sqs, url, [f"m{n}" for n in range(in_flight + 3)])
            for _ in range(in_flight // 10):
                sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)
            clock_reads.clear()
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)
            assert _bodies(got) == [f"m{n}" for n in range(in_flight, in_flight + 3)]
            receiving = len(clock_reads)
            handle_checks.clear()
            sqs.delete_message(QueueUrl=url, ReceiptHandle=got["Messages"][0]["ReceiptHandle"])
            return receiving, len(handle_checks)

    assert work(100)[0] >= 100, fixed_upstream("sqs.indexed_messages")
    assert work(100)[1] >= 100, fixed_upstream("sqs.indexed_messages")
    with applied(*SQS_CORRECTIONS, "sqs.lazy_queue_attributes", "sqs.indexed_messages"):
        few, many = work(100), work(300)
        assert few == many, "receive or delete still grows with the messages in flight"
        assert few[0] < 30 and few[1] == 0


class _CountedSet(set[Any]):
    """A queue's messages in flight, counting how many are walked."""

    walked = 0

    def __iter__(self) -> Iterator[Any]:
        for message in super().__iter__():
            type(self).walked += 1
            yield message


def test_standard_queues_do_not_gather_groups_in_flight() -> None:
    from moto.sqs.models import sqs_backends

    def walked(in_flight: int) -> int:
        with mock_aws():
            sqs = _client("sqs")
            url = sqs.create_queue(QueueName="q")["QueueUrl"]
            queue = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues["q"]
            queue._pending_messages = _CountedSet()
            _send(sqs, url, [f"m{n}" for n in range(in_flight + 1)])
            for _ in range(in_flight // 10):
                sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300)
            _CountedSet.walked = 0
            assert _bodies(sqs.receive_message(QueueUrl=url)) == [f"m{in_flight}"]
            return _CountedSet.walked

    with applied(*SQS_CORRECTIONS):
        assert walked(50) >= 50, fixed_upstream("sqs.no_groups_in_standard_queues")
    with applied(*SQS_CORRECTIONS, "sqs.no_groups_in_standard_queues"):
        assert walked(50) == 0


class _Clock:
    """moto's SQS clock (`unix_time_millis`: visibility timeouts and delays), moved by hand."""

    def __init__(self) -> None:
        self.ms = time.time() * 1000

    def __call__(self, dt: Any = None) -> float:
        return self.ms

    def advance(self, seconds: float) -> None:
        self.ms += seconds * 1000


def _standard_story(sqs: Any, clock: _Clock) -> list[Any]:
    """What a standard queue with a dead-letter queue answers through a day of receives,
    visibility changes, delays and deletes."""
    said: list[Any] = []
    dlq = sqs.create_queue(QueueName="story-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    redrive = {"deadLetterTargetArn": dlq_arn["QueueArn"], "maxReceiveCount": 3}
    url = sqs.create_queue(
        QueueName="story",
        Attributes={"VisibilityTimeout": "30", "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]

    def receive(queue: str = url, count: int = 10, **more: Any) -> list[dict[str, Any]]:
        got = sqs.receive_message(
            QueueUrl=queue, MaxNumberOfMessages=count, AttributeNames=["All"], **more
        ).get("Messages", [])
        said.append([(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in got])
        return got

    def depth() -> None:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        names.append("ApproximateNumberOfMessagesDelayed")
        said.append(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"])

    def refused(call: Callable[..., Any], **arguments: Any) -> None:
        with pytest.raises(ClientError) as error:
            call(QueueUrl=url, **arguments)
        said.append(error.value.response["Error"]["Code"])

    _send(sqs, url, [f"m{n}" for n in range(12)])
    sqs.send_message(QueueUrl=url, MessageBody="late", DelaySeconds=60)
    first = receive(count=4)
    receive(count=3, VisibilityTimeout=5)
    depth()
    clock.advance(6)  # the second batch comes back, in its place
    receive(count=2)
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=first[1]["ReceiptHandle"], VisibilityTimeout=0
    )
    clock.advance(0.001)  # visible once the clock has moved past now
    again = receive(count=2)
    depth()
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])  # deleted: fine
    refused(sqs.delete_message, ReceiptHandle="not-a-handle")
    refused(sqs.change_message_visibility, ReceiptHandle="not-a-handle", VisibilityTimeout=0)
    sqs.change_message_visibility(  # an earlier handle of a message received again
        QueueUrl=url, ReceiptHandle=first[1]["ReceiptHandle"], VisibilityTimeout=45
    )
    clock.advance(31)
    receive(VisibilityTimeout=0)
    depth()
    clock.advance(30)  # the delay is over
    for _ in range(3):
        receive(VisibilityTimeout=0)  # the third receive of each moves it to the DLQ
    depth()
    receive(dlq)
    for message in again:
        refused(sqs.delete_message, ReceiptHandle=message["ReceiptHandle"])  # moved away
    return said


def _fifo_story(sqs: Any, clock: _Clock) -> list[Any]:
    """What a FIFO queue answers while its groups' messages are in flight and come back."""
    said: list[Any] = []
    url = sqs.create_queue(
        QueueName="story.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]

    def receive(count: int = 10, **more: Any) -> list[dict[str, Any]]:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=count, AttributeNames=["All"], **more
        ).get("Messages", [])
        attributes = [m["Attributes"] for m in got]
        said.append(
            [
                (m["Body"], a["MessageGroupId"], a["SequenceNumber"])
                for m, a in zip(got, attributes, strict=True)
            ]
        )
        return got

    for body, group in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b"), ("a3", "a")]:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
    sqs.send_message(QueueUrl=url, MessageBody="a1", MessageGroupId="a")  # a duplicate
    first = receive(count=1)
    receive()
    receive()
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"], VisibilityTimeout=0
    )
    clock.advance(0.001)
    handed = receive(count=2)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handed[0]["ReceiptHandle"])
    clock.advance(31)
    receive()
    return said


def test_queues_answer_as_moto_does(monkeypatch: pytest.MonkeyPatch) -> None:
    def told(*fixes: str) -> list[Any]:
        clock = _Clock()
        monkeypatch.setattr(moto.sqs.models, "unix_time_millis", clock)
        with applied(*fixes), mock_aws():
            sqs = _client("sqs")
            return [_standard_story(sqs, clock), _fifo_story(sqs, clock)]

    moto_said = told(*SQS_CORRECTIONS)
    fixed_said = told(*SQS_CORRECTIONS, *SQS_SPEED)
    assert fixed_said == moto_said
    standard, fifo = moto_said
    assert standard[:3] == [
        [("m0", "1"), ("m1", "1"), ("m2", "1"), ("m3", "1")],
        [("m4", "1"), ("m5", "1"), ("m6", "1")],
        {
            "ApproximateNumberOfMessages": "5",
            "ApproximateNumberOfMessagesNotVisible": "7",
            "ApproximateNumberOfMessagesDelayed": "1",
        },
    ]
    # back from their visibility timeout (or set visible), in their place
    assert standard[3:5] == [[("m4", "2"), ("m5", "2")], [("m1", "2"), ("m6", "2")]]
    assert [body for body, _ in standard[8]] == [f"m{n}" for n in range(2, 12)]
    # moved to the dead-letter queue on their fourth receive, in the order they were met
    assert standard[14] == [(f"m{n}", "4") for n in (4, 5, 6, 1, 2, 3, 7, 8, 9, 10)]
    assert standard[-2:] == ["ReceiptHandleIsInvalid"] * 2
    assert [[body for body, _, _ in batch] for batch in fifo] == [
        ["a1"],
        ["b1", "b2"],
        [],  # both groups in flight
        ["a1", "a2"],
        ["b1", "a2", "b2", "a3"],
    ]


def test_a_deleted_message_is_freed() -> None:
    from moto.sqs.models import sqs_backends

    def freed() -> bool:
        with mock_aws():
            sqs = _client("sqs")
            url = sqs.create_queue(QueueName="q")["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody="m")
            [message] = list(sqs_backends[DEFAULT_ACCOUNT_ID][REGION].queues["q"]._messages)
            kept = weakref.ref(message)
            del message
            [got] = sqs.receive_message(QueueUrl=url)["Messages"]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"])
            gc.collect()
            return kept() is None

    assert not freed(), fixed_upstream("server.untracked_models")
    with applied("server.untracked_models"):
        assert freed()


# Kinesis


class _CountedRecords(OrderedDict[int, Any]):
    """A shard's records, counting how many are read."""

    read = 0

    def items(self) -> Any:
        for pair in super().items():
            type(self).read += 1
            yield pair

    def __getitem__(self, key: int) -> Any:
        type(self).read += 1
        return super().__getitem__(key)


def _shard(records: int) -> Any:
    """A shard of `records` records, numbered as moto numbers them, arriving three a second."""
    from moto.kinesis.models import Shard

    shard = Shard(0, 0, 2**128)
    shard.records = _CountedRecords()
    for n in range(records):
        shard.put_record("k", f"record {n}", "1")
    for number, record in shard.records.items():
        record.created_at = 1000.0 + number // 3
    return shard


def test_kinesis_reads_go_straight_to_their_position() -> None:
    shard = _shard(1000)

    def read_at_tail() -> int:
        _CountedRecords.read = 0
        records, last, _ = shard.get_records("995", 10)
        assert [r.sequence_number for r in records] == [996, 997, 998, 999, 1000]
        assert last == 1000
        return _CountedRecords.read

    positions = [
        (str(after), limit)
        for after in (-5, 0, 1, 7, 999, 1000, 1200)
        for limit in (None, 1, 3, 100)
    ]
    times = [999.0, 1000.0, 1000.5, 1001.0, 1100.2, 1333.0, 1334.0, 2000.0]

    def answers() -> list[Any]:
        return [shard.get_records(after, limit) for after, limit in positions] + [
            shard.get_sequence_number_at(at) for at in times
        ]

    assert read_at_tail() >= 995, fixed_upstream("kinesis.positioned_reads")
    moto_answers = answers()
    with applied("kinesis.positioned_reads"):
        assert read_at_tail() <= 10
        assert answers() == moto_answers
        _CountedRecords.read = 0
        assert shard.get_sequence_number_at(1200.5) == 602  # the last that came before
        assert _CountedRecords.read <= 15  # a bisection: about log2(1,000) records


def test_kinesis_metrics_are_summed_per_second() -> None:
    from moto.cloudwatch.models import cloudwatch_backends

    def metrics() -> tuple[int, int, list[dict[str, Any]]]:
        """(data points kept, seconds the puts took, statistics of each metric)."""
        with mock_aws():
            kinesis = _client("kinesis")
            kinesis.create_stream(StreamName="s", ShardCount=1)
            started = time.time()
            for n in range(30):
                kinesis.put_record(StreamName="s", Data=b"x" * n, PartitionKey=f"k{n}")
            entries = [{"Data": b"y" * 7, "PartitionKey": "k"}] * 5
            kinesis.put_records(StreamName="s", Records=entries)
            seconds = int(time.time()) - int(started) + 1
            kept = len(cloudwatch_backends[DEFAULT_ACCOUNT_ID][REGION].metric_data)
            now = time.time()
            statistics = [
                _client("cloudwatch").get_metric_statistics(
                    Namespace="AWS/Kinesis",
                    MetricName=name,
                    Dimensions=[{"Name": "StreamName", "Value": "s"}],
                    StartTime=now - 3600,
                    EndTime=now + 3600,
                    Period=3600,
                    Statistics=["Sum", "SampleCount", "Average", "Minimum", "Maximum"],
                )["Datapoints"]
                for name in ("IncomingRecords", "IncomingBytes")
            ]
            for [point] in statistics:
                del point["Timestamp"]
            return kept, seconds, [point for [point] in statistics]

    kept, _, moto_statistics = metrics()
    assert kept == 2 * 31, fixed_upstream("kinesis.metrics_per_second")  # two per call
    with applied("kinesis.metrics_per_second"):
        kept, seconds, statistics = metrics()
    assert kept <= 2 * seconds
    assert statistics == moto_statistics
    assert moto_statistics[0] == {
        "SampleCount": 31.0,
        "Sum": 35.0,
        "Average": 35 / 31,
        "Minimum": 1.0,
        "Maximum": 5.0,
        "Unit": "Count",
    }


# DynamoDB Streams


def test_dynamodb_stream_iterators_live_in_their_tokens() -> None:
    from moto.dynamodbstreams.models import dynamodbstreams_backends

    def read() -> tuple[int, list[Any]]:
        """(iterators the server keeps after the reads, what the reads answered)."""
        with mock_aws():
            dynamodb = _client("dynamodb")
            arn = dynamodb.create_table(
                TableName="t",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            )["TableDescription"]["LatestStreamArn"]
            for n in range(5):
                dynamodb.put_item(TableName="t", Item={"pk": {"S": f"k{n}"}})
            streams = dynamodbstreams_backends[DEFAULT_ACCOUNT_ID][REGION]
            shard = streams.describe_stream(arn)["Shards"][0]["ShardId"]
            said: list[Any] = []

            def records(token: str, limit: int) -> str:
                page = streams.get_records(token, limit)
                said.append([r["dynamodb"]["SequenceNumber"] for r in page["Records"]])
                return str(page["NextShardIterator"])

            first = streams.get_shard_iterator(arn, shard, "TRIM_HORIZON").arn
            token = first
            for _ in range(4):
                token = records(token, 2)  # 2, 2, 1, then none: the same position again
            records(token, 2)
            records(first, 3)  # an iterator is reusable
            at = int(said[0][1])
            for kind in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
                records(streams.get_shard_iterator(arn, shard, kind, at).arn, 10)
            latest = streams.get_shard_iterator(arn, shard, "LATEST").arn
            records(latest, 10)
            dynamodb.put_item(TableName="t", Item={"pk": {"S": "k5"}})
            records(latest, 10)
            with pytest.raises(KeyError):
                streams.get_records(f"{arn}|1|bm90IGEgdG9rZW4=", 10)
            return len(streams.shard_iterators), said

    kept, moto_said = read()
    assert kept >= 10, fixed_upstream("dynamodbstreams.iterators_in_tokens")
    with applied("dynamodbstreams.iterators_in_tokens"):
        kept, said = read()
    assert kept == 0
    assert said == moto_said
    numbers = [int(n) for n in moto_said[0] + moto_said[1] + moto_said[2]]
    assert numbers == list(range(numbers[0], numbers[0] + 5))
    assert moto_said[3:5] == [[], []] and moto_said[5] == moto_said[0] + moto_said[1][:1]
    assert len(moto_said[6]) == 4 and len(moto_said[7]) == 3
    assert moto_said[8] == [] and len(moto_said[9]) == 1
