"""The Lambda API on moto runs functions through the local runtime: Invoke (RequestResponse,
Event with retries and destinations, DryRun), the function code and mapping state routes."""

import base64
import io
import json
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.local.lambda_runtime.functions import Functions
from harness.local.lambda_runtime.invoke_server import InvokeServer
from harness.local.lambda_runtime.lambda_api import LambdaApi
from harness.local.private_api import PrivateApiError
from tests.conftest import BareCloud
from tests.helpers import processes_mentioning, unique
from tests.integration.test_lambda_functions import SLOW, deploy, zip_of

pytestmark = [pytest.mark.slow, pytest.mark.serial]

RECORDER = """\
import json
import os


def handler(event, context):
    with open(os.environ["RECORD_TO"], "a") as out:
        out.write(json.dumps([context.aws_request_id, event]) + "\\n")
    print("recorded", event)
    if isinstance(event, dict) and event.get("fail"):
        raise ValueError("asked to fail")
    return {"got": event}
"""


@pytest.fixture
def runtime(bare_cloud: BareCloud, tmp_path: Path) -> Iterator[Functions]:
    functions = Functions(bare_cloud.aws, tmp_path / "run")
    server = InvokeServer(bare_cloud.aws, functions, retry_delays_s=(0.2, 0.3), poll_wait_s=0.5)
    server.start()
    yield functions
    server.stop()
    functions.close()
    assert server.failures == {}
    assert processes_mentioning(str(tmp_path)) == []


def recorder(bare_cloud: BareCloud, tmp_path: Path) -> tuple[str, Path]:
    name = unique("recorder")
    record = tmp_path / f"{name}.jsonl"
    deploy(
        bare_cloud.aws,
        name,
        {"app.py": RECORDER},
        Environment={"Variables": {"RECORD_TO": str(record)}},
    )
    return name, record


