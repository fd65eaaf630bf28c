"""Runs what callers ask of the Lambda API's Invoke: moto queues each call (see
`harness.local.moto_fixes.data_plane.awslambda`), this thread takes them with a long poll,
runs them on the function host and answers RequestResponse calls with the function's payload.

Event (asynchronous) invocations follow Lambda's documented handling: a failed attempt is
retried MaximumRetryAttempts times (2 by default, after about 1 and then 2 more minutes),
throttled attempts are retried with growing delays, events older than
MaximumEventAgeInSeconds are dropped, and an invocation record goes to the OnSuccess or
OnFailure destination (SQS, SNS, Lambda or EventBridge) when one is configured.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from harness.aws import AwsAccess
from harness.local.lambda_runtime.functions import Functions
from harness.local.lambda_runtime.invocation import FunctionError, FunctionNotFound, Invocation
from harness.local.lambda_runtime.lambda_api import LambdaApi

RETRY_DELAYS_S = (60.0, 120.0)
"""Lambda's waits before the second and third attempts of a failed Event invocation."""
_THROTTLE_BACKOFF_S = (1.0, 300.0)
_MAX_EVENT_AGE_S = 21600
_PLATFORM_ERRORS = ("Sandbox.", "Runtime.ExitError", "Runtime.Unsupported", "TooManyRequests")
"""Errors Lambda itself reports, without the runtime's requestId and stackTrace."""


def error_payload(invocation: Invocation) -> dict[str, Any]:
    """The payload Lambda answers a failed invocation with."""
    error = invocation.error
    assert error is not None
    if error.error_type.startswith(_PLATFORM_ERRORS):
        return {"errorMessage": error.message, "errorType": error.error_type}
    payload = error.payload()
    return {
        "errorMessage": payload["errorMessage"],
        "errorType": payload["errorType"],
        "requestId": invocation.request_id,
        "stackTrace": payload["stackTrace"],
    }


