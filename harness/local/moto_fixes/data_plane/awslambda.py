"""Lambda: moto never runs functions itself; the local Lambda runtime does.

moto delivers to mapped functions and runs Invoke itself, through Docker. Here its delivery
is off (the sources keep their records for the runtime's pollers) and Invoke calls are
queued for the runtime, which takes them through private routes (client side:
`harness.local.lambda_runtime.lambda_api`):
- GET  /cdcbench/lambda/invocations: Invoke calls waiting for a runtime (long poll);
- POST /cdcbench/lambda/invocations/<id>: the outcome of one, answered to its caller.
"""

import base64
import json
import threading
import time
import uuid
from collections import deque
from typing import Any
from urllib.parse import unquote

from harness.local.moto_fixes.guard import fix
from harness.local.moto_fixes.routes import (
    Response,
    error_answer,
    json_answer,
    path_part,
    query_float,
)

NO_RUNTIME_S = 10.0
"""An Invoke call fails when no runtime has taken it (or polled since taking it) this long."""


class _NoMappings(dict[str, Any]):
    """A resource's event-source mappings as moto's data plane sees them: always none."""

    def __setitem__(self, key: str, value: Any) -> None:
        pass


@fix(
    "moto.sqs.models.Queue().lambda_event_source_mappings",
    "moto.dynamodb.models.table.Table().lambda_event_source_mappings",
    "moto.kinesis.models.Stream().lambda_event_source_mappings",
)
def no_moto_delivery() -> None:
    # moto runs mapped functions itself, through Docker: with none here the invoke fails,
    # SQS messages are received (hidden) and a DynamoDB stream's records are dropped. The
    # mappings stay in the Lambda API; the local Lambda runtime is what runs them.
    from moto.dynamodb.models.table import Table
    from moto.kinesis.models import Stream
    from moto.sqs.models import Queue

    none = property(lambda self: _NoMappings(), lambda self, value: None)
    for cls in (Queue, Table, Stream):
        cls.lambda_event_source_mappings = none


class _Call:
    """One Invoke request, queued until the runtime takes it."""

    def __init__(
        self, function_arn: str, payload: str, kind: str, log_type: str, config: Any
    ) -> None:
        self.id = str(uuid.uuid4())
        self.function_arn = function_arn
        self.payload = payload
        self.kind = kind
        self.log_type = log_type
        self.event_invoke_config = config
        self.queued_at = time.time()
        self.queued_mono = time.monotonic()
        self.taken = False
        self.done = threading.Event()
        self.outcome: dict[str, Any] = {}

    def describe(self) -> dict[str, Any]:
        return {
            "Id": self.id,
            "FunctionArn": self.function_arn,
            "Payload": self.payload,
            "InvocationType": self.kind,
            "LogType": self.log_type,
            "EventInvokeConfig": self.event_invoke_config,
            "QueuedAt": self.queued_at,
        }


class _Calls:
    """Invoke calls between moto's request threads and the runtime's long polls."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queued: deque[_Call] = deque()
        self._running: dict[str, _Call] = {}
        self._last_poll = -NO_RUNTIME_S

    def submit(self, call: _Call) -> None:
        with self._cond:
            self._queued.append(call)
            self._cond.notify_all()

    def take(self, wait_s: float) -> list[_Call]:
        with self._cond:
            self._last_poll = time.monotonic()
            if not self._queued:
                self._cond.wait(wait_s)
            calls = list(self._queued)
            self._queued.clear()
            for call in calls:
                call.taken = True
                if call.kind != "Event":
                    self._running[call.id] = call
            self._last_poll = time.monotonic()
            return calls

    def finish(self, call_id: str, outcome: dict[str, Any]) -> bool:
        with self._cond:
            call = self._running.pop(call_id, None)
        if call is None:
            return False
        call.outcome = outcome
        call.done.set()
        return True

    def wait(self, call: _Call) -> bool:
        """Wait for the call's outcome; False if no runtime is there to give one."""
        while not call.done.wait(0.5):
            with self._cond:
                now = time.monotonic()
                if call.taken and now - self._last_poll > NO_RUNTIME_S:
                    self._running.pop(call.id, None)
                    return False
                if not call.taken and now - call.queued_mono > NO_RUNTIME_S:
                    self._queued.remove(call)
                    return False
        return True


