"""Lambda: event-source mappings show their StartingPositionTimestamp; a function shows a
reserved concurrency of 0."""

from typing import Any

from harness.local.moto_fixes.guard import fix


@fix(
    "moto.awslambda.models.EventSourceMapping.get_configuration",
    "moto.awslambda.models.EventSourceMapping().starting_position_timestamp",
)
def starting_position_timestamp() -> None:
    # moto leaves StartingPositionTimestamp out of a mapping's configuration; AT_TIMESTAMP
    # mappings need it (the runtime reads it, Terraform compares it).
    from moto.awslambda.models import EventSourceMapping

    moto_configuration = EventSourceMapping.get_configuration

    def get_configuration(self: Any) -> dict[str, Any]:
        out: dict[str, Any] = moto_configuration(self)
        if self.starting_position_timestamp is not None:
            out["StartingPositionTimestamp"] = self.starting_position_timestamp
        return out

    EventSourceMapping.get_configuration = get_configuration


@fix(
    "moto.awslambda.models.LambdaFunction.get_code",
    "moto.awslambda.models.LambdaFunction().reserved_concurrency",
)
def reserved_concurrency_zero() -> None:
    # moto drops a reserved concurrency of 0 (a function that must not run at all) from
    # GetFunction: it tests the value for truth.
    from moto.awslambda.models import LambdaFunction

    moto_get_code = LambdaFunction.get_code

    def get_code(self: Any) -> dict[str, Any]:
        out: dict[str, Any] = moto_get_code(self)
        if self.reserved_concurrency is not None:
            reserved = int(self.reserved_concurrency)
            out["Concurrency"] = {"ReservedConcurrentExecutions": reserved}
        return out

    LambdaFunction.get_code = get_code
