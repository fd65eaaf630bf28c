"""The local Lambda runtime: runs every enabled event-source mapping Terraform created, and
every invocation asked for through the Lambda API, with the functions' own code.

A control loop lists the mappings about twice a second. An enabled mapping gets a poller
for its kind of source; a changed configuration replaces the poller (stream pollers resume
from the old one's checkpoints); a disabled or deleted mapping stops it. A mapping whose
function cannot run (e.g. its handler does not import) stops and is listed in `failures`
until the function's code or configuration changes. A stream mapping whose function keeps
failing one batch (`LambdaTiming.stalled_after_s`) goes on retrying as AWS does, and is
listed in `failures` until a batch succeeds. The mapping's LastProcessingResult
shows what the poller last saw, as on AWS.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

from harness.aws import AwsAccess
from harness.local.control_loop import ControlLoop
from harness.local.lambda_runtime.functions import Functions
from harness.local.lambda_runtime.invoke_server import InvokeServer
from harness.local.lambda_runtime.lambda_api import LambdaApi
from harness.local.lambda_runtime.pollers.base import MappingContext, Poller
from harness.local.lambda_runtime.pollers.dynamodb import DynamoDBStreamPoller
from harness.local.lambda_runtime.pollers.kafka import KafkaPoller
from harness.local.lambda_runtime.pollers.kinesis import KinesisPoller
from harness.local.lambda_runtime.pollers.sqs import SqsPoller
from harness.local.lambda_runtime.timing import LambdaTiming
from harness.local.private_api import PrivateApiError

_DISCOVER_S = 0.5
_ACTIVE_STATES = {"Creating", "Enabling", "Enabled", "Updating"}
_MAPPING = "Lambda mapping "
"""How a mapping's failures are named: "Lambda mapping <function> <- <source>"."""
_VOLATILE = {"State", "StateTransitionReason", "LastProcessingResult", "LastModified"}
"""Mapping fields that change without changing what the poller must do."""


def poller_class(mapping: dict[str, Any]) -> type[Poller]:
    """The poller for a mapping's event source (SQS, Kinesis, DynamoDB Streams, Kafka)."""
    if "SelfManagedEventSource" in mapping:
        return KafkaPoller
    service = str(mapping.get("EventSourceArn", "")).split(":")[2:3]
    kinds: dict[str, type[Poller]] = {
        "sqs": SqsPoller,
        "kinesis": KinesisPoller,
        "dynamodb": DynamoDBStreamPoller,
        "kafka": KafkaPoller,
    }
    if not service or service[0] not in kinds:
        raise ValueError(f"unsupported event source {mapping.get('EventSourceArn')!r}")
    return kinds[service[0]]


class _Running:
    """A mapping's poller and what it was started from."""

    def __init__(self, poller: Poller, config: dict[str, Any], function: tuple[str, str]) -> None:
        self.poller = poller
        self.config = config
        self.function = function


