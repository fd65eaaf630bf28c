"""The function host: runs Lambda functions from their deployment packages in pooled
worker processes (`harness.local.lambda_runtime.worker`), with each function's
configuration, environment, concurrency limit and timeout as the Lambda API reports them.

Hand-written: AWS's own emulators (the runtime interface emulator, SAM CLI) need Docker,
which the local target does without.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from harness.aws import AwsAccess
from harness.local.lambda_runtime.invocation import FunctionError, FunctionNotFound, Invocation
from harness.local.lambda_runtime.lambda_api import LambdaApi

RECHECK_S = 1.0
"""How often a function's configuration is read again (code updates take effect after it)."""
INIT_LIMIT_S = 10.0
"""Lambda's limit on a function's INIT phase (a longer one counts against the timeout)."""
_WORKER = "harness.local.lambda_runtime.worker"


@dataclass(frozen=True)
class _Version:
    """What workers are started with: one function's code and configuration."""

    name: str
    arn: str
    runtime: str
    handler: str
    timeout_s: float
    memory_mb: int
    architecture: str
    variables: dict[str, str]
    code_sha: str
    last_modified: str
    concurrency: int | None

    @classmethod
    def of(cls, answer: dict[str, Any]) -> _Version:
        config = answer["Configuration"]
        return cls(
            name=config["FunctionName"],
            arn=config["FunctionArn"],
            runtime=config.get("Runtime") or "",
            handler=config.get("Handler") or "",
            timeout_s=float(config.get("Timeout") or 3),
            memory_mb=int(config.get("MemorySize") or 128),
            architecture=(config.get("Architectures") or ["x86_64"])[0],
            variables=dict(config.get("Environment", {}).get("Variables") or {}),
            code_sha=config.get("CodeSha256") or "",
            last_modified=config.get("LastModified") or "",
            concurrency=answer.get("Concurrency", {}).get("ReservedConcurrentExecutions"),
        )

    @cached_property
    def code_key(self) -> tuple[Any, ...]:
        """What a worker is started with: a change needs fresh workers (a new limit does not)."""
        variables = tuple(sorted(self.variables.items()))
        return (self.runtime, self.handler, self.timeout_s, self.memory_mb, variables,
                self.code_sha, self.last_modified)  # fmt: skip

    @property
    def code_dir_name(self) -> str:
        sha = re.sub(r"[^A-Za-z0-9_-]", "_", self.code_sha[:12].replace("+", "-").replace("/", "_"))
        return f"{self.name}-{sha}"


@dataclass(frozen=True)
class Outcome:
    """An invocation as the Invoke API reports it."""

    invocation: Invocation
    log: str = ""
    """The invocation's last 4 KB of log, when asked for."""


