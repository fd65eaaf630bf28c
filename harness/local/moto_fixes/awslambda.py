"""Lambda: moto never runs functions itself; the local Lambda runtime does.

The runtime reaches what it needs through private routes (client side:
`harness.local.lambda_runtime.lambda_api`):
- GET  /cdcbench/lambda/functions/<name>/code: the deployment package, base64;
- POST /cdcbench/lambda/event-source-mappings/<uuid>: the mapping's State,
  StateTransitionReason and LastProcessingResult, as the runtime sees them;
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
from urllib.parse import parse_qs, unquote, urlparse

NO_RUNTIME_S = 10.0
"""An Invoke call fails when no runtime has taken it (or polled since taking it) this long."""
_MAPPING_FIELDS = ("State", "StateTransitionReason", "LastProcessingResult")
_RESPONSE = tuple[int, dict[str, Any], str | bytes]


class _NoMappings(dict[str, Any]):
    """A resource's event-source mappings as moto's data plane sees them: always none."""

    def __setitem__(self, key: str, value: Any) -> None:
        pass


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


def apply() -> None:
    from moto.awslambda import models, responses, urls

    # moto runs mapped functions itself, through Docker: with none here the invoke fails,
    # SQS messages are received (hidden) and a DynamoDB stream's records are dropped. The
    # mappings stay in the Lambda API; the local Lambda runtime is what runs them.
    from moto.dynamodb.models.table import Table
    from moto.kinesis.models import Stream
    from moto.sqs.models import Queue

    none = property(lambda self: _NoMappings(), lambda self, value: None)
    for cls in (Queue, Table, Stream):
        cls.lambda_event_source_mappings = none

    _report_mapping_state(models)
    _report_reserved_concurrency_zero(models)
    # moto runs Invoke in Docker (or answers canned results); here the runtime runs it.
    responses.LambdaResponse.invoke = _invoke
    responses.LambdaResponse.invoke_async = _invoke_async
    urls.url_paths.update(
        {
            r"{0}/cdcbench/lambda/functions/(?P<name>[^/]+)/code$": _function_code,
            r"{0}/cdcbench/lambda/event-source-mappings/(?P<uuid>[^/]+)$": _mapping_state,
            r"{0}/cdcbench/lambda/invocations$": _take_invocations,
            r"{0}/cdcbench/lambda/invocations/(?P<id>[^/]+)$": _finish_invocation,
        }
    )


def _report_mapping_state(models: Any) -> None:
    mapping_cls = models.EventSourceMapping
    moto_configuration = mapping_cls.get_configuration

    def get_configuration(self: Any) -> dict[str, Any]:
        # moto hard-codes LastProcessingResult None and StateTransitionReason "User
        # initiated"; the runtime reports what it sees, as AWS's pollers do. moto also
        # leaves StartingPositionTimestamp out, which AT_TIMESTAMP mappings need.
        out = moto_configuration(self)
        out.update(getattr(self, "cdcbench_state", {}))
        if self.starting_position_timestamp is not None:
            out["StartingPositionTimestamp"] = self.starting_position_timestamp
        return out

    mapping_cls.get_configuration = get_configuration
    moto_update = models.LambdaBackend.update_event_source_mapping

    def update_event_source_mapping(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
        # Enabling or disabling is the user's move: the state reported before it is stale.
        mapping = moto_update(self, uuid, spec)
        if mapping is not None and "Enabled" in spec:
            state = getattr(mapping, "cdcbench_state", {})
            state.pop("State", None)
            state.pop("StateTransitionReason", None)
        return mapping

    models.LambdaBackend.update_event_source_mapping = update_event_source_mapping


def _report_reserved_concurrency_zero(models: Any) -> None:
    moto_get_code = models.LambdaFunction.get_code

    def get_code(self: Any) -> dict[str, Any]:
        # moto drops a reserved concurrency of 0 (a function that must not run at all).
        out: dict[str, Any] = moto_get_code(self)
        if self.reserved_concurrency is not None:
            reserved = int(self.reserved_concurrency)
            out["Concurrency"] = {"ReservedConcurrentExecutions": reserved}
        return out

    models.LambdaFunction.get_code = get_code


def _backend(request: Any, full_url: str, headers: Any) -> Any:
    from moto.awslambda.responses import LambdaResponse

    response = LambdaResponse()
    response.setup_class(request, full_url, headers)
    return response.backend


def _json(body: Any, status: int = 200) -> _RESPONSE:
    return status, {"status": status, "content-type": "application/json"}, json.dumps(body)


def _error(status: int, error_type: str, message: str) -> _RESPONSE:
    body = json.dumps({"Type": "User", "message": message})
    return status, {"status": status, "x-amzn-errortype": error_type}, body


def _path_part(full_url: str, index: int) -> str:
    return unquote(urlparse(full_url).path.rstrip("/").split("/")[index])


def _function_code(request: Any, full_url: str, headers: Any) -> _RESPONSE:
    """The zip moto keeps (copied from S3 too); GetFunction's Code.Location is not fetchable."""
    from moto.awslambda.exceptions import UnknownFunctionException

    try:
        fn = _backend(request, full_url, headers).get_function(_path_part(full_url, -2))
    except UnknownFunctionException as exc:
        return _error(404, "ResourceNotFoundException", exc.message)
    return _json(
        {"ZipFile": base64.b64encode(fn.code_bytes).decode(), "CodeSha256": fn.code_sha_256}
    )


