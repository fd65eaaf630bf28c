"""DMS: DescribeTableStatistics, and the private actions (`Cdcbench*`, reachable only through
`harness.local.dms.api`) through which the local DMS engine reads endpoint passwords, as DMS
itself can, and how a task was last started, and reports task state, so that
DescribeReplicationTasks and DescribeTableStatistics answer as on AWS."""

import json
from typing import Any

from harness.local.moto_fixes.guard import fix

_CANNED_STATS_DATES = (
    "FreshStartDate",
    "StartDate",
    "StopDate",
    "FullLoadStartDate",
    "FullLoadFinishDate",
)


def reported(task: Any) -> dict[str, Any]:
    """What the engine reported of a task (Status aside): shown by DescribeReplicationTasks."""
    return task.__dict__.setdefault("cdcbench_reported", {})  # type: ignore[no-any-return]


def _task(response: Any) -> Any:
    from moto.dms.exceptions import ResourceNotFoundFault

    task = response.dms_backend.replication_tasks.get(response._get_param("ReplicationTaskArn"))
    if task is None:
        raise ResourceNotFoundFault("Replication task could not be found.")
    return task


@fix(
    "moto.dms.models.FakeReplicationTask.to_dict",
    "moto.dms.models.FakeReplicationTask().status",
    "moto.dms.models.DatabaseMigrationServiceBackend().replication_tasks",
    "moto.dms.models.DatabaseMigrationServiceBackend().endpoints",
    "moto.dms.models.DatabaseMigrationServiceBackend.start_replication_task",
    "moto.dms.models.Endpoint().endpoint_arn",
    "moto.dms.models.Endpoint().username",
    "moto.dms.models.Endpoint().password",
    "moto.dms.responses.DatabaseMigrationServiceResponse.start_replication_task",
    "moto.dms.responses.DatabaseMigrationServiceResponse.dms_backend",
    "moto.dms.exceptions.ResourceNotFoundFault",
)
def private_actions() -> None:
    # moto's task stats are canned (100 % loaded, one table, its start and stop dates) and its
    # status is whatever the API last set; on AWS the replication engine reports them. Here
    # the local engine does, through CdcbenchReportTaskState. moto also ignores
    # StartReplicationTaskType, which the engine needs to resume or reload (it is in no
    # public response: CdcbenchDescribeTaskStart tells it).
    from moto.dms import models, responses
    from moto.dms.exceptions import ResourceNotFoundFault

    moto_to_dict = models.FakeReplicationTask.to_dict

    def to_dict(self: Any) -> dict[str, Any]:
        out: dict[str, Any] = moto_to_dict(self)
        state = reported(self)
        stats = out["ReplicationTaskStats"]
        stats = {k: v for k, v in stats.items() if k not in _CANNED_STATS_DATES}
        stats.update(state.get("ReplicationTaskStats", {}))
        out["ReplicationTaskStats"] = stats
        out.update({k: v for k, v in state.items() if k != "ReplicationTaskStats"})
        return out

    models.FakeReplicationTask.to_dict = to_dict
    resp = responses.DatabaseMigrationServiceResponse

    def start_replication_task(self: Any) -> str:
        task = self.dms_backend.start_replication_task(self._get_param("ReplicationTaskArn"))
        task.cdcbench_start_type = (
            self._get_param("StartReplicationTaskType") or "start-replication"
        )
        return json.dumps({"ReplicationTask": task.to_dict()})

    def cdcbench_report_task_state(self: Any) -> str:
        """Private: the engine sets status, failure message, stats and table statistics."""
        task = _task(self)
        state = json.loads(self.body)
        task.status = state.get("Status", task.status)
        for key in ("LastFailureMessage", "StopReason", "RecoveryCheckpoint"):
            if key in state:
                reported(task)[key] = state[key]
        if "ReplicationTaskStats" in state:
            reported(task)["ReplicationTaskStats"] = state["ReplicationTaskStats"]
        if "TableStatistics" in state:
            task.cdcbench_table_statistics = state["TableStatistics"]
        return json.dumps({"ReplicationTask": task.to_dict()})

    def cdcbench_describe_task_start(self: Any) -> str:
        """Private: how the task was last started (not part of any public response)."""
        start_type = getattr(_task(self), "cdcbench_start_type", None)
        return json.dumps({"StartReplicationTaskType": start_type})

    def cdcbench_describe_endpoint_secret(self: Any) -> str:
        """Private: an endpoint's password, which DMS holds but never returns."""
        arn = self._get_param("EndpointArn")
        for endpoint in self.dms_backend.endpoints.values():
            if endpoint.endpoint_arn == arn:
                return json.dumps({"Username": endpoint.username, "Password": endpoint.password})
        raise ResourceNotFoundFault("Endpoint not found")

    resp.start_replication_task = start_replication_task
    resp.cdcbench_report_task_state = cdcbench_report_task_state
    resp.cdcbench_describe_task_start = cdcbench_describe_task_start
    resp.cdcbench_describe_endpoint_secret = cdcbench_describe_endpoint_secret


