"""DMS: epoch timestamps, task and endpoint states, table statistics, subnet groups that
describe their own subnets, and the private
actions (`Cdcbench*`, reachable only through `harness.local.dms.api`) through which the
local DMS engine reads endpoint passwords, as DMS itself can, and reports task state, so
that DescribeReplicationTasks and DescribeTableStatistics answer as on AWS.
"""

import json
from datetime import datetime
from typing import Any

# Task fields moto renders as ISO strings; the AWS SDK for Go (Terraform's provider)
# only accepts epoch seconds for timestamps in JSON protocols.
_TASK_DATES = ("ReplicationTaskCreationDate", "ReplicationTaskStartDate")
_STATS_DATES = (
    "FreshStartDate",
    "StartDate",
    "StopDate",
    "FullLoadStartDate",
    "FullLoadFinishDate",
)


def _epoch(value: Any) -> Any:
    if isinstance(value, str):
        return datetime.fromisoformat(value).timestamp()
    return value


def apply() -> None:
    from moto.core.utils import utcnow
    from moto.dms import models, responses
    from moto.dms.exceptions import InvalidResourceStateFault, ResourceNotFoundFault

    task_cls = models.FakeReplicationTask
    moto_init = task_cls.__init__
    moto_to_dict = task_cls.to_dict

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        moto_init(self, *args, **kwargs)
        # moto leaves a new task "creating" for ever; AWS moves it to "ready".
        self.status = "ready"
        self.start_type = None
        self.reported: dict[str, Any] = {}
        self.table_statistics: list[dict[str, Any]] = []

    def to_dict(self: Any) -> dict[str, Any]:
        out = moto_to_dict(self)
        for key in _TASK_DATES:
            out[key] = _epoch(out.get(key))
        # moto's stats are canned (100 % loaded, one table); the engine reports real ones.
        stats = {k: v for k, v in out["ReplicationTaskStats"].items() if k not in _STATS_DATES}
        stats.update(self.reported.get("ReplicationTaskStats", {}))
        out["ReplicationTaskStats"] = stats
        out.update({k: v for k, v in self.reported.items() if k != "ReplicationTaskStats"})
        return out

    def start(self: Any) -> Any:
        # moto jumps straight to "running"; on AWS the task is "starting" until the
        # replication engine runs it, which here is the local DMS engine's job.
        if self.status not in ("ready", "stopped", "failed"):
            raise InvalidResourceStateFault(f"Replication task is {self.status}")
        self.status = "starting"
        self.start_date = utcnow()
        self.reported.pop("LastFailureMessage", None)
        self.reported.pop("StopReason", None)
        return self

    def stop(self: Any) -> Any:
        # AWS passes through "stopping" until the engine has stopped the task.
        if self.status not in ("running", "starting"):
            raise InvalidResourceStateFault("Replication task is not running")
        self.status = "stopping"
        self.stop_date = utcnow()
        return self

    task_cls.__init__ = __init__
    task_cls.to_dict = to_dict
    task_cls.start = start
    task_cls.stop = stop

    instance_to_dict = models.FakeReplicationInstance.to_dict

    def instance_dict(self: Any) -> dict[str, Any]:
        out = instance_to_dict(self)
        out["InstanceCreateTime"] = _epoch(out.get("InstanceCreateTime"))
        # moto returns no subnet group when none was named; AWS uses "default", and the
        # provider dereferences it (nil pointer panic otherwise).
        out["ReplicationSubnetGroup"] = out.get("ReplicationSubnetGroup") or {
            "ReplicationSubnetGroupIdentifier": "default",
            "ReplicationSubnetGroupDescription": "default",
            "VpcId": "vpc-12345",
            "SubnetGroupStatus": "Complete",
            "Subnets": [],
        }
        return out

    models.FakeReplicationInstance.to_dict = instance_dict

    endpoint_init = models.Endpoint.__init__

    def endpoint_init_active(self: Any, *args: Any, **kwargs: Any) -> None:
        endpoint_init(self, *args, **kwargs)
        # moto leaves endpoints "creating"; AWS endpoints are "active" once created.
        self.status = "active"

    models.Endpoint.__init__ = endpoint_init_active

    _fix_subnet_groups(models)

    resp = responses.DatabaseMigrationServiceResponse

    def start_replication_task(self: Any) -> str:
        # moto ignores StartReplicationTaskType; the engine needs it to resume or reload.
        task = self.dms_backend.start_replication_task(self._get_param("ReplicationTaskArn"))
        task.start_type = self._get_param("StartReplicationTaskType") or "start-replication"
        return json.dumps({"ReplicationTask": task.to_dict()})

    def describe_table_statistics(self: Any) -> str:
        # Not in moto at all (HTTP 500); served from what the engine reports.
        task = _task(self)
        return json.dumps(
            {"ReplicationTaskArn": task.arn, "TableStatistics": task.table_statistics}
        )

    def cdcbench_report_task_state(self: Any) -> str:
        """Private: the engine sets status, failure message, stats and table statistics."""
        task = _task(self)
        state = json.loads(self.body)
        task.status = state.get("Status", task.status)
        for key in ("LastFailureMessage", "StopReason", "RecoveryCheckpoint"):
            if key in state:
                task.reported[key] = state[key]
        if "ReplicationTaskStats" in state:
            task.reported["ReplicationTaskStats"] = state["ReplicationTaskStats"]
        if "TableStatistics" in state:
            task.table_statistics = state["TableStatistics"]
        return json.dumps({"ReplicationTask": task.to_dict()})

    def cdcbench_describe_task_start(self: Any) -> str:
        """Private: how the task was last started (not part of any public response)."""
        return json.dumps({"StartReplicationTaskType": _task(self).start_type})

    def cdcbench_describe_endpoint_secret(self: Any) -> str:
        """Private: an endpoint's password, which DMS holds but never returns."""
        arn = self._get_param("EndpointArn")
        for endpoint in self.dms_backend.endpoints.values():
            if endpoint.endpoint_arn == arn:
                return json.dumps({"Username": endpoint.username, "Password": endpoint.password})
        raise ResourceNotFoundFault("Endpoint not found")

    resp.start_replication_task = start_replication_task
    resp.describe_table_statistics = describe_table_statistics
    resp.cdcbench_report_task_state = cdcbench_report_task_state
    resp.cdcbench_describe_task_start = cdcbench_describe_task_start
    resp.cdcbench_describe_endpoint_secret = cdcbench_describe_endpoint_secret