def recorded(path: Path, count: int, timeout_s: float = 10) -> list[Any]:
    """The first `count` lines the recorder wrote, waiting for them."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count:
            return [json.loads(line) for line in lines]
        time.sleep(0.05)
    raise AssertionError(f"{path} has fewer than {count} lines")


def test_request_response_returns_the_payload_and_the_log_tail(
    bare_cloud: BareCloud, runtime: Functions, tmp_path: Path
) -> None:
    name, record = recorder(bare_cloud, tmp_path)
    client = bare_cloud.aws.client("lambda")

    answer = client.invoke(FunctionName=name, Payload=json.dumps({"n": 1}), LogType="Tail")
    assert answer["StatusCode"] == 200
    assert answer["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"got": {"n": 1}}
    [[request_id, event]] = recorded(record, 1)
    assert event == {"n": 1}
    tail = base64.b64decode(answer["LogResult"]).decode()
    assert tail.startswith(f"START RequestId: {request_id} Version: $LATEST\nrecorded {{'n': 1}}\n")
    assert f"END RequestId: {request_id}\nREPORT RequestId: {request_id}\t" in tail

    plain = client.invoke(FunctionName=name, Payload=b"[1, 2]")
    assert "LogResult" not in plain
    assert json.loads(plain["Payload"].read()) == {"got": [1, 2]}
    assert json.loads(client.invoke(FunctionName=name)["Payload"].read()) == {"got": {}}


def test_function_errors_answer_with_awss_error_payloads(
    bare_cloud: BareCloud, runtime: Functions, tmp_path: Path
) -> None:
    name, record = recorder(bare_cloud, tmp_path)
    client = bare_cloud.aws.client("lambda")
    answer = client.invoke(FunctionName=name, Payload=json.dumps({"fail": True}))
    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    payload = json.loads(answer["Payload"].read())
    [[request_id, _]] = recorded(record, 1)
    trace = payload.pop("stackTrace")
    assert payload == {
        "errorMessage": "asked to fail",
        "errorType": "ValueError",
        "requestId": request_id,
    }
    assert len(trace) == 1 and trace[0].endswith('raise ValueError("asked to fail")\n')

    slow = unique("slow")
    deploy(bare_cloud.aws, slow, {"app.py": SLOW}, Timeout=1)
    timed_out = client.invoke(FunctionName=slow, Payload=b'"sleep"')
    assert timed_out["FunctionError"] == "Unhandled"
    error = json.loads(timed_out["Payload"].read())
    assert list(error) == ["errorMessage", "errorType"]
    assert error["errorType"] == "Sandbox.Timedout"
    assert re.fullmatch(r"\S+Z \S+ Task timed out after 1\.\d\d seconds", error["errorMessage"])
    exited = json.loads(client.invoke(FunctionName=slow, Payload=b'"exit"')["Payload"].read())
    assert exited["errorType"] == "Runtime.ExitError"
    assert exited["errorMessage"].endswith("Error: Runtime exited with error: exit status 3")

    broken = unique("broken")
    deploy(bare_cloud.aws, broken, {"app.py": "import nothing_here\n"})
    import_error = json.loads(client.invoke(FunctionName=broken)["Payload"].read())
    assert import_error["errorType"] == "Runtime.ImportModuleError"
    assert import_error["errorMessage"] == (
        "Unable to import module 'app': No module named 'nothing_here'"
    )
    assert import_error["stackTrace"] == []


def test_a_failing_function_errs_without_running_until_mended(
    bare_cloud: BareCloud, runtime: Functions, tmp_path: Path
) -> None:
    """The `lambda_errors` fault: every invocation fails, without the handler running,
    until the function is mended; others are untouched."""
    name, record = recorder(bare_cloud, tmp_path)
    other, _ = recorder(bare_cloud, tmp_path)
    client = bare_cloud.aws.client("lambda")
    runtime.fail([name], failing=True)
    answer = client.invoke(FunctionName=name, Payload=b"1")
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorType"] == "InjectedFault"
    assert "FunctionError" not in client.invoke(FunctionName=other, Payload=b"2")
    runtime.fail([name], failing=False)
    assert json.loads(client.invoke(FunctionName=name, Payload=b"3")["Payload"].read()) == {
        "got": 3
    }
    assert [event for _, event in recorded(record, 1)] == [3]  # the failed one never ran


def test_a_hanging_function_times_out_without_running_until_mended(
    bare_cloud: BareCloud, runtime: Functions, tmp_path: Path
) -> None:
    """The `lambda_timeouts` fault: every invocation waits out the function's timeout and
    ends as a timeout, without the handler running, until the function is mended."""
    name = unique("hanging")
    record = tmp_path / f"{name}.jsonl"
    variables = {"RECORD_TO": str(record)}
    deploy(
        bare_cloud.aws, name, {"app.py": RECORDER}, Timeout=1, Environment={"Variables": variables}
    )
    client = bare_cloud.aws.client("lambda")
    runtime.hang([name], hanging=True)

    started = time.monotonic()
    answer = client.invoke(FunctionName=name, Payload=b"1")
    waited_s = time.monotonic() - started
    runtime.hang([name], hanging=False)
    mended = client.invoke(FunctionName=name, Payload=b"2")

    error = json.loads(answer["Payload"].read())
    assert answer["FunctionError"] == "Unhandled" and error["errorType"] == "Sandbox.Timedout"
    assert re.fullmatch(r"\S+Z \S+ Task timed out after 1\.\d\d seconds", error["errorMessage"])
    assert waited_s >= 1.0  # held for the function's whole timeout
    assert json.loads(mended["Payload"].read()) == {"got": 2}
    assert [event for _, event in recorded(record, 1)] == [2]  # the hung one never ran


def test_event_invocations_run_in_the_background_with_retries_and_destinations(
    bare_cloud: BareCloud, runtime: Functions, tmp_path: Path
) -> None:
    client = bare_cloud.aws.client("lambda")
    sqs = bare_cloud.aws.client("sqs")
    queue = sqs.create_queue(QueueName=unique("failures"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    default, default_record = recorder(bare_cloud, tmp_path)
    configured, configured_record = recorder(bare_cloud, tmp_path)
    client.put_function_event_invoke_config(
        FunctionName=configured,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )

    ok = client.invoke(FunctionName=default, InvocationType="Event", Payload=b'{"n": 1}')
    assert ok["StatusCode"] == 202
    assert ok["Payload"].read() == b""
    assert [event for _, event in recorded(default_record, 1)] == [{"n": 1}]

    client.invoke(FunctionName=default, InvocationType="Event", Payload=b'{"fail": 1}')
    client.invoke(FunctionName=configured, InvocationType="Event", Payload=b'{"fail": 2}')
    messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=10)["Messages"]
    attempts = recorded(default_record, 4)
    time.sleep(0.5)  # no more attempts come
    assert recorded(default_record, 4) == attempts
    assert [event for _, event in attempts] == [{"n": 1}] + [{"fail": 1}] * 3
    assert len({request_id for request_id, _ in attempts[1:]}) == 1  # one request, retried
    configured_attempts = recorded(configured_record, 2)
    assert len(configured_attempts) == 2
    [[request_id, _], _] = configured_attempts

    [message] = messages
    record = json.loads(message["Body"])
    arn = client.get_function(FunctionName=configured)["Configuration"]["FunctionArn"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record.pop("timestamp"))
    trace = record["responsePayload"].pop("stackTrace")
    assert trace and 'raise ValueError("asked to fail")' in trace[-1]
    assert record == {
        "version": "1.0",
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 2,
        },
        "requestPayload": {"fail": 2},
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {
            "errorMessage": "asked to fail",
            "errorType": "ValueError",
            "requestId": request_id,
        },
    }


S3_WRITER = """\
import os
import boto3


