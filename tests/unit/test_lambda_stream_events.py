"""Kinesis and DynamoDB Streams events, on-failure records and batch handling of the local
Lambda runtime, against the AWS documentation's examples and powertools' parser models
(no servers: GetRecords answers are built as boto3 returns them; the function is scripted)."""

import base64
import copy
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    DynamoDBStreamModel,
    KinesisDataStreamModel,
)

from harness.aws import AwsAccess
from harness.local.lambda_runtime.invocation import FunctionError, Invocation
from harness.local.lambda_runtime.pollers.base import PAYLOAD_LIMIT, MappingContext
from harness.local.lambda_runtime.pollers.dynamodb import (
    DynamoDBStreamPoller,
    dynamodb_event_record,
)
from harness.local.lambda_runtime.pollers.kinesis import KinesisPoller, kinesis_event_record
from harness.local.lambda_runtime.pollers.shards import (
    Position,
    Shard,
    StreamPoller,
    StreamRecord,
    take_batch,
)
from harness.local.lambda_runtime.timing import LambdaTiming
from tests.helpers import DOC_EXAMPLES

EVENTS = DOC_EXAMPLES / "lambda-events"
KINESIS_ARN = "arn:aws:kinesis:us-east-2:123456789012:stream/lambda-stream"
FUNCTION_ARN = "arn:aws:lambda:us-east-2:123456789012:function:myfunction"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ISO_S = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _example(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def _kinesis_get_records_record(event_record: dict[str, Any]) -> dict[str, Any]:
    """What boto3's GetRecords returns for the record a documented event shows."""
    kinesis = event_record["kinesis"]
    return {
        "SequenceNumber": kinesis["sequenceNumber"],
        "ApproximateArrivalTimestamp": datetime.fromtimestamp(
            kinesis["approximateArrivalTimestamp"], UTC
        ),
        "Data": base64.b64decode(kinesis["data"]),
        "PartitionKey": kinesis["partitionKey"],
    }


def test_kinesis_records_are_the_documented_event_records() -> None:
    event = _example("kinesis-event.json")
    built = {
        "Records": [
            kinesis_event_record(
                _kinesis_get_records_record(record),
                record["eventID"].split(":")[0],
                source_arn=record["eventSourceARN"],
                identity_arn=record["invokeIdentityArn"],
            )
            for record in event["Records"]
        ]
    }
    assert built == event
    parsed = KinesisDataStreamModel(**built)
    assert parsed.Records[0].kinesis.data == b"Hello, this is a test."


def test_dynamodb_records_are_the_documented_event_records() -> None:
    event = _example("dynamodb-streams-event.json")
    for record in event["Records"]:
        from_api = copy.deepcopy(record)  # GetRecords: no eventSourceARN, moto's version
        del from_api["eventSourceARN"]
        from_api["awsRegion"] = "us-east-1"
        built = dynamodb_event_record(from_api, source_arn=record["eventSourceARN"])
        assert built == {**record, "eventVersion": "1.1"}
    DynamoDBStreamModel(**event)


def test_dynamodb_records_carry_binary_values_and_creation_times_as_json() -> None:
    created = datetime(2024, 5, 1, 12, 0, 7, 654321, tzinfo=UTC)
    from_api = {
        "eventID": "e1",
        "eventName": "REMOVE",
        "eventVersion": "1.0",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "userIdentity": {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"},
        "dynamodb": {
            "ApproximateCreationDateTime": created,
            "Keys": {"pk": {"B": b"\x00\x01"}},
            "OldImage": {
                "pk": {"B": b"\x00\x01"},
                "tags": {"BS": [b"a", b"b"]},
                "doc": {"M": {"raw": {"L": [{"B": b"z"}, {"N": "1"}]}}},
            },
            "SequenceNumber": "300",
            "SizeBytes": 40,
            "StreamViewType": "OLD_IMAGE",
        },
    }
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/2024-05-01T00:00:00.000"
    built = dynamodb_event_record(from_api, source_arn=arn)
    assert built["awsRegion"] == "eu-west-1"
    assert built["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    assert built["dynamodb"] == {
        "ApproximateCreationDateTime": float(int(created.timestamp())),
        "Keys": {"pk": {"B": "AAE="}},
        "OldImage": {
            "pk": {"B": "AAE="},
            "tags": {"BS": ["YQ==", "Yg=="]},
            "doc": {"M": {"raw": {"L": [{"B": "eg=="}, {"N": "1"}]}}},
        },
        "SequenceNumber": "300",
        "SizeBytes": 40,
        "StreamViewType": "OLD_IMAGE",
    }
    json.dumps(built)
    parsed = DynamoDBStreamModel(Records=[built])
    assert parsed.Records[0].dynamodb is not None
    assert parsed.Records[0].dynamodb.ApproximateCreationDateTime == created.replace(microsecond=0)


class _Script:
    """A function scripted by the records it is given: `answer(sequence numbers)` returns
    (payload, error type or None)."""

    def __init__(self, answer: Callable[[list[str]], tuple[Any, str | None]]) -> None:
        self.answer = answer
        self.calls: list[list[str]] = []

    def invoke(self, function: str, event: Any) -> Invocation:
        assert function == FUNCTION_ARN
        sequence_numbers = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
        self.calls.append(sequence_numbers)
        payload, error = self.answer(sequence_numbers)
        failure = FunctionError(error, "scripted") if error else None
        return Invocation(f"req-{len(self.calls)}", payload, failure, 1.0)


def _poller(
    script: Any, cls: type[StreamPoller] = KinesisPoller, **mapping: Any
) -> tuple[StreamPoller, list[str]]:
    reports: list[str] = []
    ctx = MappingContext(
        mapping={
            "UUID": "00000000-0000-0000-0000-000000000000",
            "EventSourceArn": KINESIS_ARN,
            "FunctionArn": FUNCTION_ARN,
            **mapping,
        },
        functions=script,
        aws=AwsAccess("us-east-2"),
        timing=LambdaTiming(),
        report=reports.append,
        fail=lambda reason: pytest.fail(reason),
        limit=lambda message: pytest.fail(message),
    )
    return cls(ctx), reports


def _records(count: int, arrival: float = 1.7e9, data: bytes = b"x") -> list[StreamRecord]:
    return [
        StreamRecord(
            sequence_number=str(1000 + i),
            arrival=arrival + i,
            key=f"k{i}",
            event=kinesis_event_record(
                {
                    "SequenceNumber": str(1000 + i),
                    "ApproximateArrivalTimestamp": datetime.fromtimestamp(arrival + i, UTC),
                    "Data": data,
                    "PartitionKey": f"k{i}",
                },
                "shardId-000000000001",
                source_arn=KINESIS_ARN,
                identity_arn="arn:aws:iam::123456789012:role/lambda-role",
            ),
        )
        for i in range(count)
    ]


def _numbers(*indexes: int) -> list[str]:
    return [str(1000 + i) for i in indexes]


def test_a_failing_batch_is_bisected_down_to_the_poison_record_then_retried() -> None:
    poison = "1005"
    script = _Script(lambda seqs: (None, "ValueError" if poison in seqs else None))
    poller, reports = _poller(script, BisectBatchOnFunctionError=True, MaximumRetryAttempts=2)
    assert poller.deliver("shardId-000000000001", _records(8)) == 8
    assert script.calls == [
        _numbers(*range(8)),
        _numbers(0, 1, 2, 3),
        _numbers(4, 5, 6, 7),
        _numbers(4, 5),
        _numbers(4),
        _numbers(5),  # splitting used no retry: two retries follow
        _numbers(5),
        _numbers(5),
        _numbers(6, 7),
    ]
    assert reports[-1] == "OK"
    assert "PROBLEM: Function call failed" in reports


def test_without_bisection_the_whole_batch_is_retried_then_given_up() -> None:
    script = _Script(lambda seqs: (None, "Sandbox.Timedout"))
    poller, reports = _poller(script, MaximumRetryAttempts=1)
    assert poller.deliver("shardId-000000000001", _records(3)) == 3
    assert script.calls == [_numbers(0, 1, 2)] * 2
    assert reports == ["PROBLEM: Function call failed"] * 2


def test_a_throttled_batch_is_retried_without_using_the_retry_quota() -> None:
    answers = iter([(None, "TooManyRequestsException")] * 2 + [(None, None)])
    script = _Script(lambda seqs: next(answers))
    poller, _ = _poller(script, MaximumRetryAttempts=0)
    assert poller.deliver("shardId-000000000001", _records(2)) == 2
    assert script.calls == [_numbers(0, 1)] * 3


@pytest.mark.parametrize(
    ("response", "retried_from"),
    [
        (None, None),
        ({}, None),
        ({"batchItemFailures": []}, None),
        ({"batchItemFailures": None}, None),
        ({"batchItemFailures": [{"itemIdentifier": "1003"}, {"itemIdentifier": "1001"}]}, 1),
        ({"batchItemFailures": [{"itemIdentifier": 1002}]}, 2),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, 0),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, 0),
        ({"batchItemFailures": [{"id": "1002"}]}, 0),
        ({"batchItemFailures": [{"itemIdentifier": "1002"}, {"itemIdentifier": "9"}]}, 0),
        ("done", 0),
    ],
)
def test_partial_batch_responses_follow_the_documented_conditions(
    response: Any, retried_from: int | None
) -> None:
    answers = iter([(response, None), (None, None)])
    script = _Script(lambda seqs: next(answers))
    poller, _ = _poller(script, FunctionResponseTypes=["ReportBatchItemFailures"])
    assert poller.deliver("shardId-000000000001", _records(4)) == 4
    expected = [_numbers(0, 1, 2, 3)]
    if retried_from is not None:
        expected.append(_numbers(*range(retried_from, 4)))
    assert script.calls == expected


