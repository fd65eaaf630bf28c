"""What every event-source-mapping poller shares: its mapping, the function, its thread."""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.aws import AwsAccess
from harness.local.lambda_runtime.invocation import Invocation, Invoker
from harness.local.lambda_runtime.timing import LambdaTiming

PAYLOAD_LIMIT = 6 * 1024 * 1024
"""Lambda's limit on a synchronous invocation's payload (bytes)."""


def payload_size(part: Any) -> int:
    """Bytes `part` adds to an invocation payload, as an item of a JSON list or object."""
    return len(json.dumps(part, separators=(",", ":"))) + 1  # and the comma after it


THROTTLED = "TooManyRequestsException"
"""The error of an invocation that never reached the function (no concurrency left)."""
_BACKOFF_S = (0.1, 5.0)
"""First and longest wait before retrying a failed batch (doubling in between)."""


def backoff(failures: int) -> float:
    """The wait before the next try of a batch that failed `failures` times before."""
    first, longest = _BACKOFF_S
    return float(min(first * 2**failures, longest))


FATAL_ERRORS = frozenset(
    {
        "Runtime.ImportModuleError",
        "Runtime.HandlerNotFound",
        "Runtime.UserCodeSyntaxError",
        "Runtime.Unsupported",
    }
)
"""Errors no retry can cure: the mapping stops until its function changes."""


@dataclass(frozen=True)
class MappingContext:
    mapping: dict[str, Any]
    """The mapping as GetEventSourceMapping returns it (UUID, EventSourceArn, BatchSize...)."""
    functions: Invoker
    aws: AwsAccess
    timing: LambdaTiming
    report: Callable[[str], None]
    """Set the mapping's LastProcessingResult ("OK", "PROBLEM: ...")."""
    fail: Callable[[str], None]
    """The mapping cannot run: one line saying why (shown by the harness)."""
    limit: Callable[[str], None]
    """An emulator limit distorted what the mapping saw (e.g. the Kafka mock dropped
    records before they were read): one line, recorded with the results, never an anomaly."""
    stalled: Callable[[str | None], None] = lambda reason: None
    """The mapping keeps failing one batch (one line saying why), or is moving again (None).
    AWS goes on retrying; the harness stops waiting for what the mapping would deliver."""


class Poller(ABC):
    """Runs `run()` in a daemon thread until `stop()`; `run` must return soon after
    `self.stopping` is set (wait on it instead of sleeping)."""

    def __init__(self, ctx: MappingContext) -> None:
        self.ctx = ctx
        self.mapping = ctx.mapping
        self.stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._main, name=f"esm-{ctx.mapping['UUID'][:8]}", daemon=True
        )

    @abstractmethod
    def run(self) -> None:
        """Poll the source and invoke the function until `self.stopping` is set."""

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 30) -> None:
        self.stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def invoke(self, event: Any) -> Invocation | None:
        """Invoke the function on `event`; None if the mapping has failed for good (an
        error no retry can cure: reported through `ctx.fail`, polling stops)."""
        invocation = self.ctx.functions.invoke(self.mapping["FunctionArn"], event)
        if invocation.error and invocation.error.error_type in FATAL_ERRORS:
            error = invocation.error
            self.ctx.fail(f"{error.error_type}: {error.message}")
            self.ctx.report(f"PROBLEM: Function call failed: {error.error_type}")
            self.stopping.set()
            return None
        return invocation

    def _main(self) -> None:
        self.guarded(self.run)

    def guarded(self, work: Callable[[], None]) -> None:
        """Run `work` (the poller's loop, or one of its lanes): an exception is reported
        through the context rather than lost with its thread."""
        try:
            work()
        except Exception as exc:  # a poller must never die silently
            self.ctx.fail(f"{type(exc).__name__}: {exc}")
            self.ctx.report(f"PROBLEM: {type(exc).__name__}: {exc}")
