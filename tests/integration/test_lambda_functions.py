"""The function host runs real functions (zips created through the Lambda API on moto) in
worker processes: payloads, context, environment, logs, errors in AWS's words, timeouts,
crashes, code updates, concurrency limits, and no process left behind."""

import io
import math
import os
import re
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from harness.aws import AwsAccess
from harness.local.lambda_runtime.functions import RECHECK_S, Functions
from harness.local.lambda_runtime.invocation import FunctionNotFound
from tests.conftest import BareCloud
from tests.helpers import alive, processes_mentioning, unique
from tests.lambda_support import role_arn

pytestmark = [pytest.mark.slow, pytest.mark.serial]

ECHO = """\
import logging
import os

logger = logging.getLogger("app")


def handler(event, context):
    print("event", event)
    logger.info("not shown: the root logger stays at WARNING")
    logger.warning("multi\\nline")
    return {
        "event": event,
        "pid": os.getpid(),
        "cwd": os.getcwd(),
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "identity": context.identity,
            "client_context": context.client_context,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
        "env": {k: v for k, v in os.environ.items() if k.startswith(("AWS_LAMBDA", "MY_"))}
        | {k: os.environ.get(k) for k in ("LAMBDA_TASK_ROOT", "_HANDLER", "AWS_EXECUTION_ENV",
                                          "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL")},
    }
"""


def deploy(
    aws: AwsAccess,
    name: str,
    files: dict[str, str],
    handler: str = "app.handler",
    **config: Any,
) -> str:
    """Create function `name` from `files` (path in the zip -> source); its ARN."""
    created = aws.client("lambda").create_function(
        FunctionName=name,
        Runtime=config.pop("Runtime", "python3.11"),
        Role=role_arn(aws),
        Handler=handler,
        Code={"ZipFile": zip_of(files)},
        **config,
    )
    return str(created["FunctionArn"])


def zip_of(files: dict[str, str]) -> bytes:
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        for path, source in files.items():
            archive.writestr(path, source)
    return package.getvalue()


def log_of(functions: Functions, name: str) -> str:
    """The function's log as written (\r inside a log event kept)."""
    return functions.log_path(name).read_bytes().decode()


@pytest.fixture
def functions(bare_cloud: BareCloud, tmp_path: Path) -> Iterator[Functions]:
    host = Functions(bare_cloud.aws, tmp_path / "run")
    yield host
    host.close()
    assert processes_mentioning(str(tmp_path)) == []


def test_invocations_get_the_event_context_and_environment_and_are_logged(
    bare_cloud: BareCloud, functions: Functions
) -> None:
    name = unique("echo")
    arn = deploy(
        bare_cloud.aws, name, {"app.py": ECHO}, MemorySize=256,
        Environment={"Variables": {"MY_SETTING": "on"}},
    )  # fmt: skip
    first = functions.invoke(name, {"n": 1, "s": "é"})
    second = functions.invoke(arn, {"n": 2})

    assert first.ok and second.ok, (first.error, second.error)
    assert first.payload["event"] == {"n": 1, "s": "é"}
    assert second.payload["event"] == {"n": 2}
    assert second.payload["pid"] == first.payload["pid"]  # a warm start: same worker
    context = first.payload["context"]
    remaining = context.pop("remaining_ms")
    assert 2000 < remaining <= 3000
    code_dir = first.payload["env"]["LAMBDA_TASK_ROOT"]
    stream = context["log_stream_name"]
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", stream)
    assert context == {
        "function_name": name,
        "function_version": "$LATEST",
        "invoked_function_arn": arn,
        "memory_limit_in_mb": "256",
        "aws_request_id": first.request_id,
        "log_group_name": f"/aws/lambda/{name}",
        "log_stream_name": stream,
        "identity": None,
        "client_context": None,
    }
    assert first.payload["cwd"] == code_dir
    assert Path(code_dir).parent == functions.run_dir / "functions"
    assert Path(code_dir, "app.py").read_text() == ECHO
    assert first.payload["env"] == {
        "MY_SETTING": "on",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "LAMBDA_TASK_ROOT": code_dir,
        "_HANDLER": "app.handler",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": bare_cloud.aws.endpoint_url,
    }
    assert 0 < first.duration_ms < 1000

    lines = log_of(functions, name).split("\n")[:-1]  # \r stays in its line
    one, two = first.request_id, second.request_id
    assert lines[0] == f"START RequestId: {one} Version: $LATEST"
    assert lines[1] == "event {'n': 1, 's': 'é'}"
    assert re.fullmatch(
        rf"\[WARNING\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{one}\tmulti\rline", lines[2]
    )
    assert lines[3] == f"END RequestId: {one}"
    assert re.fullmatch(
        rf"REPORT RequestId: {one}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 256 MB\tMax Memory Used: \d+ MB\tInit Duration: \d+\.\d\d ms\t",
        lines[4],
    )
    assert lines[5] == f"START RequestId: {two} Version: $LATEST"
    assert re.fullmatch(
        rf"REPORT RequestId: {two}\tDuration: \d+\.\d\d ms\tBilled Duration: \d+ ms\t"
        r"Memory Size: 256 MB\tMax Memory Used: \d+ MB\t",
        lines[9],
    )
    assert len(lines) == 10