class _Worker:
    """One worker process (an execution environment) and its two pipes."""

    def __init__(self, version: _Version, code_dir: Path, env: dict[str, str], log: Path) -> None:
        self.version = version
        self.log_path = log
        self.cold = True
        requests_r, self._requests = os.pipe()
        self._responses, responses_w = os.pipe()
        cmd = [
            sys.executable, "-I", "-m", _WORKER,
            "--parent-pid", str(os.getpid()),
            "--requests-fd", str(requests_r),
            "--responses-fd", str(responses_w),
            "--task-root", str(code_dir),
            "--timeout-s", str(version.timeout_s),
            "--spawned-at", repr(time.time()),
        ]  # fmt: skip
        try:
            with open(log, "ab") as out:
                self.proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    pass_fds=(requests_r, responses_w),
                    env=env,
                    cwd=code_dir,
                    start_new_session=True,
                )
        except BaseException:
            for fd in (self._requests, self._responses):
                os.close(fd)
            raise
        finally:
            os.close(requests_r)
            os.close(responses_w)
        self._buffer = bytearray()
        self._poll = select.poll()
        self._poll.register(self._responses, select.POLLIN)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def call(self, request_id: str, event_json: str, arn: str, tail: bool) -> Outcome:
        started = time.monotonic()
        head = json.dumps({"id": request_id, "arn": arn, "tail": tail})
        # The event is spliced in: callers hand it over as JSON already.
        request = memoryview(f'{head[:-1]}, "event": {event_json}}}\n'.encode())
        try:
            while request:
                request = request[os.write(self._requests, request) :]
        except BrokenPipeError:
            return self._exited(request_id, started)
        timeout_s = self.version.timeout_s
        deadline = started + (max(INIT_LIMIT_S, timeout_s) if self.cold else timeout_s)
        while True:
            try:
                line = self._read_line(deadline)
            except EOFError:
                return self._exited(request_id, started)
            if line is None:
                return self._timed_out(request_id, started)
            answer = json.loads(line)
            if "init_ms" not in answer:
                break
            self.cold = False
            started = time.monotonic()  # the timeout counts from the end of INIT
            deadline = started + timeout_s
        error = answer.get("error")
        failure = (
            FunctionError(error["type"], error["message"], tuple(error["trace"])) if error else None
        )
        payload = answer.get("payload") if failure is None else None
        invocation = Invocation(request_id, payload, failure, answer["duration_ms"])
        return Outcome(invocation, answer.get("log", ""))

    def _read_line(self, deadline: float) -> bytes | None:
        """The next answer line; None when the deadline passes first, EOFError if the
        worker is gone."""
        end = self._buffer.find(b"\n")
        while end < 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._poll.poll(remaining * 1000):
                return None
            chunk = os.read(self._responses, 1 << 16)
            if not chunk:
                raise EOFError
            scanned = len(self._buffer)
            self._buffer += chunk
            end = self._buffer.find(b"\n", scanned)
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line

    def _timed_out(self, request_id: str, started: float) -> Outcome:
        self.stop()
        return _timeout(self.version, self.log_path, request_id, time.monotonic() - started)

    def _exited(self, request_id: str, started: float) -> Outcome:
        elapsed = time.monotonic() - started
        try:
            status = self.proc.wait(1.0)
        except subprocess.TimeoutExpired:  # it closed its pipe but lives on
            self.proc.kill()
            status = self.proc.wait()
        if status < 0:
            reason = "signal: " + (signal.strsignal(-status) or str(-status)).lower()
        else:
            reason = f"exit status {status}"
        message = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
        log = _platform_log(
            self.version,
            self.log_path,
            request_id,
            f"{message}\nRuntime.ExitError",
            elapsed,
            "error",
            "Runtime.ExitError",
        )
        failure = FunctionError("Runtime.ExitError", message)
        return Outcome(Invocation(request_id, None, failure, elapsed * 1000), log)

    def stop(self) -> None:
        """Kill the worker now (idle workers hold no state worth a graceful exit)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self._requests >= 0:
            os.close(self._requests)
            os.close(self._responses)
            self._requests = self._responses = -1


def _timeout(version: _Version, log_path: Path, request_id: str, elapsed_s: float) -> Outcome:
    """An invocation of `version` that reached its timeout after `elapsed_s`, as Lambda
    ends and logs it."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    message = f"{now} {request_id} Task timed out after {elapsed_s:.2f} seconds"
    log = _platform_log(version, log_path, request_id, message, elapsed_s, "timeout", None)
    failure = FunctionError("Sandbox.Timedout", message)
    return Outcome(Invocation(request_id, None, failure, elapsed_s * 1000), log)


def _platform_log(
    version: _Version,
    log_path: Path,
    request_id: str,
    line: str,
    elapsed_s: float,
    status: str,
    error_type: str | None,
) -> str:
    """What Lambda logs when an invocation ends without the runtime's help."""
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {elapsed_s * 1000:.2f} ms",
        f"Billed Duration: {int(elapsed_s * 1000) + 1} ms",
        f"Memory Size: {version.memory_mb} MB",
        f"Status: {status}",
    ]
    if error_type:
        fields.append(f"Error Type: {error_type}")
    text = f"{line}\nEND RequestId: {request_id}\n" + "\t".join(fields) + "\n"
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(text)
    return text


@dataclass(eq=False)
class _Function:
    """One function: its current version and its pool of workers."""

    version: _Version
    code_dir: Path
    checked: float
    refreshing: threading.Lock = field(default_factory=threading.Lock)
    cond: threading.Condition = field(default_factory=threading.Condition)
    idle: list[_Worker] = field(default_factory=list)
    busy: int = 0
    deleted: bool = False