def _mapping_state(request: Any, full_url: str, headers: Any) -> _RESPONSE:
    uuid_ = _path_part(full_url, -1)
    mapping = _backend(request, full_url, headers).get_event_source_mapping(uuid_)
    if mapping is None:
        return _error(404, "ResourceNotFoundException", f"Event source mapping {uuid_} not found")
    fields = json.loads(request.data or b"{}")
    unknown = sorted(set(fields) - set(_MAPPING_FIELDS))
    if unknown:
        return _error(400, "InvalidParameterValueException", f"cannot report {unknown}")
    if not hasattr(mapping, "cdcbench_state"):
        mapping.cdcbench_state = {}
    mapping.cdcbench_state.update(fields)
    return _json(mapping.get_configuration())


def _take_invocations(request: Any, full_url: str, headers: Any) -> _RESPONSE:
    wait_s = float(parse_qs(urlparse(full_url).query).get("wait", ["1"])[0])
    return _json({"Invocations": [call.describe() for call in CALLS.take(min(wait_s, 20))]})


def _finish_invocation(request: Any, full_url: str, headers: Any) -> _RESPONSE:
    call_id = _path_part(full_url, -1)
    if not CALLS.finish(call_id, json.loads(request.data or b"{}")):
        return _error(404, "ResourceNotFoundException", f"no invocation {call_id} is waiting")
    return _json({})


def _queue(self: Any, function_name: str, kind: str) -> _Call | _RESPONSE:
    """Queue an Invoke call for the runtime (DryRun only checks the function)."""
    fn = self.backend.get_function(function_name, self._get_param("qualifier"))
    if kind == "DryRun":
        return 204, {"status": 204}, ""
    body = self.body.decode() if isinstance(self.body, bytes) else self.body or "{}"
    try:
        json.loads(body)
    except ValueError as exc:
        message = f"Could not parse request body into json: {exc}"
        return _error(400, "InvalidRequestContentException", message)
    config = fn.event_invoke_config[0].config if fn.event_invoke_config else None
    log_type = self.headers.get("X-Amz-Log-Type", "None")
    call = _Call(fn.function_arn, body, kind, log_type, config)
    CALLS.submit(call)
    return call


def _invoke(self: Any) -> _RESPONSE:
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
        return _error(409, "ResourceConflictException", message)
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


def _invoke_async(self: Any) -> _RESPONSE:
    # The deprecated InvokeAsync API: an Event invocation.
    index = -3 if self.path.endswith("/") else -2
    call = _queue(self, unquote(self.path.rsplit("/", 3)[index]), "Event")
    if not isinstance(call, _Call):
        return call
    return 202, {"status": 202}, json.dumps({"Status": 202})
