"""The engine's view of the DMS control plane: tasks and endpoints read through the DMS API,
state reported back through the private actions of
`harness.local.moto_fixes.additions.dms`.

"""

from __future__ import annotations

import time
from typing import Any

from harness.aws import AwsAccess
from harness.local.private_api import PrivateApi, PrivateApiError

_TARGET_PREFIX = "AmazonDMSv20160101."


class DmsApiError(RuntimeError):
    """A DMS call failed, a task is gone or failed, or it did not reach a status in time."""


def describe_task(client: Any, arn: str) -> dict[str, Any]:
    """One replication task as DescribeReplicationTasks shows it (`client`: boto3 DMS)."""
    found = client.describe_replication_tasks(
        Filters=[{"Name": "replication-task-arn", "Values": [arn]}]
    )["ReplicationTasks"]
    if not found:
        raise DmsApiError(f"replication task {arn} does not exist")
    return dict(found[0])


def await_task_status(
    client: Any, arn: str, status: str, timeout_s: float = 60, poll_s: float = 0.05
) -> dict[str, Any]:
    """Poll until the task shows `status`; DmsApiError if it fails instead or time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        task = describe_task(client, arn)
        if task["Status"] == status:
            return task
        name = task["ReplicationTaskIdentifier"]
        if task["Status"] == "failed":
            reason = task.get("LastFailureMessage") or "(no LastFailureMessage)"
            raise DmsApiError(f"DMS task {name} failed: {reason}")
        if time.monotonic() > deadline:
            raise DmsApiError(
                f"DMS task {name} is {task['Status']!r}, not {status!r}, after {timeout_s:.0f} s"
            )
        time.sleep(poll_s)


class DmsApi:
    """DMS calls for one engine thread (boto3 clients are not shared across threads)."""

    def __init__(self, aws: AwsAccess) -> None:
        self.aws = aws
        self.client = aws.client("dms")
        self._private_api = PrivateApi(aws, "dms")

    def tasks(self) -> list[dict[str, Any]]:
        pages = self.client.get_paginator("describe_replication_tasks").paginate()
        return [t for page in pages for t in page["ReplicationTasks"]]

    def endpoint(self, arn: str) -> dict[str, Any]:
        found = self.client.describe_endpoints(Filters=[{"Name": "endpoint-arn", "Values": [arn]}])
        endpoints = found["Endpoints"]
        if not endpoints:
            raise DmsApiError(f"endpoint {arn} does not exist")
        return dict(endpoints[0])

    def endpoint_secret(self, arn: str) -> dict[str, str]:
        """Username and password of an endpoint (DMS keeps them; the public API hides them)."""
        return dict(self._private("CdcbenchDescribeEndpointSecret", {"EndpointArn": arn}))

    def start_type(self, task_arn: str) -> str:
        """How the task was last started: start-replication, resume-processing or reload-target."""
        found = self._private("CdcbenchDescribeTaskStart", {"ReplicationTaskArn": task_arn})
        return str(found.get("StartReplicationTaskType") or "start-replication")

    def report(self, task_arn: str, **state: Any) -> None:
        """Set a task's Status, LastFailureMessage, StopReason, ReplicationTaskStats,
        RecoveryCheckpoint or TableStatistics as DescribeReplicationTasks shows them."""
        self._private("CdcbenchReportTaskState", {"ReplicationTaskArn": task_arn, **state})

    def _private(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": _TARGET_PREFIX + action,
        }
        try:
            return self._private_api.call("/", body, headers=headers)
        except PrivateApiError as exc:
            raise DmsApiError(f"{action}: {exc}") from exc
