"""The SQS poller runs real functions on real queues (moto): the documented event shape,
batching, deletes on success, redelivery and dead-lettering on errors, partial batch
responses, FIFO order, and a prompt stop during a long poll."""

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel

from harness.local.lambda_runtime.functions import Functions
from harness.local.lambda_runtime.pollers.base import MappingContext
from harness.local.lambda_runtime.pollers.sqs import SqsPoller
from harness.local.lambda_runtime.timing import LambdaTiming
from tests.conftest import BareCloud
from tests.helpers import DOC_EXAMPLES, wait_for
from tests.lambda_support import create_function, recorded

pytestmark = [pytest.mark.slow, pytest.mark.serial]

HANDLER = """\
import json
import os
import time


def handler(event, context):
    started = time.time()
    with open(os.environ["RECORD_TO"], "a") as out:
        out.write(json.dumps(event) + "\\n")
    mode = os.environ.get("MODE")
    if mode == "slow":
        time.sleep(0.5)
        with open(os.environ["RECORD_TO"] + ".times", "a") as out:
            out.write(f"{started} {time.time()}\\n")
    failed_once = os.environ["RECORD_TO"] + ".failed"
    if mode == "raise" or (mode == "raise-once" and not os.path.exists(failed_once)):
        open(failed_once, "w").close()
        raise ValueError("cannot handle this batch")
    if mode == "report-bad":
        bad = [r["messageId"] for r in event["Records"] if r["body"].startswith("bad")]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in bad]}
    if mode == "empty-id":
        return {"batchItemFailures": [{"itemIdentifier": ""}]}
    return None
"""
"""Records each event; then fails (always, or the first time), reports the "bad..." messages,
answers an invalid partial batch response, or takes half a second and records when it ran,
as MODE says."""


@dataclass
class Mapped:
    """A queue mapped to a recording function, and what its poller reported."""

    sqs: Any
    url: str
    record_to: Path
    poller: SqsPoller | None = None
    reports: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)

    def start(self) -> None:
        assert self.poller is not None
        self.poller.start()

    def events(self) -> list[dict[str, Any]]:
        return recorded(self.record_to)

    def bodies(self) -> list[list[str]]:
        return [[r["body"] for r in event["Records"]] for event in self.events()]

    def depth(self) -> tuple[int, int]:
        """(visible, in flight) messages."""
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        found = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=names)
        return int(found["Attributes"][names[0]]), int(found["Attributes"][names[1]])


MapQueue = Callable[..., Any]


