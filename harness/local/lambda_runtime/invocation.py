"""What pollers, schedules and the Invoke API need from the function host."""

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class FunctionError:
    """As Lambda reports it: `errorType` (the exception class, or `Runtime.ImportModuleError`,
    `Runtime.HandlerNotFound`, `Sandbox.Timedout`...) and `errorMessage`."""

    error_type: str
    message: str
    stack_trace: tuple[str, ...] = ()

    def payload(self) -> dict[str, Any]:
        """The response payload Lambda returns for the error."""
        return {
            "errorMessage": self.message,
            "errorType": self.error_type,
            "stackTrace": list(self.stack_trace),
        }


@dataclass(frozen=True)
class Invocation:
    """The outcome of one synchronous invocation."""

    request_id: str
    payload: Any
    """The handler's return value, JSON round-tripped (None on error)."""
    error: FunctionError | None
    duration_ms: float

    @property
    def ok(self) -> bool:
        return self.error is None


class Invoker(Protocol):
    def invoke(self, function: str, event: Any) -> Invocation:
        """Run `function` (name or ARN, as the Lambda API accepts) on `event` and wait.
        Raises FunctionNotFound if the Lambda API does not know it."""
        ...


class FunctionNotFound(LookupError):
    """The Lambda API has no such function."""