def test_handlers_in_folders_and_packages_and_the_log_tail(
    bare_cloud: BareCloud, functions: Functions
) -> None:
    files = {
        "src/handlers/main.py": "def run(event, context):\n    return ['folder', event]\n",
        "pkg/__init__.py": "",
        "pkg/mod.py": "def fn(event, context):\n    print('in pkg')\n    return 'package'\n",
    }
    in_folder = unique("folder")
    deploy(bare_cloud.aws, in_folder, files, handler="src/handlers/main.run")
    in_package = unique("package")
    deploy(bare_cloud.aws, in_package, files, handler="pkg.mod.fn")

    assert functions.invoke(in_folder, 7).payload == ["folder", 7]
    outcome = functions.run(in_package, {}, request_id="req-1", tail=True)
    assert outcome.invocation.payload == "package"
    assert outcome.invocation.request_id == "req-1"
    assert outcome.log.startswith("START RequestId: req-1 Version: $LATEST\nin pkg\nEND RequestId")
    assert outcome.log.endswith("\t\n") and "REPORT RequestId: req-1\t" in outcome.log


ERRORS = """\
import decimal


class OrderRejected(Exception):
    pass


def check(event):
    if event == "raise":
        raise OrderRejected("order 7 rejected")


def handler(event, context):
    check(event)
    if event == "set":
        return {1, 2}
    return {"price": decimal.Decimal("1.25")}
"""


def test_errors_are_reported_in_awss_words(bare_cloud: BareCloud, functions: Functions) -> None:
    name = unique("errors")
    deploy(bare_cloud.aws, name, {"app.py": ERRORS})

    raised = functions.invoke(name, "raise").error
    assert raised is not None
    assert (raised.error_type, raised.message) == ("OrderRejected", "order 7 rejected")
    code = functions.run_dir / "functions"
    assert [re.sub(r"\"/.*/functions/[^/]+/", '"', line) for line in raised.stack_trace] == [
        '  File "app.py", line 14, in handler\n    check(event)\n',
        '  File "app.py", line 10, in check\n    raise OrderRejected("order 7 rejected")\n',
    ]
    assert str(code) in raised.stack_trace[0]
    marshal = functions.invoke(name, "set").error
    assert marshal is not None and marshal.error_type == "Runtime.MarshalError"
    assert (
        marshal.message == "Unable to marshal response: Object of type set is not JSON serializable"
    )
    assert functions.invoke(name, "ok").payload == {"price": 1.25}  # Decimals are numbers

    log = log_of(functions, name)
    assert (
        "[ERROR] OrderRejected: order 7 rejected\rTraceback (most recent call last):\r"
        '  File "' in log
    )


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        ({"app.py": ""}, "missing.handler", "Runtime.ImportModuleError",
         "Unable to import module 'missing': No module named 'missing'"),
        ({"app.py": "import not_installed_anywhere\n"}, "app.handler", "Runtime.ImportModuleError",
         "Unable to import module 'app': No module named 'not_installed_anywhere'"),
        ({"app.py": "x = 1\n"}, "app.handler", "Runtime.HandlerNotFound",
         "Handler 'handler' missing on module 'app'"),
        ({"app.py": "def handler(event, context)\n    return 1\n"}, "app.handler",
         "Runtime.UserCodeSyntaxError",
         "Syntax error in module 'app': expected ':' (app.py, line 1)"),
        ({"app.py": "raise KeyError('CONFIG')\n"}, "app.handler", "KeyError", "'CONFIG'"),
        ({"app.py": ""}, "app", "Runtime.MalformedHandlerName",
         "Bad handler 'app': not enough values to unpack (expected 2, got 1)"),
    ],
)  # fmt: skip
def test_functions_that_cannot_start(
    bare_cloud: BareCloud,
    functions: Functions,
    files: dict[str, str],
    handler: str,
    error_type: str,
    message: str,
) -> None:
    name = unique("broken")
    deploy(bare_cloud.aws, name, files, handler=handler)
    for _ in range(2):  # every invocation tries the INIT phase again, as on AWS
        error = functions.invoke(name, {}).error
        assert error is not None
        assert (error.error_type, error.message) == (error_type, message)
    log = log_of(functions, name)
    assert log.count(f"[ERROR] {error_type}: {message}") == 2
    assert log.count("Init Duration") == 2