def test_batch_item_failures_are_ignored_unless_the_mapping_asks_for_them() -> None:
    answers = iter([({"batchItemFailures": [{"itemIdentifier": "1001"}]}, None)])
    script = _Script(lambda seqs: next(answers))
    poller, _ = _poller(script)
    assert poller.deliver("shardId-000000000001", _records(3)) == 3
    assert script.calls == [_numbers(0, 1, 2)]


def test_a_partial_failure_uses_the_retry_quota_on_the_remaining_records() -> None:
    failing = {"batchItemFailures": [{"itemIdentifier": "1002"}]}
    script = _Script(lambda seqs: (failing if "1002" in seqs else None, None))
    poller, _ = _poller(
        script,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=1,
    )
    assert poller.deliver("shardId-000000000001", _records(5)) == 5
    # bisected at the returned sequence number (not halved), retried once, then given up
    assert script.calls == [_numbers(0, 1, 2, 3, 4), _numbers(2, 3, 4)]


def test_records_older_than_the_maximum_age_are_never_sent() -> None:
    script = _Script(lambda seqs: (None, None))
    poller, _ = _poller(script, MaximumRecordAgeInSeconds=60)
    now = datetime.now(UTC).timestamp()
    stale = _records(3, arrival=now - 600)
    fresh = [
        StreamRecord(str(2000 + i), now, f"k{i}", {"kinesis": {"sequenceNumber": str(2000 + i)}})
        for i in range(2)
    ]
    assert poller.deliver("shardId-000000000001", stale + fresh) == 5
    assert script.calls == [["2000", "2001"]]


