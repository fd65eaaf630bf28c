"""The kinds of fault, each applied through the API a user's tooling would use (on the local
target the engines act on it as AWS would), and the outcome a pattern is expected to show.

A kind acts on one type of Terraform resource, found in the deployment's state, so it names
no pattern: a pattern without that type is recorded as not applicable (and `cdcbench
patterns` lists, per kind, the patterns it applies to).
"""

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from harness.aws import AwsAccess

WAIT_S = 180.0
"""How long a fault's start or end may take to take effect."""


@dataclass(frozen=True)
class Expected:
    """What a pattern should show under a fault: anomalies only of the classes `allowed`,
    and no change committed while it lasted seen later than its duration, the projection's
    floor and `slack_s` after its commit."""

    allowed: frozenset[str]
    says: str
    slack_s: float = 10.0


class FaultKind(ABC):
    name: ClassVar[str]
    expected: ClassVar[Expected]
    acts_on: ClassVar[tuple[str, str]]
    """The Terraform resource type it acts on, and the attribute that identifies one."""

    def applies_to(self, resource_types: frozenset[str]) -> bool:
        """Whether a pattern creating these types of resource has something it acts on."""
        return self.acts_on[0] in resource_types

    def targets(self, state: dict[str, Any]) -> list[str]:
        """What it acts on in a deployment (its Terraform state); empty: not applicable."""
        resource_type, attribute = self.acts_on
        return [
            str(instance["attributes"][attribute])
            for resource in state.get("resources", [])
            if resource.get("mode") == "managed" and resource.get("type") == resource_type
            for instance in resource.get("instances", [])
        ]

    @abstractmethod
    def start(self, aws: AwsAccess, targets: list[str]) -> Any:
        """Break them; returns once the fault has taken effect, with what `end` needs to
        put them back as they were."""

    @abstractmethod
    def end(self, aws: AwsAccess, targets: list[str], before: Any) -> None:
        """Mend them (`before`: what `start` returned)."""


class DmsTaskStop(FaultKind):
    """StopReplicationTask on every DMS task of the pattern, then StartReplicationTask with
    `resume-processing`: the task resumes from its checkpoint."""

    name = "dms_task_stop"
    expected = Expected(
        frozenset({"duplicate"}),
        "no loss, duplicates allowed; lag of changes made meanwhile within the stop's "
        "duration plus the floor",
    )
    acts_on = ("aws_dms_replication_task", "replication_task_arn")

    def start(self, aws: AwsAccess, targets: list[str]) -> None:
        dms = aws.client("dms")
        for arn in targets:
            dms.stop_replication_task(ReplicationTaskArn=arn)
        _await_status(dms, targets, "stopped")

    def end(self, aws: AwsAccess, targets: list[str], before: Any) -> None:
        dms = aws.client("dms")
        for arn in targets:
            dms.start_replication_task(
                ReplicationTaskArn=arn, StartReplicationTaskType="resume-processing"
            )
        _await_status(dms, targets, "running")


def _await_status(dms: Any, arns: list[str], status: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        tasks = dms.describe_replication_tasks(
            Filters=[{"Name": "replication-task-arn", "Values": arns}], WithoutSettings=True
        )["ReplicationTasks"]
        waiting = [t["ReplicationTaskIdentifier"] for t in tasks if t["Status"] != status]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"DMS task(s) {', '.join(waiting)} not {status} after {WAIT_S:g} s")
        time.sleep(0.2)


class LambdaThrottle(FaultKind):
    """PutFunctionConcurrency of 0 on every function of the pattern (each invocation is
    throttled), then its reserved concurrency as it was. Event-source mappings retry a
    throttled batch: a stream's or a topic's until it succeeds, a queue's while its messages
    stay invisible (its visibility timeout)."""

    name = "lambda_throttle"
    expected = Expected(
        frozenset({"duplicate"}),
        "no loss, duplicates allowed; lag of changes made meanwhile within the throttle's "
        "duration plus the floor (mappings retry throttled batches)",
    )
    acts_on = ("aws_lambda_function", "function_name")

    def start(self, aws: AwsAccess, targets: list[str]) -> dict[str, int | None]:
        client = aws.client("lambda")
        before = {}
        for name in targets:
            reserved = client.get_function_concurrency(FunctionName=name)
            before[name] = reserved.get("ReservedConcurrentExecutions")
            client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
        return before

    def end(self, aws: AwsAccess, targets: list[str], before: Any) -> None:
        client = aws.client("lambda")
        before = before or {}  # a start that failed part of the way: none had a limit
        for name in targets:
            if before.get(name) is None:
                client.delete_function_concurrency(FunctionName=name)
            else:
                client.put_function_concurrency(
                    FunctionName=name, ReservedConcurrentExecutions=before[name]
                )


KINDS: dict[str, FaultKind] = {kind.name: kind for kind in (DmsTaskStop(), LambdaThrottle())}