def _task(response: Any) -> Any:
    from moto.dms.exceptions import ResourceNotFoundFault

    task = response.dms_backend.replication_tasks.get(response._get_param("ReplicationTaskArn"))
    if task is None:
        raise ResourceNotFoundFault("Replication task could not be found.")
    return task


def _fix_subnet_groups(models: Any) -> None:
    """moto drops a subnet group's subnets, describes every group as subnet-12345 in
    vpc-12345, and keeps its tags under its name instead of its ARN, so Terraform sees
    drift after every apply. Groups keep their subnets, read from EC2 (unknown ones are
    refused with InvalidSubnet, as by DMS), and their tags under the ARN."""
    from moto.dms.exceptions import DmsClientError
    from moto.ec2.exceptions import InvalidSubnetIdError
    from moto.ec2.models import ec2_backends
    from moto.utilities.utils import get_partition

    backend_cls = models.DatabaseMigrationServiceBackend
    moto_create = backend_cls.create_replication_subnet_group

    def create_replication_subnet_group(self: Any, **kwargs: Any) -> Any:
        ec2 = ec2_backends[self.account_id][self.region_name]
        subnets = []
        for subnet_id in kwargs["subnet_ids"] or []:
            try:
                subnets.append(ec2.get_subnet(subnet_id))
            except InvalidSubnetIdError:
                raise DmsClientError("InvalidSubnet", f"Subnet {subnet_id} not found") from None
        group = moto_create(self, **kwargs)
        group.subnets = subnets
        arn = (
            f"arn:{get_partition(self.region_name)}:dms:{self.region_name}:{self.account_id}"
            f":subgrp:{group.replication_subnet_group_identifier}"
        )
        self.tagger.tag_resource(arn, kwargs.get("tags") or [])
        return group

    group_to_dict = models.FakeReplicationSubnetGroup.to_dict

    def to_dict(self: Any) -> dict[str, Any]:
        out = group_to_dict(self)
        subnets = getattr(self, "subnets", [])
        if subnets:
            out["VpcId"] = subnets[0].vpc_id
            out["Subnets"] = [
                {
                    "SubnetIdentifier": subnet.id,
                    "SubnetAvailabilityZone": {"Name": subnet.availability_zone},
                    "SubnetStatus": "Active",
                }
                for subnet in subnets
            ]
        return out

    backend_cls.create_replication_subnet_group = create_replication_subnet_group
    models.FakeReplicationSubnetGroup.to_dict = to_dict
