"""Kinesis and DynamoDB Streams mappings of the local Lambda runtime, end to end: real
streams and tables on the emulator, real functions run by the function host, pollers
driven by hand on the bare cloud (nothing else runs mappings there)."""

import base64
import itertools
import json
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    DynamoDBStreamModel,
    KinesisDataStreamModel,
)

from harness.aws import AwsAccess
from harness.local.lambda_runtime.functions import Functions
from harness.local.lambda_runtime.pollers.base import MappingContext
from harness.local.lambda_runtime.pollers.dynamodb import DynamoDBStreamPoller
from harness.local.lambda_runtime.pollers.kinesis import KinesisPoller
from harness.local.lambda_runtime.pollers.shards import StreamPoller, StreamRecord
from harness.local.lambda_runtime.timing import LambdaTiming
from tests.conftest import BareCloud
from tests.helpers import DOC_EXAMPLES, unique, wait_for
from tests.lambda_support import RECORDING_HANDLER, create_function, recorded, role_arn

pytestmark = [pytest.mark.slow, pytest.mark.serial]

FAST = LambdaTiming(kinesis_poll_s=0.05, dynamodb_poll_s=0.05)

SUMMARY = """\
import base64
import json
import os
import time


def record(event, context, **extra):
    \"\"\"Append what this invocation got to $RECORD_TO; the number of invocations so far.\"\"\"
    summary = {
        "data": [base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]],
        "ids": [r["eventID"] for r in event["Records"]],
        "request_id": context.aws_request_id,
        **extra,
    }
    with open(os.environ["RECORD_TO"], "a") as out:
        out.write(json.dumps(summary) + "\\n")
    with open(os.environ["RECORD_TO"]) as seen:
        return sum(1 for _ in seen)
"""
"""Handlers start with this and call `record`, each then doing what its test needs."""


@dataclass
class Run:
    """What a poller told its runtime."""

    reports: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)
    stalls: list[str | None] = field(default_factory=list)


@pytest.fixture(scope="module")
def functions(bare_cloud: BareCloud, shared_tmp: Path) -> Iterator[Functions]:
    host = Functions(bare_cloud.aws, shared_tmp / f"lambda-streams-{uuid.uuid4().hex[:6]}")
    yield host
    host.close()


@pytest.fixture
def aws(bare_cloud: BareCloud) -> AwsAccess:
    return bare_cloud.aws


P = TypeVar("P", bound=StreamPoller)


@contextmanager
def polling(
    cls: type[P],
    aws: AwsAccess,
    functions: Functions,
    mapping_uuid: str,
    timing: LambdaTiming = FAST,
    resume: dict[str, str] | None = None,
) -> Iterator[tuple[P, Run]]:
    """A poller for the mapping, running; stopped on exit, which asserts it never failed."""
    mapping = aws.client("lambda").get_event_source_mapping(UUID=mapping_uuid)
    mapping.pop("ResponseMetadata")
    run = Run()
    ctx = MappingContext(
        mapping,
        functions,
        aws,
        timing,
        run.reports.append,
        run.failures.append,
        run.limits.append,
        run.stalls.append,
    )
    poller = cls(ctx, resume=resume)
    poller.start()
    try:
        yield poller, run
    finally:
        poller.stop()
    assert (run.failures, run.limits) == ([], [])
    assert [t.name for t in threading.enumerate() if mapping_uuid[:8] in t.name] == []


def kinesis_stream(aws: AwsAccess, shards: int) -> tuple[str, str]:
    name = unique("stream")
    client = aws.client("kinesis")
    client.create_stream(StreamName=name, ShardCount=shards)
    return name, client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"][
        "StreamARN"
    ]