CALLS = _Calls()


@fix(
    "moto.awslambda.urls.url_paths",
    "moto.awslambda.responses.LambdaResponse.invoke",
    "moto.awslambda.responses.LambdaResponse.invoke_async",
    "moto.awslambda.responses.LambdaResponse.backend",
    "moto.awslambda.responses.LambdaResponse._get_param",
    "moto.awslambda.models.LambdaBackend.get_function",
    "moto.awslambda.models.LambdaFunction().event_invoke_config",
    "moto.awslambda.models.LambdaFunction().function_arn",
)
def invocation_queue() -> None:
    # moto runs Invoke in Docker (or answers canned results); here the runtime runs it.
    from moto.awslambda import responses, urls

    responses.LambdaResponse.invoke = _invoke
    responses.LambdaResponse.invoke_async = _invoke_async
    urls.url_paths.update(
        {
            r"{0}/cdcbench/lambda/invocations$": _take_invocations,
            r"{0}/cdcbench/lambda/invocations/(?P<id>[^/]+)$": _finish_invocation,
        }
    )


def _take_invocations(request: Any, full_url: str, headers: Any) -> Response:
    wait_s = min(query_float(full_url, "wait", 1.0), 20)
    return json_answer({"Invocations": [call.describe() for call in CALLS.take(wait_s)]})


def _finish_invocation(request: Any, full_url: str, headers: Any) -> Response:
    call_id = path_part(full_url, -1)
    if not CALLS.finish(call_id, json.loads(request.data or b"{}")):
        return error_answer(404, "ResourceNotFoundException", f"no invocation {call_id} is waiting")
    return json_answer({})


def _queue(self: Any, function_name: str, kind: str) -> _Call | Response:
    """Queue an Invoke call for the runtime (DryRun only checks the function)."""
    fn = self.backend.get_function(function_name, self._get_param("qualifier"))
    if kind == "DryRun":
        return 204, {"status": 204}, ""
    body = self.body.decode() if isinstance(self.body, bytes) else self.body or "{}"
    try:
        json.loads(body)
    except ValueError as exc:
        message = f"Could not parse request body into json: {exc}"
        return error_answer(400, "InvalidRequestContentException", message)
    config = fn.event_invoke_config[0].config if fn.event_invoke_config else None
    log_type = self.headers.get("X-Amz-Log-Type", "None")
    call = _Call(fn.function_arn, body, kind, log_type, config)
    CALLS.submit(call)
    return call


def _invoke(self: Any) -> Response:
    kind = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
    call = _queue(self, unquote(self.path.rsplit("/", 2)[-2]), kind)
    if not isinstance(call, _Call):
        return call
    if kind == "Event":
        return 202, {"status": 202}, ""
    if not CALLS.wait(call):
        message = (
            f"no local Lambda runtime is running (nothing took this invocation within "
            f"{NO_RUNTIME_S:.0f} s): start the local target's Lambda runtime"
        )
        return error_answer(409, "ResourceConflictException", message)
    outcome = call.outcome
    out_headers: dict[str, Any] = {
        "status": 200,
        "content-type": "application/json",
        "x-amz-executed-version": "$LATEST",
    }
    if outcome.get("Error"):
        out_headers["x-amz-function-error"] = "Unhandled"
    if self.headers.get("X-Amz-Log-Type") == "Tail":
        out_headers["x-amz-log-result"] = base64.b64encode(outcome.get("Log", "").encode()).decode()
    return 200, out_headers, outcome.get("Payload", "null")


def _invoke_async(self: Any) -> Response:
    # The deprecated InvokeAsync API: an Event invocation.
    index = -3 if self.path.endswith("/") else -2
    call = _queue(self, unquote(self.path.rsplit("/", 3)[index]), "Event")
    if not isinstance(call, _Call):
        return call
    return 202, {"status": 202}, json.dumps({"Status": 202})