def test_unsupported_runtimes_throttling_and_unknown_functions(
    bare_cloud: BareCloud, functions: Functions
) -> None:
    node = unique("node")
    deploy(bare_cloud.aws, node, {"index.js": ""}, handler="index.handler", Runtime="nodejs20.x")
    error = functions.invoke(node, {}).error
    assert error is not None
    assert (error.error_type, error.message) == (
        "Runtime.Unsupported",
        "the local Lambda runtime runs Python functions only, not nodejs20.x",
    )
    stopped = unique("stopped")
    deploy(bare_cloud.aws, stopped, {"app.py": ECHO})
    bare_cloud.aws.client("lambda").put_function_concurrency(
        FunctionName=stopped, ReservedConcurrentExecutions=0
    )
    throttled = functions.invoke(stopped, {}).error
    assert throttled is not None and throttled.error_type == "TooManyRequestsException"
    with pytest.raises(FunctionNotFound):
        functions.invoke(unique("nothing"), {})
    assert functions.usage() == {}  # nothing ran: nothing is billed

    deleted = unique("deleted")
    deploy(bare_cloud.aws, deleted, {"app.py": SLOW})
    ran = functions.invoke(deleted, "pid")
    pid = ran.payload
    billed = math.ceil(ran.duration_ms) / 1000 * 128 / 1024  # ms rounded up, 128 MB
    assert functions.usage() == {"lambda.request": 1, "lambda.gb_second.x86_64": billed}
    bare_cloud.aws.client("lambda").delete_function(FunctionName=deleted)
    time.sleep(RECHECK_S + 0.1)
    with pytest.raises(FunctionNotFound):
        functions.invoke(deleted, "pid")
    assert not alive(pid)


SLOW = """\
import os
import signal
import time


def handler(event, context):
    if event == "sleep":
        time.sleep(30)
    if event == "exit":
        os._exit(3)
    if event == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    return os.getpid()
"""


def test_timeouts_and_crashes_end_the_worker(bare_cloud: BareCloud, functions: Functions) -> None:
    name = unique("slow")
    deploy(bare_cloud.aws, name, {"app.py": SLOW}, Timeout=1)
    pid = functions.invoke(name, "pid").payload

    started = time.monotonic()
    timed_out = functions.invoke(name, "sleep")
    assert 1.0 <= time.monotonic() - started < 3
    error = timed_out.error
    assert error is not None and error.error_type == "Sandbox.Timedout"
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z {timed_out.request_id} "
        r"Task timed out after 1\.\d\d seconds",
        error.message,
    )
    assert not alive(pid)
    fresh = functions.invoke(name, "pid").payload
    assert fresh != pid

    exited = functions.invoke(name, "exit")
    assert exited.error is not None and exited.error.error_type == "Runtime.ExitError"
    assert exited.error.message == (
        f"RequestId: {exited.request_id} Error: Runtime exited with error: exit status 3"
    )
    crashed = functions.invoke(name, "segfault")
    assert crashed.error is not None
    assert crashed.error.message == (
        f"RequestId: {crashed.request_id} Error: Runtime exited with error: "
        "signal: segmentation fault"
    )
    assert functions.invoke(name, "pid").ok

    log = log_of(functions, name)
    assert f"{error.message}\nEND RequestId: {timed_out.request_id}\n" in log
    assert re.search(
        rf"REPORT RequestId: {timed_out.request_id}\tDuration: 1\d\d\d\.\d\d ms\t"
        r".*\tStatus: timeout",
        log,
    )
    assert f"{exited.error.message}\nRuntime.ExitError\nEND RequestId: {exited.request_id}" in log


def test_code_and_configuration_updates_take_effect(
    bare_cloud: BareCloud, functions: Functions
) -> None:
    name = unique("versions")
    source = (
        "import os\n"
        "def handler(event, context):\n"
        "    return [{v!r}, os.getpid(), os.environ.get('V')]\n"
    )
    deploy(bare_cloud.aws, name, {"app.py": source.format(v=1)})
    version, old_pid, variable = functions.invoke(name, {}).payload
    assert (version, variable) == (1, None)

    client = bare_cloud.aws.client("lambda")
    client.update_function_code(FunctionName=name, ZipFile=zip_of({"app.py": source.format(v=2)}))
    time.sleep(RECHECK_S + 0.1)
    version, new_pid, variable = functions.invoke(name, {}).payload
    assert (version, variable) == (2, None)
    assert new_pid != old_pid and not alive(old_pid)  # the old idle worker was stopped

    client.update_function_configuration(FunctionName=name, Environment={"Variables": {"V": "x"}})
    time.sleep(RECHECK_S + 0.1)
    assert functions.invoke(name, {}).payload[::2] == [2, "x"]
    assert len(list((functions.run_dir / "functions").glob(f"{name}-*"))) == 2


