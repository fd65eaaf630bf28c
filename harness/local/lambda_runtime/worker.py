"""One Lambda execution environment: `python -I -m harness.local.lambda_runtime.worker`.

Hand-written because AWS's runtime interface client (awslambdaric) speaks the Lambda
Runtime API over HTTP to a service that does not exist here; this worker plays its part
(handler import, context, marshalling, error payloads, log lines) over two pipes, with
only the standard library so that nothing but the function's own code is imported.

Requests arrive as JSON lines on `--requests-fd`: {"id", "event", "arn", "tail"}. Answers
go as JSON lines to `--responses-fd`: on a cold start first {"init_ms"}, then {"id",
"payload" | "error", "duration_ms", "log"?}. stdout and stderr are the function's log
file, where START/END/REPORT and the handler's output land as in CloudWatch Logs.
"""

import argparse
import importlib
import io
import json
import logging
import math
import os
import resource
import sys
import threading
import time
import traceback
from collections.abc import Callable
from decimal import Decimal
from typing import Any

_TAIL_BYTES = 4096
_Handler = Callable[[Any, Any], Any]


class _FaultError(Exception):
    """An error the runtime itself reports (import, handler lookup, marshalling)."""

    def __init__(self, error_type: str, message: str, trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


class _LogFile(io.RawIOBase):
    """The log file (fd 1, opened for appending), optionally copying what one invocation
    writes so it can be returned as its log tail."""

    def __init__(self) -> None:
        self.captured: list[bytes] | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        os.write(1, chunk)
        if self.captured is not None:
            self.captured.append(chunk)
        return len(chunk)

    def tail(self) -> str:
        data = b"".join(self.captured or ())
        return data[-_TAIL_BYTES:].decode("utf-8", "replace")


class _Context:
    """The context object Lambda passes to Python handlers."""

    def __init__(self, request_id: str, arn: str, timeout_s: float, env: dict[str, str]) -> None:
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = arn
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.aws_request_id = request_id
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _RequestIdFilter(logging.Filter):
    """Adds the current request id to every record, as Lambda's logging handler does."""

    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


class _OneLineFormatter(logging.Formatter):
    """Lambda's text format; a multi-line message stays one log event (newlines as \\r)."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\r")


def _configure_logging(stream: io.TextIOBase) -> _RequestIdFilter:
    """The root logger as Lambda's Python runtime sets it up: one handler, UTC times,
    `[LEVEL]\\t<time>Z\\t<request id>\\t<message>`, level left at Python's WARNING."""
    handler = logging.StreamHandler(stream)
    formatter = _OneLineFormatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    request_ids = _RequestIdFilter()
    handler.addFilter(request_ids)
    logging.getLogger().addHandler(handler)
    return request_ids


def _load_handler(spec: str) -> _Handler:
    """Import `module.function` ("file.fn", "dir/file.fn", "pkg.mod.fn") as Lambda does."""
    try:
        module_name, function_name = spec.rsplit(".", 1)
    except ValueError as exc:
        raise _FaultError("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {exc}") from None
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        message = f"Unable to import module '{module_name}': {exc}"
        raise _FaultError("Runtime.ImportModuleError", message) from None
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {(exc.text or "").strip()}\n']
        message = f"Syntax error in module '{module_name}': {exc}"
        raise _FaultError("Runtime.UserCodeSyntaxError", message, trace) from None
    handler: _Handler | None = getattr(module, function_name, None)
    if handler is None:
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        raise _FaultError("Runtime.HandlerNotFound", message)
    return handler


def _marshal_default(value: Any) -> Any:
    """Decimals become JSON numbers, as in Lambda's marshaller; anything else fails."""
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else math.nan
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _error(exc: BaseException, skip_frames: int) -> _FaultError:
    if isinstance(exc, _FaultError):
        return exc
    frames = traceback.extract_tb(exc.__traceback__)[skip_frames:]
    return _FaultError(type(exc).__name__, str(exc), traceback.format_list(frames))


def _error_log_line(fault: _FaultError) -> str:
    """How Lambda's Python runtime logs an error: one event, lines joined by \\r."""
    lines = [f"[ERROR] {fault.error_type}: {fault.message}", "Traceback (most recent call last):"]
    lines += [line.rstrip("\n").replace("\n", "\r") for line in fault.trace]
    return "\r".join(lines) + "\n"


class _Runtime:
    def __init__(self, args: argparse.Namespace, log: _LogFile, out: io.TextIOBase) -> None:
        self.env = dict(os.environ)
        self.timeout_s: float = args.timeout_s
        self.spawned_at: float = args.spawned_at
        self.memory_mb = self.env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log = log
        self.out = out
        self.request_ids = _configure_logging(out)
        self.handler: _Handler | None = None
        self.responses = os.fdopen(args.responses_fd, "wb")

    def send(self, message: dict[str, Any]) -> None:
        self.responses.write(json.dumps(message).encode() + b"\n")
        self.responses.flush()

    def write_log(self, text: str) -> None:
        self.out.flush()
        self.log.write(text.encode())

    def init(self) -> tuple[float, _FaultError | None]:
        """Import the handler (the INIT phase, timed from the worker's spawn, interpreter
        start included); its duration in ms and any error."""
        try:
            self.handler = _load_handler(self.env["_HANDLER"])
            fault = None
        except Exception as exc:
            fault = _error(exc, skip_frames=1)
            self.write_log(_error_log_line(fault))
        return (time.time() - self.spawned_at) * 1000, fault

    def invoke(self, request: dict[str, Any]) -> None:
        request_id = str(request["id"])
        self.log.captured = [] if request.get("tail") else None
        init_ms = None
        fault: _FaultError | None = None
        if self.handler is None:
            init_ms, fault = self.init()
            self.send({"init_ms": init_ms})
        self.write_log(f"START RequestId: {request_id} Version: $LATEST\n")
        self.request_ids.request_id = request_id
        started = time.perf_counter()
        payload = None
        if fault is None:
            payload, fault = self._call(request_id, request)
        duration_ms = (time.perf_counter() - started) * 1000
        self.request_ids.request_id = ""
        answer: dict[str, Any] = {"id": request_id, "duration_ms": duration_ms}
        if fault is not None:
            answer["error"] = {"type": fault.error_type, "message": fault.message}
            answer["error"]["trace"] = fault.trace
        report = self._report(request_id, duration_ms, init_ms)
        self.write_log(f"END RequestId: {request_id}\n{report}")
        if self.log.captured is not None:
            answer["log"] = self.log.tail()
            self.log.captured = None
        line = json.dumps(answer)
        if payload is not None:  # already JSON: spliced in rather than encoded twice
            line = f'{line[:-1]}, "payload": {payload}}}'
        self.responses.write(line.encode() + b"\n")
        self.responses.flush()

    def _call(
        self, request_id: str, request: dict[str, Any]
    ) -> tuple[str | None, _FaultError | None]:
        """Run the handler: its result as JSON, or the error Lambda would report."""
        assert self.handler is not None
        context = _Context(request_id, request["arn"], self.timeout_s, self.env)
        try:
            result = self.handler(request["event"], context)
        except Exception as exc:
            fault = _error(exc, skip_frames=1)
        else:
            try:
                return json.dumps(result, default=_marshal_default), None
            except (TypeError, ValueError) as exc:
                fault = _FaultError("Runtime.MarshalError", f"Unable to marshal response: {exc}")
        self.write_log(_error_log_line(fault))
        return None, fault

    def _report(self, request_id: str, duration_ms: float, init_ms: float | None) -> str:
        billed = math.ceil(duration_ms + (init_ms or 0))
        used_mb = math.ceil(_peak_memory_kb() / 1024)
        fields = [
            f"REPORT RequestId: {request_id}",
            f"Duration: {duration_ms:.2f} ms",
            f"Billed Duration: {billed} ms",
            f"Memory Size: {self.memory_mb} MB",
            f"Max Memory Used: {used_mb} MB",
        ]
        if init_ms is not None:
            fields.append(f"Init Duration: {init_ms:.2f} ms")
        return "\t".join(fields) + "\t\n"


def _peak_memory_kb() -> int:
    """This process's peak resident memory. ru_maxrss would do, but Linux carries it
    over from the forking parent across exec; VmHWM starts afresh."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _exit_with_parent(parent_pid: int) -> None:
    """A worker never outlives the runtime that started it, even inside a long handler."""
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(0)


def _python_path(task_root: str) -> None:
    """sys.path as in Lambda: the code first, then PYTHONPATH (which `-I` made Python ignore)."""
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:0] = [task_root, *extra]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--requests-fd", type=int, required=True)
    parser.add_argument("--responses-fd", type=int, required=True)
    parser.add_argument("--task-root", required=True)
    parser.add_argument("--timeout-s", type=float, required=True)
    parser.add_argument("--spawned-at", type=float, required=True, help="epoch seconds")
    args = parser.parse_args()

    threading.Thread(target=_exit_with_parent, args=(args.parent_pid,), daemon=True).start()
    _python_path(args.task_root)
    os.chdir(args.task_root)
    log = _LogFile()
    out = io.TextIOWrapper(io.BufferedWriter(log), line_buffering=True, errors="replace")
    sys.stdout = sys.stderr = out
    runtime = _Runtime(args, log, out)
    requests = os.fdopen(args.requests_fd, "rb")
    for line in requests:
        runtime.invoke(json.loads(line))
    out.flush()
    # A handler may leave non-daemon threads behind; they must not keep the worker alive.
    os._exit(0)


if __name__ == "__main__":
    main()