class Functions:
    """Runs functions by name or ARN (the `Invoker` protocol); thread-safe."""

    def __init__(self, aws: AwsAccess, run_dir: Path, max_workers_per_function: int = 4) -> None:
        self.aws = aws
        self.run_dir = run_dir
        self.max_workers_per_function = max_workers_per_function
        self._api = LambdaApi(aws)
        self._lambda = aws.client("lambda")
        self._lambda_lock = threading.Lock()
        self._lock = threading.Lock()
        self._functions: dict[str, _Function] = {}
        """By ARN and by every name callers used for it."""
        self._workers: set[_Worker] = set()
        self._closed = False
        self._usage: Counter[str] = Counter()
        self._failing: set[str] = set()
        """Names of the functions whose invocations fail without running (`fail`)."""
        self._hanging: set[str] = set()
        """Names of the functions whose invocations hang until their timeout (`hang`)."""
        self._closing = threading.Event()

    def fail(self, names: Iterable[str], failing: bool) -> None:
        """Fail every invocation of the functions `names`, without running them, until called
        again with `failing` False: the `lambda_errors` fault, as AWS FIS's
        aws:lambda:invocation-error action does with preventExecution."""
        with self._lock:
            if failing:
                self._failing.update(names)
            else:
                self._failing.difference_update(names)

    def hang(self, names: Iterable[str], hanging: bool) -> None:
        """Make every invocation of the functions `names` hang until its timeout and fail
        with Sandbox.Timedout, without running, until called again with `hanging` False: the
        `lambda_timeouts` fault, as AWS FIS's aws:lambda:invocation-add-delay does with a
        startup delay past the function's timeout."""
        with self._lock:
            if hanging:
                self._hanging.update(names)
            else:
                self._hanging.difference_update(names)

    def log_path(self, function_name: str) -> Path:
        """The function's log file (its CloudWatch log group, all streams in one file), in a
        folder made if need be."""
        folder = self.run_dir / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{function_name}.log"

    def invoke(self, function: str, event: Any) -> Invocation:
        return self.run(function, event).invocation

    def run(
        self, function: str, event: Any, *, request_id: str | None = None, tail: bool = False
    ) -> Outcome:
        """Invoke and wait, with the request id to use and, if `tail`, the log's last 4 KB."""
        request_id = request_id or str(uuid.uuid4())
        fn = self._function(function)
        version = fn.version
        if not version.runtime.startswith("python3"):
            message = f"the local Lambda runtime runs Python functions only, not {version.runtime}"
            return Outcome(
                Invocation(request_id, None, FunctionError("Runtime.Unsupported", message), 0.0)
            )
        if version.concurrency == 0:
            throttled = FunctionError("TooManyRequestsException", "Rate Exceeded.")
            return Outcome(Invocation(request_id, None, throttled, 0.0))
        if version.name in self._failing:
            injected = FunctionError("InjectedFault", "the invocation failed on purpose (fault)")
            return Outcome(Invocation(request_id, None, injected, 0.0))
        if version.name in self._hanging:
            started = time.monotonic()
            self._closing.wait(version.timeout_s)
            elapsed_s = time.monotonic() - started
            outcome = _timeout(version, self.log_path(version.name), request_id, elapsed_s)
        else:
            worker = self._acquire(fn)
            try:
                outcome = worker.call(request_id, json.dumps(event), version.arn, tail)
            finally:
                self._release(fn, worker)
        billed_s = math.ceil(outcome.invocation.duration_ms) / 1000  # billed by the ms
        with self._lock:
            self._usage["lambda.request"] += 1
            self._usage[f"lambda.gb_second.{version.architecture}"] += (
                billed_s * version.memory_mb / 1024
            )
        return outcome

    def usage(self) -> dict[str, float]:
        """Invocations run (throttled ones are not billed) and their GB-seconds, as billed."""
        with self._lock:
            return dict(self._usage)

    def close(self) -> None:
        """Kill every worker; invocations still running end with Runtime.ExitError."""
        self._closing.set()  # hanging invocations end now
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            self._workers.clear()
        for worker in workers:
            if worker.alive():
                worker.proc.kill()
        for worker in workers:
            worker.proc.wait()
        for fn in set(self._functions.values()):
            with fn.cond:
                idle, fn.idle = fn.idle, []
            for worker in idle:
                worker.stop()

    # -- configuration ------------------------------------------------------------------

    def _function(self, name: str) -> _Function:
        fn = self._functions.get(name)
        if fn is None:
            return self._load(name)
        if time.monotonic() - fn.checked > RECHECK_S and fn.refreshing.acquire(blocking=False):
            try:
                self._refresh(name, fn)
            finally:
                fn.refreshing.release()
        return fn

    def _get_function(self, name: str) -> _Version:
        try:
            with self._lambda_lock:
                answer = self._lambda.get_function(FunctionName=name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                raise FunctionNotFound(f"no Lambda function {name}") from None
            raise
        return _Version.of(answer)

    def _load(self, name: str) -> _Function:
        version = self._get_function(name)
        code_dir = self._code_dir(version)
        with self._lock:
            fn = self._functions.get(version.arn)
            if fn is None:
                fn = _Function(version, code_dir, time.monotonic())
                self._functions[version.arn] = fn
            self._functions[name] = fn
        return fn

    def _refresh(self, name: str, fn: _Function) -> None:
        """Read the configuration again; new code or settings get fresh workers. If the
        API does not answer, the cached version serves until the next check."""
        try:
            version = self._get_function(name)
            code_dir = (
                fn.code_dir if version.code_key == fn.version.code_key else self._code_dir(version)
            )
        except FunctionNotFound:
            with self._lock:
                for key in [k for k, v in self._functions.items() if v is fn]:
                    del self._functions[key]
            fn.deleted = True
            self._retire(fn, None)
            raise
        except Exception:  # e.g. the emulator busy: keep what we have
            fn.checked = time.monotonic()
            return
        with fn.cond:
            old = fn.version
            fn.version, fn.code_dir, fn.checked = version, code_dir, time.monotonic()
            fn.cond.notify_all()  # the concurrency limit may have grown
        if version.code_key != old.code_key:
            self._retire(fn, version)

    def _code_dir(self, version: _Version) -> Path:
        """The unzipped deployment package (one directory per code version)."""
        target = self.run_dir / "functions" / version.code_dir_name
        if target.is_dir():
            return target
        package = self._api.function_code(version.arn)
        staging = target.with_name(f".{target.name}-{uuid.uuid4().hex}")
        try:
            with zipfile.ZipFile(io.BytesIO(package)) as archive:
                archive.extractall(staging)
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # not a concurrent unzip of the same version
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target

    # -- workers ------------------------------------------------------------------------

    def _limit(self, fn: _Function) -> int:
        reserved = fn.version.concurrency
        return (
            min(reserved, self.max_workers_per_function)
            if reserved
            else self.max_workers_per_function
        )

    def _acquire(self, fn: _Function) -> _Worker:
        """A worker of the function's current version, waiting for a free slot."""
        stale: list[_Worker] = []
        with fn.cond:
            while fn.busy >= self._limit(fn):
                fn.cond.wait()
            fn.busy += 1
            version, code_dir = fn.version, fn.code_dir
            worker = None
            while fn.idle and worker is None:
                candidate = fn.idle.pop()
                if candidate.version.code_key == version.code_key and candidate.alive():
                    worker = candidate
                else:
                    stale.append(candidate)
        self._stop(stale)
        if worker is not None:
            return worker
        try:
            return self._spawn(version, code_dir)
        except BaseException:
            with fn.cond:
                fn.busy -= 1
                fn.cond.notify()
            raise

    def _release(self, fn: _Function, worker: _Worker) -> None:
        with fn.cond:
            fn.busy -= 1
            fn.cond.notify()
            current = worker.version.code_key == fn.version.code_key
            reusable = current and worker.alive() and not (self._closed or fn.deleted)
            if reusable:
                fn.idle.append(worker)
        if not reusable:
            self._stop([worker])

    def _retire(self, fn: _Function, current: _Version | None) -> None:
        """Stop idle workers of versions other than `current` (all of them if None)."""
        key = current.code_key if current else None
        with fn.cond:
            stale = [w for w in fn.idle if w.version.code_key != key]
            fn.idle = [w for w in fn.idle if w.version.code_key == key]
        self._stop(stale)

    def _spawn(self, version: _Version, code_dir: Path) -> _Worker:
        log = self.log_path(version.name)
        with self._lock:
            if self._closed:
                raise RuntimeError("the local Lambda runtime is closed")
            worker = _Worker(version, code_dir, self._environment(version, code_dir), log)
            self._workers.add(worker)
        return worker

    def _stop(self, workers: list[_Worker]) -> None:
        for worker in workers:
            worker.stop()
            with self._lock:
                self._workers.discard(worker)

    def _environment(self, version: _Version, code_dir: Path) -> dict[str, str]:
        """The function's variables, then what Lambda sets (which they cannot override)."""
        stream = datetime.now(UTC).strftime("%Y/%m/%d") + f"/[$LATEST]{uuid.uuid4().hex}"
        minor = version.runtime.removeprefix("python")
        env = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            **version.variables,
            **self.aws.env(sdk_retries=True),
            "AWS_LAMBDA_FUNCTION_NAME": version.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(version.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{version.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{minor}",
            "LAMBDA_TASK_ROOT": str(code_dir),
            "_HANDLER": version.handler,
        }
        return env