class LambdaRuntime(ControlLoop):
    title = "Lambda runtime"
    serves = "lambda"

    def __init__(self, aws: AwsAccess, run_dir: Path, timing: LambdaTiming | None = None) -> None:
        super().__init__("lambda-runtime", _DISCOVER_S)
        self.aws = aws
        self.timing = timing or LambdaTiming()
        self.functions = Functions(aws, run_dir)
        self._invoke_server = InvokeServer(aws, self.functions)
        self._api = LambdaApi(aws)
        self._running: dict[str, _Running] = {}
        self._failed: dict[str, tuple[str, str]] = {}
        """Failed mapping UUID -> the function version (CodeSha256, LastModified) it failed on."""
        self._reported: dict[str, str] = {}
        self._lock = threading.Lock()
        self._client: Any = None

    def usage(self) -> dict[str, float]:
        return self.functions.usage()

    def failures(self) -> dict[str, str]:
        """What cannot run (mappings, invocations, destinations), by name: one-line reason."""
        return {**super().failures(), **self._invoke_server.failures}

    def start(self) -> None:
        self._invoke_server.start()
        super().start()

    def connect(self) -> None:
        self._client = self.aws.client("lambda")

    def stopped(self) -> None:
        for running in self._running.values():
            running.poller.stop()
        self._running.clear()
        self._invoke_server.stop()
        self.functions.close()

    def step(self) -> None:
        client = self._client
        functions = {
            f["FunctionArn"]: (f.get("CodeSha256", ""), f.get("LastModified", ""))
            for page in client.get_paginator("list_functions").paginate()
            for f in page["Functions"]
        }
        mappings = {
            m["UUID"]: m
            for page in client.get_paginator("list_event_source_mappings").paginate()
            for m in page["EventSourceMappings"]
        }
        for uuid in list(self._running):
            mapping = mappings.get(uuid)
            if mapping is None or mapping.get("State") not in _ACTIVE_STATES:
                self._running.pop(uuid).poller.stop()
        self._forget_deleted(mappings)
        for mapping in mappings.values():
            if mapping.get("State") in _ACTIVE_STATES:
                self._ensure(mapping, functions.get(mapping["FunctionArn"], ("", "")))

    def _ensure(self, mapping: dict[str, Any], function: tuple[str, str]) -> None:
        uuid = mapping["UUID"]
        config = {k: v for k, v in mapping.items() if k not in _VOLATILE}
        if self._failed.get(uuid) == function:
            return  # failed on this very function version: wait for a change
        running = self._running.get(uuid)
        if running is not None:
            if running.config == config and running.function == function:
                return
            running.poller.stop()
        self._failed.pop(uuid, None)
        self._failures.pop(self._describe(mapping), None)
        checkpoints = getattr(running.poller, "checkpoints", None) if running else None
        resume = checkpoints() if checkpoints else None
        try:
            cls = poller_class(mapping)
        except ValueError as exc:
            self._fail(mapping, function, str(exc))
            return
        ctx = MappingContext(
            mapping=mapping,
            functions=self.functions,
            aws=self.aws,
            timing=self.timing,
            report=lambda result: self._report(uuid, result),
            fail=lambda reason: self._fail(mapping, function, reason),
            limit=self._limit,
            stalled=lambda reason: self._stall(mapping, reason),
        )
        poller = cls(ctx, resume=resume) if resume is not None else cls(ctx)
        self._running[uuid] = _Running(poller, config, function)
        poller.start()

    def _forget_deleted(self, mappings: dict[str, dict[str, Any]]) -> None:
        """A deleted mapping's failure goes with it (its deployment was destroyed): it is
        no later run's failure."""
        live = {self._describe(m) for m in mappings.values()}
        with self._lock:
            for uuid in [u for u in self._failed if u not in mappings]:
                del self._failed[uuid]
            for name in [n for n in self._failures if n.startswith(_MAPPING) and n not in live]:
                del self._failures[name]

    def _describe(self, mapping: dict[str, Any]) -> str:
        function = str(mapping["FunctionArn"]).rsplit(":", 1)[-1]
        source = mapping.get("EventSourceArn") or "self-managed Kafka"
        return f"{_MAPPING}{function} <- {source}"

    def _fail(self, mapping: dict[str, Any], function: tuple[str, str], reason: str) -> None:
        with self._lock:
            self._failed[mapping["UUID"]] = function
            self._failures[self._describe(mapping)] = reason

    def _stall(self, mapping: dict[str, Any], reason: str | None) -> None:
        """A mapping that keeps failing shows in `failures` until it moves again; unlike a
        failed one, it goes on polling."""
        with self._lock:
            if reason is None:
                self._failures.pop(self._describe(mapping), None)
            else:
                self._failures[self._describe(mapping)] = reason

    def _limit(self, message: str) -> None:
        with self._lock:
            if message not in self._limits:  # e.g. the Kafka mock's retention
                self._limits.append(message)

    def _report(self, uuid: str, result: str) -> None:
        """LastProcessingResult, sent only when it changes (pollers report every batch)."""
        with self._lock:
            if self._reported.get(uuid) == result:
                return
            self._reported[uuid] = result
        # a mapping deleted meanwhile has nowhere to show it
        with contextlib.suppress(PrivateApiError):
            self._api.report_mapping(uuid, LastProcessingResult=result)
