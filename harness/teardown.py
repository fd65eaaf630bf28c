"""Before Terraform destroys a deployment: stop its DMS replication tasks.

The provider deletes a running task by stopping it first, then polling with fixed delays
(about 70 s of a destroy against an emulator). A task stopped beforehand is only deleted.
Stopping them first also ends the flow into the targets before they go.
"""

import time
from collections.abc import Callable, Iterable
from typing import Any

from harness import progress
from harness.aws import AwsAccess
from harness.terraform import Deployment

_ACTIVE = ("running", "starting", "resuming", "stopping")
STOP_TIMEOUT_S = 600.0


def dms_task_stopper(aws: AwsAccess) -> Callable[[Deployment], None]:
    """A `Deployment.before_destroy` that stops the deployment's DMS tasks."""

    def stop(deployment: Deployment) -> None:
        tasks = deployment.state_attributes("aws_dms_replication_task", "replication_task_arn")
        stop_replication_tasks(aws, tasks)

    return stop


def stop_replication_tasks(aws: AwsAccess, arns: Iterable[str], poll_s: float = 1.0) -> None:
    """Stop the tasks among `arns` that run, and wait until none is active any more."""
    arns = list(arns)
    if not arns:
        return
    dms = aws.client("dms")
    with progress.step(f"Stopping {len(arns)} DMS task(s)") as update:
        for task in _tasks(dms, arns):
            if task["Status"] in ("running", "starting", "resuming"):
                dms.stop_replication_task(ReplicationTaskArn=task["ReplicationTaskArn"])
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            tasks = _tasks(dms, arns)
            active = [t["ReplicationTaskIdentifier"] for t in tasks if t["Status"] in _ACTIVE]
            if not active:
                return
            update(f"waiting for {', '.join(active)}")
            time.sleep(poll_s)
        progress.console.print(
            f"[yellow]DMS task(s) still active after {STOP_TIMEOUT_S:.0f} s: "
            "Terraform's destroy stops them[/]"
        )


def _tasks(dms: Any, arns: list[str]) -> list[dict[str, Any]]:
    """The tasks among `arns` that exist (DMS answers "not found" when none does)."""
    pages = dms.get_paginator("describe_replication_tasks").paginate(
        Filters=[{"Name": "replication-task-arn", "Values": arns}], WithoutSettings=True
    )
    try:
        return [task for page in pages for task in page["ReplicationTasks"]]
    except dms.exceptions.ResourceNotFoundFault:
        return []