def put(aws: AwsAccess, stream: str, items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Put (partition key, data) records in order; their (shard, sequence number)."""
    client = aws.client("kinesis")
    placed = []
    for start in range(0, len(items), 500):
        chunk = items[start : start + 500]
        answer = client.put_records(
            StreamName=stream,
            Records=[{"PartitionKey": key, "Data": data.encode()} for key, data in chunk],
        )
        placed += [(r["ShardId"], r["SequenceNumber"]) for r in answer["Records"]]
    return placed


def sqs_queue(aws: AwsAccess) -> tuple[str, str]:
    """A new queue: (URL, ARN)."""
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=unique("queue"))["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return url, attributes["Attributes"]["QueueArn"]


def mapping(aws: AwsAccess, source_arn: str, function_arn: str, **settings: Any) -> str:
    settings.setdefault("StartingPosition", "TRIM_HORIZON")
    created = aws.client("lambda").create_event_source_mapping(
        EventSourceArn=source_arn, FunctionName=function_arn, **settings
    )
    return str(created["UUID"])


def function(aws: AwsAccess, tmp_path: Path, source: str, timeout: int = 3) -> tuple[str, Path]:
    """A function running `source` that records to a fresh file: (ARN, that file)."""
    out = tmp_path / f"{uuid.uuid4().hex[:6]}.jsonl"
    return create_function(aws, unique("fn"), source, {"RECORD_TO": str(out)}, timeout), out


def data(path: Path) -> list[str]:
    """The data of every record the recording handler got, in order."""
    events = recorded(path)
    return [base64.b64decode(r["kinesis"]["data"]).decode() for e in events for r in e["Records"]]


def by_shard(event_ids: list[str]) -> dict[str, list[str]]:
    """Sequence numbers by shard, in delivery order, from Kinesis event IDs."""
    delivered: dict[str, list[str]] = {}
    for event_id in event_ids:
        shard, sequence_number = event_id.split(":")
        delivered.setdefault(shard, []).append(sequence_number)
    return delivered


def expected_by_shard(placed: list[tuple[str, str]]) -> dict[str, list[str]]:
    expected: dict[str, list[str]] = {}
    for shard, sequence_number in placed:
        expected.setdefault(shard, []).append(sequence_number)
    return expected


def test_kinesis_shards_are_delivered_in_order_in_batches_of_the_documented_shape(
    aws: AwsAccess, functions: Functions, tmp_path: Path
) -> None:
    name, arn = kinesis_stream(aws, 3)
    placed = put(aws, name, [(f"key-{i % 17}", f"record {i}") for i in range(240)])
    fn, out = function(aws, tmp_path, RECORDING_HANDLER)
    uuid_ = mapping(aws, arn, fn, BatchSize=25)
    with polling(KinesisPoller, aws, functions, uuid_) as (poller, run):
        wait_for(
            lambda: sum(len(e["Records"]) for e in recorded(out)) >= 240,
            "240 records",
            timeout_s=20,
        )
        time.sleep(0.3)  # nothing more may come
    events = recorded(out)
    expected = expected_by_shard(placed)
    assert len(expected) == 3
    assert by_shard([r["eventID"] for e in events for r in e["Records"]]) == expected
    sizes: dict[str, list[int]] = {}
    for event in events:
        shards = {r["eventID"].split(":")[0] for r in event["Records"]}
        assert len(shards) == 1
        sizes.setdefault(shards.pop(), []).append(len(event["Records"]))
    for shard, counts in sizes.items():
        total = len(expected[shard])
        assert counts == [25] * (total // 25) + ([total % 25] if total % 25 else [])
    assert poller.checkpoints() == {shard: seqs[-1] for shard, seqs in expected.items()}
    assert set(run.reports) == {"OK"}

    documented = json.loads((DOC_EXAMPLES / "lambda-events" / "kinesis-event.json").read_text())
    first = events[0]["Records"][0]
    assert list(first) == list(documented["Records"][0])
    assert list(first["kinesis"]) == list(documented["Records"][0]["kinesis"])
    assert first["invokeIdentityArn"] == role_arn(aws)
    assert (first["eventSourceARN"], first["awsRegion"]) == (arn, "us-east-1")
    got = {
        r.eventID: (r.kinesis.partitionKey, r.kinesis.data.decode())
        for event in events
        for r in KinesisDataStreamModel(**event).Records
    }
    assert got == {
        f"{shard}:{seq}": (f"key-{i % 17}", f"record {i}") for i, (shard, seq) in enumerate(placed)
    }


def test_trim_horizon_reads_what_was_there_latest_only_what_comes(
    aws: AwsAccess, functions: Functions, tmp_path: Path
) -> None:
    name, arn = kinesis_stream(aws, 1)
    put(aws, name, [("k", f"old {i}") for i in range(5)])
    from_start, start_out = function(aws, tmp_path, RECORDING_HANDLER)
    from_now, now_out = function(aws, tmp_path, RECORDING_HANDLER)
    trim = mapping(aws, arn, from_start, StartingPosition="TRIM_HORIZON")
    latest = mapping(aws, arn, from_now, StartingPosition="LATEST")
    with (
        polling(KinesisPoller, aws, functions, trim),
        polling(KinesisPoller, aws, functions, latest),
    ):
        new: list[str] = []

        def latest_saw_one() -> bool:  # LATEST starts when its reader asks: keep writing
            new.append(f"new {len(new)}")
            put(aws, name, [("k", new[-1])])
            time.sleep(0.2)
            return bool(recorded(now_out))

        wait_for(latest_saw_one, "the LATEST mapping's first record", timeout_s=20)

        wait_for(
            lambda: len(data(start_out)) == 5 + len(new),
            "every record from TRIM_HORIZON",
            timeout_s=20,
        )
        wait_for(
            lambda: data(now_out)[-1:] == new[-1:], "the last new record from LATEST", timeout_s=20
        )
    assert data(start_out) == [f"old {i}" for i in range(5)] + new
    seen = data(now_out)
    assert seen == new[len(new) - len(seen) :]  # a suffix of what came, nothing older


def test_a_batching_window_gathers_records_into_one_batch(
    aws: AwsAccess, functions: Functions, tmp_path: Path
) -> None:
    name, arn = kinesis_stream(aws, 1)
    fn, out = function(
        aws, tmp_path, SUMMARY + "def handler(e, c):\n    record(e, c, at=time.time())\n"
    )
    uuid_ = mapping(aws, arn, fn, MaximumBatchingWindowInSeconds=2)
    with polling(KinesisPoller, aws, functions, uuid_):
        time.sleep(0.3)
        first_put = time.time()
        for i in range(5):
            put(aws, name, [("k", f"r{i}")])
            time.sleep(0.15)
        wait_for(lambda: recorded(out), "the first batch", timeout_s=20)
        time.sleep(0.5)
    [batch] = recorded(out)
    assert batch["data"] == [f"r{i}" for i in range(5)]
    assert 1.5 < batch["at"] - first_put < 4


POISON = (
    SUMMARY
    + """
def handler(event, context):
    record(event, context)
    if "poison" in [base64.b64decode(r["kinesis"]["data"]).decode() for r in event["Records"]]:
        raise ValueError("poison record")
"""
)


def test_a_poison_record_is_bisected_retried_and_sent_to_the_on_failure_queue(
    aws: AwsAccess, functions: Functions, tmp_path: Path
) -> None:
    name, arn = kinesis_stream(aws, 1)
    items = ["r0", "r1", "r2", "r3", "r4", "poison", "r6", "r7"]
    placed = put(aws, name, [("k", item) for item in items])
    queue, queue_arn = sqs_queue(aws)
    fn, out = function(aws, tmp_path, POISON)
    uuid_ = mapping(
        aws,
        arn,
        fn,
        BatchSize=8,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    with polling(KinesisPoller, aws, functions, uuid_) as (poller, run):
        wait_for(lambda: len(recorded(out)) == 9, "nine invocations", timeout_s=20)
        time.sleep(0.3)
        shard = placed[0][0]
        wait_for(
            lambda: poller.checkpoints() == {shard: placed[-1][1]}, "a checkpoint", timeout_s=20
        )
    calls = recorded(out)
    assert [c["data"] for c in calls] == [
        items,
        items[:4],
        items[4:],
        items[4:6],
        ["r4"],
        ["poison"],
        ["poison"],  # splitting used none of the 2 retries
        ["poison"],
        ["r6", "r7"],
    ]
    assert run.reports[-1] == "OK"
    assert "PROBLEM: Function call failed" in run.reports

    [message] = aws.client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    record = json.loads(message["Body"])
    documented = json.loads(
        (DOC_EXAMPLES / "lambda-events" / "kinesis-on-failure-invocation-record.json").read_text()
    )
    assert list(record) == list(documented)
    assert record["requestContext"] == {
        "requestId": calls[7]["request_id"],
        "functionArn": fn,
        "condition": "RetryAttemptsExhausted",
        "approximateInvokeCount": 6,  # every invocation that included the record
    }
    assert record["responseContext"] == documented["responseContext"]
    info = record["KinesisBatchInfo"]
    assert list(info) == list(documented["KinesisBatchInfo"])
    poison_seq = placed[5][1]
    assert (info["shardId"], info["startSequenceNumber"], info["endSequenceNumber"]) == (
        shard,
        poison_seq,
        poison_seq,
    )
    assert (info["batchSize"], info["streamArn"]) == (1, arn)


PARTIAL = (
    SUMMARY
    + """
def handler(event, context):
    calls = record(event, context)
    if calls == 1:
        seqs = [r["kinesis"]["sequenceNumber"] for r in event["Records"]]
        return {"batchItemFailures": [{"itemIdentifier": seqs[5]}, {"itemIdentifier": seqs[3]}]}
    if calls == 2:
        return {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}
    return {"batchItemFailures": []}
"""
)


def test_reported_batch_item_failures_resume_from_the_lowest_failed_record(
    aws: AwsAccess, functions: Functions, tmp_path: Path
) -> None:
    name, arn = kinesis_stream(aws, 1)
    items = [f"r{i}" for i in range(6)]
    placed = put(aws, name, [("k", item) for item in items])
    fn, out = function(aws, tmp_path, PARTIAL)
    uuid_ = mapping(aws, arn, fn, BatchSize=6, FunctionResponseTypes=["ReportBatchItemFailures"])
    with polling(KinesisPoller, aws, functions, uuid_) as (poller, run):
        wait_for(lambda: len(recorded(out)) == 3, "three invocations", timeout_s=20)
        time.sleep(0.3)
        wait_for(
            lambda: poller.checkpoints() == {placed[0][0]: placed[-1][1]},
            "the checkpoint at the last record",
            timeout_s=20,
        )
    assert [c["data"] for c in recorded(out)] == [items, items[3:], items[3:]]
    assert run.reports == ["PROBLEM: Function call failed"] * 2 + ["OK"]


FAILS_FOUR_TIMES = (
    SUMMARY
    + """
def handler(event, context):
    if record(event, context) <= 4:
        raise RuntimeError("not yet")
"""
)


def test_a_batch_failing_for_a_while_reports_the_mapping_stalled_until_it_moves(
    aws: AwsAccess, functions: Functions, tmp_path: Path
) -> None:
    name, arn = kinesis_stream(aws, 1)
    put(aws, name, [("k", "only")])
    fn, out = function(aws, tmp_path, FAILS_FOUR_TIMES)
    uuid_ = mapping(aws, arn, fn)
    timing = FAST.model_copy(update={"stalled_after_s": 0.5})
    with polling(KinesisPoller, aws, functions, uuid_, timing) as (_, run):
        wait_for(lambda: run.reports[-1:] == ["OK"], "a retried success", timeout_s=20)
    assert len(recorded(out)) == 5
    stalled, moving = run.stalls
    assert stalled is not None and moving is None
    assert stalled.startswith("RuntimeError: not yet (one batch failed ")
    assert stalled.endswith("AWS retries it until its records expire)")


TIMES_OUT_ONCE = (
    SUMMARY
    + """
def handler(event, context):
    if record(event, context) == 1:
        time.sleep(10)
"""
)


def test_a_timed_out_batch_is_retried(aws: AwsAccess, functions: Functions, tmp_path: Path) -> None:
    name, arn = kinesis_stream(aws, 1)
    put(aws, name, [("k", "only")])
    fn, out = function(aws, tmp_path, TIMES_OUT_ONCE, timeout=1)
    uuid_ = mapping(aws, arn, fn)
    with polling(KinesisPoller, aws, functions, uuid_) as (_, run):
        wait_for(lambda: run.reports[-1:] == ["OK"], "a retried success", timeout_s=20)
    assert [c["data"] for c in recorded(out)] == [["only"], ["only"]]
    assert run.reports == ["PROBLEM: Function call failed", "OK"]


def test_records_older_than_the_maximum_age_go_to_the_destination_unsent(
    aws: AwsAccess, functions: Functions, tmp_path: Path
) -> None:
    name, arn = kinesis_stream(aws, 1)
    placed = put(aws, name, [("k", f"r{i}") for i in range(3)])
    topic = aws.client("sns").create_topic(Name=unique("failures"))["TopicArn"]
    queue, queue_arn = sqs_queue(aws)
    aws.client("sns").subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    fn, out = function(aws, tmp_path, RECORDING_HANDLER)
    uuid_ = mapping(
        aws,
        arn,
        fn,
        MaximumRecordAgeInSeconds=1,
        DestinationConfig={"OnFailure": {"Destination": topic}},
    )
    time.sleep(1.5)
    sqs = aws.client("sqs")
    with polling(KinesisPoller, aws, functions, uuid_):
        messages = wait_for(
            lambda: sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages"),
            "the on-failure record",
            timeout_s=20,
        )
    [message] = messages
    record = json.loads(message["Body"])
    assert "responseContext" not in record  # never invoked
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    info = record["KinesisBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        placed[0][1],
        placed[-1][1],
        3,
    )
    assert recorded(out) == []


class _Timed(StreamPoller):
    """A stream poller that remembers when it called GetRecords and how long each call took."""

    def __init__(self, ctx: MappingContext, *, resume: dict[str, str] | None = None) -> None:
        super().__init__(ctx, resume=resume)
        self.calls: list[float] = []
        self.took: list[float] = []

    def get_records(
        self, shard_id: str, iterator: str, limit: int
    ) -> tuple[list[StreamRecord], str | None]:
        started = time.monotonic()
        self.calls.append(started)
        try:
            return super().get_records(shard_id, iterator, limit)  # type: ignore[safe-super]
        finally:
            self.took.append(time.monotonic() - started)


class _TimedKinesis(_Timed, KinesisPoller):
    pass


class _TimedDynamoDB(_Timed, DynamoDBStreamPoller):
    pass


def test_idle_shards_are_polled_at_the_configured_cadence(
    aws: AwsAccess, functions: Functions, tmp_path: Path
) -> None:
    _, arn = kinesis_stream(aws, 1)
    fn, _ = function(aws, tmp_path, RECORDING_HANDLER)
    kinesis_uuid = mapping(aws, arn, fn)
    _, stream = dynamodb_table(aws)
    ddb_uuid = mapping(aws, stream, fn)

    def gaps(
        cls: type[_Timed], uuid_: str, timing: LambdaTiming, calls: int
    ) -> list[tuple[float, float]]:
        """(time between, how long the first took) for the first `calls` GetRecords calls of
        an idle shard: a call starts a cadence after the one before, or once that one
        returned if it took longer (as on a busy emulator)."""
        with polling(cls, aws, functions, uuid_, timing) as (poller, _):
            made, took = poller.calls, poller.took
            wait_for(lambda: len(took) >= calls, f"{calls} GetRecords calls", timeout_s=20)
        between = [b - a for a, b in itertools.pairwise(made[:calls])]
        return list(zip(between, took[: calls - 1], strict=True))

    kinesis = gaps(_TimedKinesis, kinesis_uuid, LambdaTiming(kinesis_poll_s=1.0), 4)
    assert all(0.95 <= gap < max(1.0, took) + 1.0 for gap, took in kinesis), kinesis
    ddb = gaps(_TimedDynamoDB, ddb_uuid, LambdaTiming(dynamodb_poll_s=0.25), 6)
    assert all(0.24 <= gap < max(0.25, took) + 0.5 for gap, took in ddb), ddb
    at_once = gaps(_TimedKinesis, kinesis_uuid, LambdaTiming(kinesis_poll_s=0), 21)
    assert statistics.median(gap - took for gap, took in at_once) < 0.1, at_once


def dynamodb_table(aws: AwsAccess) -> tuple[str, str]:
    name = unique("table")
    description = aws.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    return name, description["LatestStreamArn"]


def test_dynamodb_inserts_modifications_and_removals_arrive_as_documented(
    aws: AwsAccess, functions: Functions, tmp_path: Path
) -> None:
    table, stream = dynamodb_table(aws)
    ddb = aws.client("dynamodb")
    before = time.time()
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"N": "1"}, "b": {"B": b"\x00"}})
    ddb.update_item(
        TableName=table,
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET v = :v",
        ExpressionAttributeValues={":v": {"N": "2"}},
    )
    ddb.delete_item(TableName=table, Key={"pk": {"S": "a"}})
    fn, out = function(aws, tmp_path, RECORDING_HANDLER)
    uuid_ = mapping(aws, stream, fn)
    with polling(DynamoDBStreamPoller, aws, functions, uuid_, LambdaTiming()) as (poller, run):
        wait_for(lambda: recorded(out), "the first batch", timeout_s=20)
        time.sleep(0.6)
    [event] = recorded(out)
    records = event["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    for record in records:
        assert (record["eventSource"], record["eventVersion"]) == ("aws:dynamodb", "1.1")
        assert (record["eventSourceARN"], record["awsRegion"]) == (stream, "us-east-1")
        assert record["dynamodb"]["Keys"] == {"pk": {"S": "a"}}
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert int(before) <= record["dynamodb"]["ApproximateCreationDateTime"] <= time.time()
    image_1 = {"pk": {"S": "a"}, "v": {"N": "1"}, "b": {"B": "AA=="}}
    image_2 = {**image_1, "v": {"N": "2"}}
    assert [(r["dynamodb"].get("OldImage"), r["dynamodb"].get("NewImage")) for r in records] == [
        (None, image_1),
        (image_1, image_2),
        (image_2, None),
    ]
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    parsed = DynamoDBStreamModel(**event).Records
    assert [r.dynamodb.NewImage["v"] if r.dynamodb.NewImage else None for r in parsed] == [
        1,
        2,
        None,
    ]  # type: ignore[union-attr]
    [shard] = poller.checkpoints()
    assert poller.checkpoints()[shard] == records[-1]["dynamodb"]["SequenceNumber"]
    assert run.reports == ["OK"]


SLOW_SUMMARY = (
    SUMMARY
    + """
def handler(event, context):
    time.sleep(0.05)
    record(event, context)
"""
)


def test_stop_is_prompt_and_a_resumed_poller_neither_skips_nor_repeats(
    aws: AwsAccess, functions: Functions, tmp_path: Path
) -> None:
    name, arn = kinesis_stream(aws, 2)
    placed = put(aws, name, [(f"key-{i}", f"first {i}") for i in range(60)])
    fn, out = function(aws, tmp_path, SLOW_SUMMARY)
    uuid_ = mapping(aws, arn, fn, BatchSize=5)
    timing = LambdaTiming(kinesis_poll_s=1.0)
    with polling(KinesisPoller, aws, functions, uuid_, timing) as (poller, _):
        wait_for(
            lambda: sum(len(c["ids"]) for c in recorded(out)) >= 15, "15 records", timeout_s=20
        )
        started = time.monotonic()
        poller.stop()
        assert time.monotonic() - started < 1.0
    checkpoints = poller.checkpoints()
    first_part = sum(len(c["ids"]) for c in recorded(out))
    assert 15 <= first_part < 60
    placed += put(aws, name, [(f"key-{i}", f"second {i}") for i in range(10)])
    with polling(KinesisPoller, aws, functions, uuid_, timing, resume=checkpoints):
        wait_for(
            lambda: sum(len(c["ids"]) for c in recorded(out)) >= 70, "70 records", timeout_s=20
        )
        time.sleep(0.5)
    delivered = [event_id for call in recorded(out) for event_id in call["ids"]]
    assert by_shard(delivered) == expected_by_shard(placed)


SLOW_WITH_TIMES = (
    SUMMARY
    + """
def handler(event, context):
    started = time.time()
    time.sleep(0.3)
    record(event, context, start=started, end=time.time())
"""
)


def test_parallelization_runs_concurrent_batches_per_shard_keeping_each_key_in_order(
    aws: AwsAccess, functions: Functions, tmp_path: Path
) -> None:
    name, arn = kinesis_stream(aws, 1)
    keys = ["a", "b", "c"]
    put(aws, name, [(keys[i % 3], f"{keys[i % 3]}{i}") for i in range(12)])
    fn, out = function(aws, tmp_path, SLOW_WITH_TIMES)
    uuid_ = mapping(aws, arn, fn, BatchSize=2, ParallelizationFactor=3)
    with polling(KinesisPoller, aws, functions, uuid_):
        wait_for(
            lambda: sum(len(c["data"]) for c in recorded(out)) >= 12, "12 records", timeout_s=20
        )
        time.sleep(0.4)
    calls = sorted(recorded(out), key=lambda c: c["start"])
    for key in keys:
        seen = [d for c in calls for d in c["data"] if d.startswith(key)]
        assert seen == [f"{key}{i}" for i in range(12) if keys[i % 3] == key]
    overlaps = [a for a, b in itertools.pairwise(calls) if b["start"] < a["end"]]
    assert overlaps, "no two batches of the shard ran at once"