PARALLEL = """\
import os
import time


def handler(event, context):
    time.sleep(0.4)
    return [event, os.getpid()]
"""


def test_concurrency_is_limited_and_workers_are_reused(
    bare_cloud: BareCloud, tmp_path: Path
) -> None:
    reserved = unique("reserved")
    deploy(bare_cloud.aws, reserved, {"app.py": PARALLEL})
    bare_cloud.aws.client("lambda").put_function_concurrency(
        FunctionName=reserved, ReservedConcurrentExecutions=2
    )
    unlimited = unique("unlimited")
    deploy(bare_cloud.aws, unlimited, {"app.py": PARALLEL})
    functions = Functions(bare_cloud.aws, tmp_path / "run", max_workers_per_function=3)
    try:
        with ThreadPoolExecutor(12) as pool:
            started = time.monotonic()
            limited = list(pool.map(lambda n: functions.invoke(reserved, n), range(6)))
            limited_s = time.monotonic() - started
            started = time.monotonic()
            capped = list(pool.map(lambda n: functions.invoke(unlimited, n), range(6)))
            capped_s = time.monotonic() - started
        assert [i.payload[0] for i in limited] == list(range(6))
        assert [i.payload[0] for i in capped] == list(range(6))
        assert len({i.payload[1] for i in limited}) == 2 and limited_s >= 3 * 0.4
        assert len({i.payload[1] for i in capped}) == 3 and capped_s >= 2 * 0.4
        assert len(processes_mentioning(str(tmp_path))) == 5
    finally:
        functions.close()
    assert processes_mentioning(str(tmp_path)) == []


S3_WRITER = """\
import os
import boto3


def handler(event, context):
    boto3.client("s3").put_object(
        Bucket=os.environ["BUCKET"], Key=event["key"], Body=context.aws_request_id.encode()
    )
    import helper_from_pythonpath
    return helper_from_pythonpath.VALUE
"""


def test_handlers_reach_the_emulated_api_and_honour_pythonpath(
    bare_cloud: BareCloud, functions: Functions, tmp_path: Path
) -> None:
    bucket = unique("fn-bucket")
    s3 = bare_cloud.aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "helper_from_pythonpath.py").write_text("VALUE = 'from PYTHONPATH'\n")
    name = unique("writer")
    variables = {"BUCKET": bucket, "PYTHONPATH": str(extra), "PYTHONHOME": "/nowhere"}
    deploy(bare_cloud.aws, name, {"app.py": S3_WRITER}, Environment={"Variables": variables})

    invocation = functions.invoke(name, {"key": "out.txt"})
    assert invocation.payload == "from PYTHONPATH", invocation.error
    body = s3.get_object(Bucket=bucket, Key="out.txt")["Body"].read()
    assert body == invocation.request_id.encode()


HOST_SCRIPT = """\
import sys
from pathlib import Path
from harness.local.lambda_runtime.functions import Functions
from harness.aws import AwsAccess

aws = AwsAccess("us-east-1", sys.argv[1], {"AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test"}, max_attempts=1)
print(Functions(aws, Path(sys.argv[2])).invoke(sys.argv[3], "pid").payload, flush=True)
sys.stdin.read()
"""


def test_workers_die_with_their_host(bare_cloud: BareCloud, tmp_path: Path) -> None:
    name = unique("orphan")
    deploy(bare_cloud.aws, name, {"app.py": SLOW})
    assert bare_cloud.aws.endpoint_url
    args = [bare_cloud.aws.endpoint_url, str(tmp_path / "run"), name]
    host = subprocess.Popen(
        [sys.executable, "-c", HOST_SCRIPT, *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ},
    )  # fmt: skip
    try:
        assert host.stdout is not None
        pid = int(host.stdout.readline())
        assert alive(pid)
    finally:
        host.kill()
        host.wait()
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)


def test_many_threads_invoke_one_function(bare_cloud: BareCloud, functions: Functions) -> None:
    name = unique("threads")
    deploy(bare_cloud.aws, name, {"app.py": "def handler(event, context):\n    return event * 2\n"})
    results: dict[int, Any] = {}

    def caller(first: int) -> None:
        for n in range(first, first + 25):
            results[n] = functions.invoke(name, n).payload

    threads = [threading.Thread(target=caller, args=(k * 25,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: 2 * n for n in range(200)}
