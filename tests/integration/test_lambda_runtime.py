"""The Lambda runtime's control loop: mappings found through the API get pollers, follow
enable/disable and configuration changes, and a function that cannot run is reported once
and retried only when its code changes."""

import base64
import io
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.local.lambda_runtime.runtime import LambdaRuntime
from harness.local.lambda_runtime.timing import LambdaTiming
from tests.conftest import BareCloud
from tests.helpers import wait_for
from tests.lambda_support import RECORDING_HANDLER, create_function, recorded

pytestmark = pytest.mark.slow

_FAST = LambdaTiming(kinesis_poll_s=0.1, dynamodb_poll_s=0.1, sqs_wait_s=1, kafka_poll_s=0.1)


@pytest.fixture
def runtime(bare_cloud: BareCloud, tmp_path: Path) -> Iterator[LambdaRuntime]:
    runtime = LambdaRuntime(bare_cloud.aws, tmp_path / "lambda", _FAST)
    runtime.start()
    yield runtime
    runtime.stop()


def _failures_of(runtime: LambdaRuntime, function: str) -> dict[str, str]:
    """The runtime's failures about `function`'s mappings (other tests' mappings live in
    the same session's emulator)."""
    return {k: v for k, v in runtime.failures().items() if f" {function} <- " in k}


def _poller_threads(uuid: str) -> set[threading.Thread]:
    """The running threads of the mapping's poller (named after its UUID)."""
    return {t for t in threading.enumerate() if uuid[:8] in t.name}


def _queue(cloud: BareCloud, name: str) -> tuple[str, str]:
    """A queue whose failed messages come back after 1 s (the visibility timeout)."""
    sqs = cloud.aws.client("sqs")
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def _bodies(path: Path) -> list[str]:
    return [r["body"] for event in recorded(path) for r in event["Records"]]


def test_mapping_runs_reports_ok_and_follows_disable_and_enable(
    runtime: LambdaRuntime, bare_cloud: BareCloud, tmp_path: Path
) -> None:
    record_to = tmp_path / "events.jsonl"
    create_function(bare_cloud.aws, "rt-recorder", RECORDING_HANDLER, {"RECORD_TO": str(record_to)})
    url, arn = _queue(bare_cloud, "rt-orders")
    client = bare_cloud.aws.client("lambda")
    sqs = bare_cloud.aws.client("sqs")
    uuid = client.create_event_source_mapping(FunctionName="rt-recorder", EventSourceArn=arn)[
        "UUID"
    ]
    sqs.send_message(QueueUrl=url, MessageBody="first")
    wait_for(lambda: _bodies(record_to) == ["first"], "the first message", timeout_s=20)
    wait_for(
        lambda: client.get_event_source_mapping(UUID=uuid).get("LastProcessingResult") == "OK",
        "the mapping to report OK",
        timeout_s=20,
    )

    assert _poller_threads(uuid)
    client.update_event_source_mapping(UUID=uuid, Enabled=False)
    wait_for(lambda: not _poller_threads(uuid), "the poller to stop", timeout_s=20)
    sqs.send_message(QueueUrl=url, MessageBody="while disabled")
    time.sleep(2)  # a poller would have taken it by now: the poll slice is 1 s
    assert _bodies(record_to) == ["first"]

    client.update_event_source_mapping(UUID=uuid, Enabled=True)
    wait_for(
        lambda: _bodies(record_to) == ["first", "while disabled"],
        "the message sent while disabled",
        timeout_s=20,
    )
    assert _failures_of(runtime, "rt-recorder") == {}