def test_a_batch_stops_at_its_size_or_at_the_payload_limit() -> None:
    small = _records(10)
    assert take_batch(small, 4) == small[:4]
    assert take_batch(small, 100) == small
    big = _records(8, data=b"x" * 700_000)  # about 0.93 MB of base64 each
    batch = take_batch(big, 100)
    total = sum(r.size for r in batch) + len('{"Records":[]}')
    assert len(batch) == 6
    assert total <= PAYLOAD_LIMIT < total + big[6].size
    assert len(json.dumps({"Records": [r.event for r in batch]})) <= PAYLOAD_LIMIT


@pytest.mark.parametrize(
    ("cls", "example", "info_key", "arrival_format"),
    [
        (KinesisPoller, "kinesis-on-failure-invocation-record.json", "KinesisBatchInfo", ISO_MS),
        (
            DynamoDBStreamPoller,
            "dynamodb-on-failure-invocation-record.json",
            "DDBStreamBatchInfo",
            ISO_S,
        ),
    ],
)
def test_on_failure_records_have_the_documented_shape(
    cls: type[StreamPoller],
    example: str,
    info_key: str,
    arrival_format: re.Pattern[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    documented = _example(example)
    script = _Script(lambda seqs: (None, "ValueError"))
    poller, _ = _poller(script, cls, MaximumRetryAttempts=0)
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(
        poller,
        "_discard",
        lambda *args: sent.append(poller.failure_record(*args)),
    )
    records = _records(3)
    poller.deliver("shardId-000000000001", records)
    [record] = sent

    def shape(document: Any) -> Any:
        if isinstance(document, dict):
            return {key: shape(value) for key, value in document.items()}
        return type(document).__name__

    assert shape(record) == shape(documented)
    assert list(record) == list(documented)
    assert record["requestContext"] == {
        "requestId": "req-1",
        "functionArn": FUNCTION_ARN,
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 1,
    }
    assert record["responseContext"] == documented["responseContext"]
    assert ISO_MS.match(record["timestamp"])
    info = record[info_key]
    assert info["shardId"] == "shardId-000000000001"
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == ("1000", "1002")
    assert info["batchSize"] == 3
    assert info["streamArn"] == KINESIS_ARN
    assert arrival_format.match(info["approximateArrivalOfFirstRecord"])
    assert info["approximateArrivalOfLastRecord"].startswith(
        datetime.fromtimestamp(records[2].arrival, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    )


class _MemoryStream(StreamPoller):
    """A resharded stream held in memory: closed shards end once read."""

    service = "memory"
    batch_info_key = "KinesisBatchInfo"
    arrival_timespec = "milliseconds"
    starting_positions = frozenset({"TRIM_HORIZON"})
    max_read = 10
    layout: ClassVar[dict[str, tuple[tuple[str, ...], list[str], bool]]] = {
        "parent": ((), ["p0", "p1", "p2"], True),
        "left": (("parent",), ["l0", "l1"], True),
        "right": (("parent",), ["r0"], True),
        "merged": (("left", "right"), ["m0", "m1"], False),
    }
    """Shard: (parents, data, closed)."""

    def poll_interval(self) -> float:
        return 0.01

    def list_shards(self) -> list[Shard]:
        return [Shard(shard, parents) for shard, (parents, _, _) in self.layout.items()]

    def shard_iterator(self, shard_id: str, position: Position) -> str:
        assert position.kind == "TRIM_HORIZON"
        return f"{shard_id}:0"

    def get_records(
        self, shard_id: str, iterator: str, limit: int
    ) -> tuple[list[StreamRecord], str | None]:
        offset = int(iterator.rsplit(":", 1)[1])
        _, data, closed = self.layout[shard_id]
        records = [
            StreamRecord(str(offset + i), 1.7e9, shard_id, {"data": item})
            for i, item in enumerate(data[offset : offset + limit])
        ]
        end = offset + len(records)
        return records, None if closed and end == len(data) else f"{shard_id}:{end}"


def test_children_of_a_resharded_stream_start_once_their_parents_are_read() -> None:
    batches: list[list[str]] = []

    class Recorder:
        def invoke(self, function: str, event: Any) -> Invocation:
            batches.append([r["data"] for r in event["Records"]])
            return Invocation("req", None, None, 1.0)

    poller, _ = _poller(Recorder(), _MemoryStream, BatchSize=2)
    poller.start()
    try:
        deadline = time.monotonic() + 10
        while sum(map(len, batches)) < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        poller.stop()
    order = [item for batch in batches for item in batch]
    assert sorted(order) == sorted(d for _, data, _ in _MemoryStream.layout.values() for d in data)
    assert order[:3] == ["p0", "p1", "p2"]
    assert {order.index("m0"), order.index("m1")} == {6, 7}
    assert order.index("l0") < order.index("l1")
    assert all(len({item[0] for item in batch}) == 1 for batch in batches)  # one shard each
    assert poller.checkpoints() == {"parent": "2", "left": "1", "right": "0", "merged": "1"}


@pytest.mark.parametrize(
    ("cls", "setting", "problem"),
    [
        (
            DynamoDBStreamPoller,
            {"StartingPosition": "AT_TIMESTAMP"},
            "StartingPosition AT_TIMESTAMP is not valid for this stream: use LATEST, TRIM_HORIZON",
        ),
        (
            KinesisPoller,
            {"TumblingWindowInSeconds": 60},
            "TumblingWindowInSeconds is not supported by the local Lambda runtime: "
            "remove it from the mapping",
        ),
        (
            KinesisPoller,
            {"FilterCriteria": {"Filters": [{"Pattern": "{}"}]}},
            "FilterCriteria on stream mappings is not supported by the local Lambda runtime: "
            "remove it from the mapping",
        ),
        (
            KinesisPoller,
            {"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:s3:::failures"}}},
            "on-failure destination arn:aws:s3:::failures is not supported by the local Lambda "
            "runtime: use an SQS queue or SNS topic ARN",
        ),
        (KinesisPoller, {"StartingPosition": "AT_TIMESTAMP", "TumblingWindowInSeconds": 0}, None),
    ],
)
def test_settings_the_runtime_cannot_honour_are_named_in_one_line(
    cls: type[StreamPoller], setting: dict[str, Any], problem: str | None
) -> None:
    poller, _ = _poller(_Script(lambda seqs: (None, None)), cls, **setting)
    assert poller.configuration_problem() == problem