@fix("moto.dms.responses.DatabaseMigrationServiceResponse")
def table_statistics() -> None:
    # Not in moto at all (HTTP 500); served from what the local engine reports.
    from moto.dms import responses

    def describe_table_statistics(self: Any) -> str:
        task = _task(self)
        statistics = getattr(task, "cdcbench_table_statistics", [])
        return json.dumps({"ReplicationTaskArn": task.arn, "TableStatistics": statistics})

    responses.DatabaseMigrationServiceResponse.describe_table_statistics = describe_table_statistics


REBOOT_S = 3.0
"""How long a rebooted replication instance stays "rebooting" (a momentary outage)."""


@fix(
    "moto.dms.responses.DatabaseMigrationServiceResponse",
    "moto.dms.models.DatabaseMigrationServiceBackend().replication_instances",
    "moto.dms.models.DatabaseMigrationServiceBackend().replication_tasks",
    "moto.dms.models.FakeReplicationInstance.to_dict",
    "moto.dms.models.FakeReplicationTask().replication_instance_arn",
    "moto.dms.exceptions.InvalidResourceStateFault",
    "moto.dms.exceptions.ResourceNotFoundFault",
)
def reboot_replication_instance() -> None:
    # Not in moto. On AWS a reboot restarts the replication engine: the instance is
    # "rebooting" for a moment, and a task running on it stops in an error state with no data
    # lost (it resumes from its checkpoint when started again). Here its tasks are marked
    # failed; the local DMS engine crashes the runner of a running task marked so. A task
    # cannot start on an instance that is rebooting.
    import time

    from moto.dms import models, responses
    from moto.dms.exceptions import InvalidResourceStateFault, ResourceNotFoundFault

    resp = responses.DatabaseMigrationServiceResponse
    instance_to_dict = models.FakeReplicationInstance.to_dict
    start_task = resp.start_replication_task  # as `private_actions` made it

    def back_up(instance: Any) -> None:
        back_at = getattr(instance, "cdcbench_back_at", None)
        if back_at is not None and time.monotonic() >= back_at:
            instance.status, instance.cdcbench_back_at = "available", None

    def to_dict(self: Any) -> dict[str, Any]:
        back_up(self)
        return instance_to_dict(self)  # type: ignore[no-any-return]

    def start(self: Any) -> str:
        task = _task(self)
        instance = self.dms_backend.replication_instances.get(task.replication_instance_arn)
        if instance is not None:
            back_up(instance)
            if instance.status == "rebooting":
                raise InvalidResourceStateFault("The replication instance is rebooting")
        return start_task(self)  # type: ignore[no-any-return]

    def reboot(self: Any) -> str:
        backend = self.dms_backend
        arn = self._get_param("ReplicationInstanceArn")
        instance = backend.replication_instances.get(arn)
        if instance is None:
            raise ResourceNotFoundFault("Replication instance could not be found.")
        back_up(instance)
        if instance.status != "available":
            raise InvalidResourceStateFault(f"Replication instance is {instance.status}")
        instance.status, instance.cdcbench_back_at = "rebooting", time.monotonic() + REBOOT_S
        for task in backend.replication_tasks.values():
            if task.replication_instance_arn == arn and task.status in ("starting", "running"):
                task.status = "failed"
                reported(task)["LastFailureMessage"] = "The replication instance was rebooted"
        return json.dumps({"ReplicationInstance": instance.to_dict()})

    models.FakeReplicationInstance.to_dict = to_dict
    resp.start_replication_task = start
    resp.reboot_replication_instance = reboot
