"""What a task's source or target may read about the task and its endpoint."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.aws import AwsAccess
from harness.local.dms.mapping import TableMapping


@dataclass(frozen=True)
class TaskContext:
    """Ids, the endpoint as DescribeEndpoints returns it, the parsed table mapping, the task
    settings JSON, AWS access, and (for sources) the endpoint's username and password, which
    DescribeEndpoints never shows."""

    task_id: str
    task_arn: str
    endpoint: dict[str, Any]
    mapping: TableMapping
    settings: dict[str, Any]
    aws: AwsAccess
    credentials: dict[str, str] = field(default_factory=dict, repr=False)
