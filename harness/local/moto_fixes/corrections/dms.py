"""DMS: timestamps as epoch seconds, tasks and endpoints in the state AWS gives them once
created, a default subnet group, and subnet groups that describe their own subnets."""

from datetime import datetime
from typing import Any

from harness.local.moto_fixes.guard import fix

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


@fix(
    "moto.dms.models.FakeReplicationTask.to_dict",
    "moto.dms.models.FakeReplicationInstance.to_dict",
)
def epoch_timestamps() -> None:
    # moto renders task and instance dates as ISO strings; the AWS SDK for Go (Terraform's
    # provider) only accepts epoch seconds for timestamps in JSON protocols. A date moto
    # does not have (a task never started) is left out, as AWS leaves it out.
    from moto.dms import models

    task_to_dict = models.FakeReplicationTask.to_dict

    def task_dict(self: Any) -> dict[str, Any]:
        out: dict[str, Any] = task_to_dict(self)
        for key in _TASK_DATES:
            out[key] = _epoch(out.get(key))
        stats = out.get("ReplicationTaskStats") or {}
        for key in _STATS_DATES:
            if stats.get(key) is None:
                stats.pop(key, None)
            else:
                stats[key] = _epoch(stats[key])
        return out

    instance_to_dict = models.FakeReplicationInstance.to_dict

    def instance_dict(self: Any) -> dict[str, Any]:
        out: dict[str, Any] = instance_to_dict(self)
        out["InstanceCreateTime"] = _epoch(out.get("InstanceCreateTime"))
        return out

    models.FakeReplicationTask.to_dict = task_dict
    models.FakeReplicationInstance.to_dict = instance_dict


@fix(
    "moto.dms.models.FakeReplicationTask.__init__",
    "moto.dms.models.FakeReplicationTask().status",
    "moto.dms.models.Endpoint.__init__",
    "moto.dms.models.Endpoint().status",
)
def created_states() -> None:
    # moto leaves a new task "creating" and a new endpoint "creating" for ever; AWS moves a
    # task to "ready" and an endpoint to "active" once created (Terraform waits for both).
    from moto.dms import models

    task_init = models.FakeReplicationTask.__init__

    def task_ready(self: Any, *args: Any, **kwargs: Any) -> None:
        task_init(self, *args, **kwargs)
        self.status = "ready"

    endpoint_init = models.Endpoint.__init__

    def endpoint_active(self: Any, *args: Any, **kwargs: Any) -> None:
        endpoint_init(self, *args, **kwargs)
        self.status = "active"

    models.FakeReplicationTask.__init__ = task_ready
    models.Endpoint.__init__ = endpoint_active


@fix("moto.dms.models.FakeReplicationInstance.to_dict")
def default_subnet_group() -> None:
    # moto returns no subnet group for an instance created without one; AWS uses "default",
    # and Terraform's provider dereferences it (a nil pointer panic otherwise).
    from moto.dms import models

    instance_to_dict = models.FakeReplicationInstance.to_dict

    def instance_dict(self: Any) -> dict[str, Any]:
        out: dict[str, Any] = instance_to_dict(self)
        out["ReplicationSubnetGroup"] = out.get("ReplicationSubnetGroup") or {
            "ReplicationSubnetGroupIdentifier": "default",
            "ReplicationSubnetGroupDescription": "default",
            "VpcId": "vpc-12345",
            "SubnetGroupStatus": "Complete",
            "Subnets": [],
        }
        return out

    models.FakeReplicationInstance.to_dict = instance_dict


@fix(
    "moto.dms.models.DatabaseMigrationServiceBackend.create_replication_subnet_group",
    "moto.dms.models.DatabaseMigrationServiceBackend().tagger",
    "moto.dms.models.FakeReplicationSubnetGroup.to_dict",
    "moto.dms.exceptions.DmsClientError",
    "moto.ec2.exceptions.InvalidSubnetIdError",
    "moto.ec2.models.ec2_backends",
    "moto.utilities.utils.get_partition",
)
def subnet_groups() -> None:
    """moto drops a subnet group's subnets, describes every group as subnet-12345 in
    vpc-12345, accepts subnets that do not exist, and keeps the group's tags under its name
    instead of its ARN, so Terraform sees drift after every apply. Groups keep their
    subnets, read from EC2 (unknown ones are refused with InvalidSubnet, as by DMS), and
    their tags under the ARN."""
    from moto.dms import models
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
        out: dict[str, Any] = group_to_dict(self)
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