@pytest.fixture
def map_queue(bare_cloud: BareCloud, tmp_path: Path) -> Iterator[MapQueue]:
    """`map_queue(queue_attributes, mode=..., fifo=..., **mapping)` creates a queue and a
    mapping to a recording function, and an SqsPoller for it, stopped when the `with` ends."""
    aws = bare_cloud.aws
    functions = Functions(aws, tmp_path / "run")

    @contextmanager
    def run(
        attributes: dict[str, str] | None = None, mode: str = "", fifo: bool = False, **mapping: Any
    ) -> Iterator[Mapped]:
        name = f"q-{uuid.uuid4().hex[:10]}"
        sqs = aws.client("sqs")
        attributes = dict(attributes or {})
        if fifo:
            name += ".fifo"
            attributes |= {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        record_to = tmp_path / f"{name}.jsonl"
        env = {"RECORD_TO": str(record_to), "MODE": mode}
        function = create_function(aws, f"fn-{name.replace('.', '-')}", HANDLER, env)
        created = aws.client("lambda").create_event_source_mapping(
            EventSourceArn=arn["Attributes"]["QueueArn"], FunctionName=function, **mapping
        )
        config = aws.client("lambda").get_event_source_mapping(UUID=created["UUID"])
        mapped = Mapped(sqs, url, record_to)
        ctx = MappingContext(
            mapping=config,
            functions=functions,
            aws=aws,
            timing=LambdaTiming(),
            report=mapped.reports.append,
            fail=mapped.failures.append,
            limit=mapped.limits.append,
        )
        mapped.poller = SqsPoller(ctx)
        try:
            yield mapped
        finally:
            mapped.poller.stop()
            assert not mapped.poller._thread.is_alive()
            assert mapped.limits == []

    try:
        yield run
    finally:
        functions.close()


def _doc_record(name: str) -> dict[str, Any]:
    return dict(json.loads((DOC_EXAMPLES / "lambda-events" / name).read_text())["Records"][0])


def test_a_batch_has_the_documented_shape_and_is_deleted(map_queue: MapQueue) -> None:
    with map_queue() as q:
        for body in ("m0", "m1"):
            q.sqs.send_message(QueueUrl=q.url, MessageBody=body)
        q.sqs.send_message(
            QueueUrl=q.url,
            MessageBody="m2",
            MessageAttributes={
                "color": {"DataType": "String", "StringValue": "red"},
                "count": {"DataType": "Number", "StringValue": "7"},
                "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
            },
        )
        q.start()
        wait_for(
            lambda: q.depth() == (0, 0) and q.reports == ["OK"],
            "the batch to be handled and deleted",
            timeout_s=20,
        )
    [event] = q.events()
    SqsModel(**event)
    doc = _doc_record("sqs-event-standard-queue.json")
    records = event["Records"]
    assert [r["body"] for r in records] == ["m0", "m1", "m2"]
    for record in records[:2]:
        assert list(record) == list(doc)
        assert record["messageAttributes"] == {}
    assert list(records[2]) == [*list(doc)[:6], "md5OfMessageAttributes", *list(doc)[6:]]
    for record in records:
        assert list(record["attributes"]) == list(doc["attributes"])
        assert record["attributes"]["ApproximateReceiveCount"] == "1"
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"].endswith(":" + q.url.rsplit("/", 1)[1])
        assert record["awsRegion"] == "us-east-1"
    assert records[2]["messageAttributes"] == {
        "color": {
            "stringValue": "red",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "count": {
            "stringValue": "7",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Number",
        },
        "blob": {
            "binaryValue": "AAE=",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }


def test_a_fifo_queue_keeps_each_group_in_order(map_queue: MapQueue) -> None:
    sent = [("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b2"), ("a", "a3")]
    with map_queue(fifo=True) as q:
        for group, body in sent:
            q.sqs.send_message(QueueUrl=q.url, MessageBody=body, MessageGroupId=group)
        q.start()
        wait_for(
            lambda: q.depth() == (0, 0) and sum(map(len, q.bodies())) == 5,
            "all five FIFO messages",
            timeout_s=20,
        )
    doc = _doc_record("sqs-event-fifo-queue.json")
    received = [r for event in q.events() for r in event["Records"]]
    for event in q.events():
        SqsModel(**event)
    assert all(list(r["attributes"]) == list(doc["attributes"]) for r in received)
    by_group = {
        g: [r["body"] for r in received if r["attributes"]["MessageGroupId"] == g] for g in "ab"
    }
    assert by_group == {"a": ["a1", "a2", "a3"], "b": ["b1", "b2"]}
    for group in "ab":
        numbers = [
            int(r["attributes"]["SequenceNumber"])
            for r in received
            if r["attributes"]["MessageGroupId"] == group
        ]
        assert numbers == sorted(set(numbers))


def test_a_failed_fifo_batch_comes_back_whole_and_in_order(map_queue: MapQueue) -> None:
    sent = [("a", "a1"), ("b", "b1"), ("a", "a2"), ("b", "b2")]
    with map_queue({"VisibilityTimeout": "1"}, mode="raise-once", fifo=True) as q:
        for group, body in sent:
            q.sqs.send_message(QueueUrl=q.url, MessageBody=body, MessageGroupId=group)
        q.start()
        wait_for(
            lambda: q.depth() == (0, 0) and len(q.events()) == 2,
            "the failed batch and its retry",
            timeout_s=20,
        )
    assert q.bodies() == [["a1", "b1", "a2", "b2"]] * 2
    counts = [
        [r["attributes"]["ApproximateReceiveCount"] for r in e["Records"]] for e in q.events()
    ]
    assert counts == [["1"] * 4, ["2"] * 4]
    assert q.reports == ["PROBLEM: Function call failed", "OK"]


def _send_and_drain(q: Mapped, count: int) -> None:
    """Send m0... m<count - 1>, ten at a time, start the poller and wait until the function
    had each and the queue is empty."""
    for start in range(0, count, 10):
        entries = [{"Id": str(i), "MessageBody": f"m{i}"} for i in range(start, start + 10)]
        q.sqs.send_message_batch(QueueUrl=q.url, Entries=entries)
    q.start()
    wait_for(
        lambda: sum(map(len, q.bodies())) == count and q.depth() == (0, 0),
        f"all {count} messages",
        timeout_s=30,
    )


def test_batches_fill_up_to_the_batch_size_within_the_window(map_queue: MapQueue) -> None:
    with map_queue(BatchSize=25, MaximumBatchingWindowInSeconds=1) as q:
        _send_and_drain(q, 30)
    batches = q.bodies()
    assert [len(b) for b in batches] == [25, 5]
    assert sorted(body for batch in batches for body in batch) == sorted(f"m{i}" for i in range(30))


def test_a_backlog_is_worked_by_several_batches_at_once_within_maximum_concurrency(
    map_queue: MapQueue,
) -> None:
    with map_queue(mode="slow", ScalingConfig={"MaximumConcurrency": 3}) as q:
        _send_and_drain(q, 60)
    assert sorted(b for batch in q.bodies() for b in batch) == sorted(f"m{i}" for i in range(60))
    runs = [tuple(map(float, line.split())) for line in q.record_to.with_name(
        q.record_to.name + ".times").read_text().splitlines()]  # fmt: skip
    at_once = max(sum(s <= start < e for s, e in runs) for start, _ in runs)
    assert at_once == 3  # more than one, never past MaximumConcurrency


def test_a_failing_batch_comes_back_then_goes_to_the_dead_letter_queue(
    map_queue: MapQueue, bare_cloud: BareCloud
) -> None:
    sqs = bare_cloud.aws.client("sqs")
    dlq = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    redrive = {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": 2}
    attributes = {"VisibilityTimeout": "1", "RedrivePolicy": json.dumps(redrive)}
    with map_queue(attributes, mode="raise") as q:
        q.sqs.send_message(QueueUrl=q.url, MessageBody="poison")
        q.start()
        dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=10)["Messages"]
        assert [m["Body"] for m in dead] == ["poison"]
        assert q.depth() == (0, 0)
    counts = [r["attributes"]["ApproximateReceiveCount"] for e in q.events() for r in e["Records"]]
    assert counts == ["1", "2"]
    assert set(q.reports) == {"PROBLEM: Function call failed"}
    assert q.failures == []


def _throttle(q: Mapped, bare_cloud: BareCloud) -> Callable[[bool], None]:
    """Sets the mapped function's reserved concurrency to 0 (True) or removes it (False)."""
    client = bare_cloud.aws.client("lambda")
    function = q.poller.mapping["FunctionArn"] if q.poller else ""

    def throttled(on: bool) -> None:
        if on:
            client.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=0)
        else:
            client.delete_function_concurrency(FunctionName=function)

    return throttled


def test_a_throttled_batch_is_retried_while_its_messages_stay_invisible(
    map_queue: MapQueue, bare_cloud: BareCloud
) -> None:
    with map_queue({"VisibilityTimeout": "60"}) as q:
        throttled = _throttle(q, bare_cloud)
        throttled(True)
        q.sqs.send_message(QueueUrl=q.url, MessageBody="held")
        q.start()
        wait_for(lambda: len(q.reports) >= 3, "three throttled tries", timeout_s=15)
        assert q.events() == [] and q.depth() == (0, 1)
        throttled(False)
        wait_for(q.events, "the batch once the throttle is lifted", timeout_s=15)
        wait_for(lambda: q.depth() == (0, 0), "the message deleted", timeout_s=10)
    # delivered long before its 60 s visibility timeout, on its first receive
    [record] = [r for e in q.events() for r in e["Records"]]
    assert record["body"] == "held" and record["attributes"]["ApproximateReceiveCount"] == "1"
    assert set(q.reports) == {"PROBLEM: Function call failed", "OK"}


def test_a_batch_throttled_past_its_visibility_timeout_comes_back(
    map_queue: MapQueue, bare_cloud: BareCloud
) -> None:
    with map_queue({"VisibilityTimeout": "2"}) as q:
        throttled = _throttle(q, bare_cloud)
        throttled(True)
        q.sqs.send_message(QueueUrl=q.url, MessageBody="back")
        q.start()
        time.sleep(4.5)  # two visibility timeouts
        throttled(False)
        wait_for(q.events, "the batch once the throttle is lifted", timeout_s=15)
    [record] = [r for e in q.events() for r in e["Records"]]
    assert int(record["attributes"]["ApproximateReceiveCount"]) >= 2  # received again


@pytest.mark.parametrize(
    ("mode", "kept"),
    [("report-bad", ["bad1", "bad2"]), ("empty-id", ["good1", "bad1", "good2", "bad2"])],
)
def test_a_partial_batch_response_keeps_only_the_failed_messages(
    map_queue: MapQueue, mode: str, kept: list[str]
) -> None:
    with map_queue(
        {"VisibilityTimeout": "60"}, mode=mode, FunctionResponseTypes=["ReportBatchItemFailures"]
    ) as q:
        entries = [{"Id": b, "MessageBody": b} for b in ("good1", "bad1", "good2", "bad2")]
        q.sqs.send_message_batch(QueueUrl=q.url, Entries=entries)
        q.start()
        wait_for(
            lambda: q.depth() == (0, len(kept)) and q.reports == ["OK"],
            "the failed items to stay queued",
            timeout_s=20,
        )
    [event] = q.events()
    # make the kept messages visible again and read them back
    handles = [r["receiptHandle"] for r in event["Records"] if r["body"] in kept]
    q.sqs.change_message_visibility_batch(
        QueueUrl=q.url,
        Entries=[
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
            for i, h in enumerate(handles)
        ],
    )
    back = q.sqs.receive_message(QueueUrl=q.url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in back) == sorted(kept)


def test_stop_is_prompt_during_a_long_poll(map_queue: MapQueue) -> None:
    with map_queue() as q:
        q.start()
        time.sleep(1.5)  # inside a 20 s long poll by now
        started = time.monotonic()
    assert time.monotonic() - started < 2.5
    assert q.events() == [] and q.reports == []


def test_a_queue_that_is_gone_fails_the_mapping_in_one_line(map_queue: MapQueue) -> None:
    with map_queue() as q:
        q.sqs.delete_queue(QueueUrl=q.url)
        q.start()
        wait_for(lambda: q.failures != [], "the mapping to fail", timeout_s=20)
    assert q.poller is not None
    assert q.failures == [
        f"SQS queue {q.poller.arn} cannot be read: An error occurred "
        "(AWS.SimpleQueueService.NonExistentQueue) when calling the GetQueueUrl operation: "
        "The specified queue does not exist."
    ]
