"""The Lambda runtime's side of the private routes in `harness.local.moto_fixes`
(`additions.awslambda`, `data_plane.awslambda`): what Lambda keeps but its public API does
not hand out (the deployment package, the invocation queue behind Invoke) and the mapping
state AWS's pollers report."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from harness.aws import AwsAccess
from harness.local.private_api import PrivateApi

_MAPPING_FIELDS = ("State", "StateTransitionReason", "LastProcessingResult")


class LambdaApi:
    """Private Lambda routes of the emulated API (thread-safe)."""

    def __init__(self, aws: AwsAccess) -> None:
        self._api = PrivateApi(aws, "lambda")

    def function_code(self, function: str) -> bytes:
        """The function's deployment package (a zip), by name or ARN."""
        answer = self._api.call(
            f"/cdcbench/lambda/functions/{quote(function, safe='')}/code", method="GET"
        )
        return base64.b64decode(answer["ZipFile"])

    def report_mapping(self, uuid: str, **fields: str) -> dict[str, Any]:
        """Set what GetEventSourceMapping shows, by AWS's field names: State,
        StateTransitionReason, LastProcessingResult (e.g. "OK", "PROBLEM: ..."). The
        mapping's configuration as it now reads; PrivateApiError if it is gone."""
        unknown = sorted(set(fields) - set(_MAPPING_FIELDS))
        if unknown:
            raise TypeError(f"report_mapping takes {list(_MAPPING_FIELDS)}, not {unknown}")
        return self._api.call(f"/cdcbench/lambda/event-source-mappings/{quote(uuid)}", fields)

    def next_invocations(self, wait_s: float) -> list[dict[str, Any]]:
        """Invoke calls queued for a runtime, waiting up to `wait_s` for one to come:
        each {Id, FunctionArn, Payload (JSON text), InvocationType, EventInvokeConfig, QueuedAt}."""
        answer = self._api.call(f"/cdcbench/lambda/invocations?wait={wait_s:g}", method="GET")
        return list(answer["Invocations"])

    def finish_invocation(self, call_id: str, payload: Any, error: bool, log: str) -> None:
        """Answer a RequestResponse call with the function's payload (or error payload)."""
        body = {"Payload": json.dumps(payload), "Error": error, "Log": log}
        self._api.call(f"/cdcbench/lambda/invocations/{quote(call_id)}", body)