def test_function_that_cannot_import_is_reported_once_and_resumes_after_a_fix(
    runtime: LambdaRuntime, bare_cloud: BareCloud, tmp_path: Path
) -> None:
    record_to = tmp_path / "events.jsonl"
    create_function(
        bare_cloud.aws, "rt-broken", "import no_such_module\n", {"RECORD_TO": str(record_to)}
    )
    url, arn = _queue(bare_cloud, "rt-broken-queue")
    client = bare_cloud.aws.client("lambda")
    uuid = client.create_event_source_mapping(FunctionName="rt-broken", EventSourceArn=arn)["UUID"]
    bare_cloud.aws.client("sqs").send_message(QueueUrl=url, MessageBody="kept")

    wait_for(lambda: _failures_of(runtime, "rt-broken"), "the import failure", timeout_s=20)
    [(name, reason)] = _failures_of(runtime, "rt-broken").items()
    assert name == f"Lambda mapping rt-broken <- {arn}"
    assert reason.startswith("Runtime.ImportModuleError: Unable to import module 'app'")
    assert "no_such_module" in reason
    # reported to the API after the failure is recorded
    shown = wait_for(
        lambda: client.get_event_source_mapping(UUID=uuid).get("LastProcessingResult"),
        "the mapping's LastProcessingResult",
        timeout_s=10,
    )
    assert shown.startswith("PROBLEM: Function call failed")
    time.sleep(2)  # nothing spins: one failed invocation, no retry loop
    log = runtime.functions.log_path("rt-broken").read_text()
    assert log.count("START RequestId") == 1

    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", RECORDING_HANDLER)
    client.update_function_code(FunctionName="rt-broken", ZipFile=package.getvalue())
    wait_for(lambda: _bodies(record_to) == ["kept"], "the kept message", timeout_s=20)
    wait_for(lambda: _failures_of(runtime, "rt-broken") == {}, "the failure to clear", timeout_s=20)


def test_changed_stream_mapping_resumes_where_the_old_poller_stopped(
    runtime: LambdaRuntime, bare_cloud: BareCloud, tmp_path: Path
) -> None:
    record_to = tmp_path / "events.jsonl"
    create_function(bare_cloud.aws, "rt-stream", RECORDING_HANDLER, {"RECORD_TO": str(record_to)})
    kinesis = bare_cloud.aws.client("kinesis")
    kinesis.create_stream(StreamName="rt-stream", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="rt-stream")["StreamDescription"]["StreamARN"]
    client = bare_cloud.aws.client("lambda")
    uuid = client.create_event_source_mapping(
        FunctionName="rt-stream", EventSourceArn=arn, StartingPosition="TRIM_HORIZON", BatchSize=5
    )["UUID"]

    def put(values: range) -> None:
        for n in values:
            kinesis.put_record(StreamName="rt-stream", Data=str(n).encode(), PartitionKey="k")

    def seen() -> list[int]:
        return [
            int(base64.b64decode(r["kinesis"]["data"]))
            for event in recorded(record_to)
            for r in event["Records"]
        ]

    put(range(10))
    wait_for(lambda: seen() == list(range(10)), "records 0 to 9", timeout_s=20)
    old = _poller_threads(uuid)
    assert old
    client.update_event_source_mapping(UUID=uuid, BatchSize=50)

    def replaced() -> bool:
        now = _poller_threads(uuid)
        return bool(now) and not now & old

    wait_for(replaced, "the runtime to replace the poller", timeout_s=20)
    put(range(10, 20))
    wait_for(lambda: seen() == list(range(20)), "records 0 to 19", timeout_s=20)
    time.sleep(1)  # nothing more should come
    assert seen() == list(range(20)), "the new poller repeated records"


def test_a_deleted_mappings_failure_goes_with_it(
    runtime: LambdaRuntime, bare_cloud: BareCloud, tmp_path: Path
) -> None:
    """A deployment destroyed with a failed mapping leaves no failure for the next run."""
    create_function(bare_cloud.aws, "rt-gone", "import no_such_module\n", {})
    url, arn = _queue(bare_cloud, "rt-gone-queue")
    client = bare_cloud.aws.client("lambda")
    uuid = client.create_event_source_mapping(FunctionName="rt-gone", EventSourceArn=arn)["UUID"]
    bare_cloud.aws.client("sqs").send_message(QueueUrl=url, MessageBody="fails")
    wait_for(lambda: _failures_of(runtime, "rt-gone"), "the import failure", timeout_s=20)

    client.delete_event_source_mapping(UUID=uuid)

    wait_for(lambda: _failures_of(runtime, "rt-gone") == {}, "the failure to go", timeout_s=20)