class InvokeServer:
    """Takes queued Invoke calls and runs each in its own thread."""

    def __init__(
        self,
        aws: AwsAccess,
        functions: Functions,
        retry_delays_s: tuple[float, float] = RETRY_DELAYS_S,
        poll_wait_s: float = 1.0,
    ) -> None:
        self.aws = aws
        self.functions = functions
        self.retry_delays_s = retry_delays_s
        self.poll_wait_s = poll_wait_s
        self.failures: dict[str, str] = {}
        """What could not be done (a destination that refused a record...), one line each."""
        self._api = LambdaApi(aws)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lambda-invoke", daemon=True)
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop taking calls; pending retries are dropped, running calls end with the
        function host (closing it ends them at once)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                calls = self._api.next_invocations(self.poll_wait_s)
            except Exception as exc:  # the emulator going away at shutdown, mostly
                if not self._stopping.is_set():
                    self.failures["Lambda Invoke"] = f"{type(exc).__name__}: {exc}"
                self._stopping.wait(self.poll_wait_s)
                continue
            for call in calls:
                run = self._run_event if call["InvocationType"] == "Event" else self._run_sync
                threading.Thread(target=run, args=(call,), name="lambda-call", daemon=True).start()

    def _attempt(self, call: dict[str, Any], tail: bool = False) -> tuple[Invocation, str]:
        """Run the call once: the invocation and, if `tail`, its last 4 KB of log."""
        event = json.loads(call["Payload"])
        try:
            outcome = self.functions.run(
                call["FunctionArn"], event, request_id=call["Id"], tail=tail
            )
        except FunctionNotFound as exc:  # deleted since it was called
            error = FunctionError("ResourceNotFoundException", str(exc))
            return Invocation(call["Id"], None, error, 0.0), ""
        return outcome.invocation, outcome.log

    def _run_sync(self, call: dict[str, Any]) -> None:
        invocation, log = self._attempt(call, tail=call.get("LogType") == "Tail")
        payload = error_payload(invocation) if invocation.error else invocation.payload
        try:
            self._api.finish_invocation(call["Id"], payload, invocation.error is not None, log)
        except Exception as exc:  # the caller gave up, or the emulator stopped
            if not self._stopping.is_set():
                self.failures[f"Lambda Invoke {call['Id']}"] = f"{type(exc).__name__}: {exc}"

    def _run_event(self, call: dict[str, Any]) -> None:
        config = call.get("EventInvokeConfig") or {}
        retries = int(config.get("MaximumRetryAttempts", 2))
        max_age_s = float(config.get("MaximumEventAgeInSeconds", _MAX_EVENT_AGE_S))
        attempts, throttle_s = 0, _THROTTLE_BACKOFF_S[0]
        while True:
            if time.time() - call["QueuedAt"] > max_age_s:
                self._deliver(call, config, "EventAgeExceeded", attempts, None)
                return
            invocation, _ = self._attempt(call)
            if invocation.error and invocation.error.error_type == "TooManyRequestsException":
                # Throttles go back to the queue and do not count as attempts.
                if self._stopping.wait(throttle_s):
                    return
                throttle_s = min(2 * throttle_s, _THROTTLE_BACKOFF_S[1])
                continue
            attempts += 1
            if invocation.ok:
                self._deliver(call, config, "Success", attempts, invocation)
                return
            if attempts > retries:
                self._deliver(call, config, "RetriesExhausted", attempts, invocation)
                return
            delay = self.retry_delays_s[min(attempts, len(self.retry_delays_s)) - 1]
            if self._stopping.wait(delay):
                return

    def _deliver(
        self,
        call: dict[str, Any],
        config: dict[str, Any],
        condition: str,
        attempts: int,
        invocation: Invocation | None,
    ) -> None:
        """Send the invocation record to the configured destination, if any."""
        where = "OnSuccess" if condition == "Success" else "OnFailure"
        destination = (config.get("DestinationConfig") or {}).get(where, {}).get("Destination")
        if not destination:
            return
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if invocation is not None and invocation.error:
            response["functionError"] = "Unhandled"
        record = {
            "version": "1.0",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "requestContext": {
                "requestId": call["Id"],
                "functionArn": f"{call['FunctionArn']}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "requestPayload": json.loads(call["Payload"]),
            "responseContext": response,
        }
        if invocation is not None:
            payload = error_payload(invocation) if invocation.error else invocation.payload
            record["responsePayload"] = payload
        service = destination.split(":")[2]
        try:
            send = _SENDERS.get(service)
            if send is None:
                raise ValueError(f"{service} destinations are not supported locally")
            with self._clients_lock:
                if service not in self._clients:
                    self._clients[service] = self.aws.client(service)
                send(self._clients[service], destination, call["FunctionArn"], condition, record)
        except Exception as exc:
            reason = f"cannot send the invocation record to {destination}: {exc}"
            self.failures[f"Lambda destination {destination}"] = reason


def _to_sqs(client: Any, arn: str, function: str, condition: str, record: dict[str, Any]) -> None:
    _, _, _, _, account, name = arn.split(":")
    url = client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
    client.send_message(QueueUrl=url, MessageBody=json.dumps(record))


def _to_sns(client: Any, arn: str, function: str, condition: str, record: dict[str, Any]) -> None:
    client.publish(TopicArn=arn, Message=json.dumps(record))


def _to_lambda(
    client: Any, arn: str, function: str, condition: str, record: dict[str, Any]
) -> None:
    client.invoke(FunctionName=arn, InvocationType="Event", Payload=json.dumps(record).encode())


def _to_events(
    client: Any, arn: str, function: str, condition: str, record: dict[str, Any]
) -> None:
    result = "Success" if condition == "Success" else "Failure"
    entry = {
        "Source": "lambda",
        "DetailType": f"Lambda Function Invocation Result - {result}",
        "Detail": json.dumps(record),
        "EventBusName": arn,
        "Resources": [function, arn],
    }
    client.put_events(Entries=[entry])


_SENDERS: dict[str, Callable[[Any, str, str, str, dict[str, Any]], None]] = {
    "sqs": _to_sqs,
    "sns": _to_sns,
    "lambda": _to_lambda,
    "events": _to_events,
}
"""How an invocation record reaches each kind of destination (S3 ones are not sent)."""