def handler(event, context):
    boto3.client("s3").put_object(Bucket=os.environ["BUCKET"], Key=event["key"], Body=b"done")
"""


def test_event_handlers_write_to_the_emulated_api(
    bare_cloud: BareCloud, runtime: Functions
) -> None:
    bucket = unique("invoke-bucket")
    s3 = bare_cloud.aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    name = unique("writer")
    deploy(
        bare_cloud.aws, name, {"app.py": S3_WRITER}, Environment={"Variables": {"BUCKET": bucket}}
    )
    client = bare_cloud.aws.client("lambda")
    client.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"key": "a.txt"}')
    deadline = time.monotonic() + 10
    while "Contents" not in s3.list_objects_v2(Bucket=bucket) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert s3.get_object(Bucket=bucket, Key="a.txt")["Body"].read() == b"done"


def test_dry_runs_and_unknown_functions(
    bare_cloud: BareCloud, runtime: Functions, tmp_path: Path
) -> None:
    name, record = recorder(bare_cloud, tmp_path)
    client = bare_cloud.aws.client("lambda")
    assert client.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName=unique("absent"))
    with pytest.raises(client.exceptions.InvalidRequestContentException):
        client.invoke(FunctionName=name, Payload=b"{not json")
    time.sleep(0.3)
    assert not record.exists()


def test_without_a_runtime_invoke_fails_clearly(bare_cloud: BareCloud, tmp_path: Path) -> None:
    name, record = recorder(bare_cloud, tmp_path)
    client = bare_cloud.aws.client("lambda")
    started = time.monotonic()
    with pytest.raises(
        client.exceptions.ResourceConflictException, match="no local Lambda runtime"
    ):
        client.invoke(FunctionName=name, Payload=b"{}")
    assert 9 < time.monotonic() - started < 15
    assert not record.exists()


def test_function_code_route(bare_cloud: BareCloud) -> None:
    api = LambdaApi(bare_cloud.aws)
    package = zip_of({"app.py": "def handler(e, c):\n    return 1\n", "data/x.txt": "x"})
    name = unique("code")
    deploy(bare_cloud.aws, name, {"app.py": "old"})
    bare_cloud.aws.client("lambda").update_function_code(FunctionName=name, ZipFile=package)
    assert api.function_code(name) == package

    bucket = unique("code-bucket")
    s3 = bare_cloud.aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="fn.zip", Body=package)
    from_s3 = unique("from-s3")
    created = bare_cloud.aws.client("lambda").create_function(
        FunctionName=from_s3,
        Runtime="python3.11",
        Role=bare_cloud.aws.client("lambda").get_function(FunctionName=name)["Configuration"][
            "Role"
        ],
        Handler="app.handler",
        Code={"S3Bucket": bucket, "S3Key": "fn.zip"},
    )
    fetched = api.function_code(created["FunctionArn"])
    assert fetched == package
    assert zipfile.ZipFile(io.BytesIO(fetched)).read("data/x.txt") == b"x"
    with pytest.raises(PrivateApiError, match="HTTP 404"):
        api.function_code(unique("absent"))


def test_mapping_state_route(bare_cloud: BareCloud) -> None:
    api = LambdaApi(bare_cloud.aws)
    client = bare_cloud.aws.client("lambda")
    sqs = bare_cloud.aws.client("sqs")
    queue = sqs.create_queue(QueueName=unique("mapped"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    name = unique("mapped")
    deploy(bare_cloud.aws, name, {"app.py": ""})
    uuid = client.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=name)["UUID"]

    def shown() -> dict[str, Any]:
        mapping = client.get_event_source_mapping(UUID=uuid)
        [listed] = client.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
        fields = ("State", "StateTransitionReason", "LastProcessingResult")
        assert {k: listed.get(k) for k in fields} == {k: mapping.get(k) for k in fields}
        return {k: mapping.get(k) for k in fields}

    assert shown() == {
        "State": "Enabled",
        "StateTransitionReason": "User initiated",
        "LastProcessingResult": None,
    }
    api.report_mapping(uuid, LastProcessingResult="PROBLEM: Function call failed")
    api.report_mapping(uuid, State="Disabled", StateTransitionReason="USER_INITIATED")
    assert shown() == {
        "State": "Disabled",
        "StateTransitionReason": "USER_INITIATED",
        "LastProcessingResult": "PROBLEM: Function call failed",
    }
    client.update_event_source_mapping(UUID=uuid, Enabled=True)  # the user's move wins
    assert shown() == {
        "State": "Enabled",
        "StateTransitionReason": "User initiated",
        "LastProcessingResult": "PROBLEM: Function call failed",
    }
    with pytest.raises(TypeError, match="BatchSize"):
        api.report_mapping(uuid, BatchSize="1")
    with pytest.raises(PrivateApiError, match="HTTP 404"):
        api.report_mapping("00000000-0000-0000-0000-000000000000", LastProcessingResult="OK")
