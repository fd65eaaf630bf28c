"""Corrections to moto's behaviour, applied inside the moto server process only.

Each fix is a small patch with a comment naming the moto behaviour it corrects.
The DMS fixes also give the local DMS engine a private channel (actions named
`Cdcbench*`, reachable only through `harness.local.dms.api`) to read endpoint
passwords, as DMS itself can, and to report task state back, so that
DescribeReplicationTasks and DescribeTableStatistics answer as on AWS.
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


def _dms() -> None:
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


def _kinesis() -> None:
    from moto.kinesis.models import Shard

    # moto copies every record key of the shard to find the first or last one, on every
    # put: O(n) per record, so a stream slows down as it fills. The records dict is ordered.
    def first(self: Any) -> int:
        return next(iter(self.records), 0)

    def last(self: Any) -> int:
        return next(reversed(self.records), 0)

    Shard.get_min_sequence_number = first
    Shard.get_max_sequence_number = last


def _kafka(bootstrap: str) -> None:
    from urllib.parse import unquote

    from moto.kafka import models, responses
    from moto.kafka.exceptions import NotFoundException

    cluster_init = models.FakeKafkaCluster.__init__

    def init_active(self: Any, *args: Any, **kwargs: Any) -> None:
        cluster_init(self, *args, **kwargs)
        # moto leaves clusters CREATING for ever and Terraform waits for ACTIVE; the
        # brokers behind every cluster are the local target's Kafka broker, already up.
        self.state = "ACTIVE"

    models.FakeKafkaCluster.__init__ = init_active
    backend = models.KafkaBackend
    for name in ("describe_cluster", "describe_cluster_v2", "delete_cluster"):
        setattr(backend, name, _found_or_404(getattr(backend, name), NotFoundException))

    def get_bootstrap_brokers(self: Any) -> str:
        # Not in moto at all; every listener name points at the one local broker.
        arn = unquote(self.parsed_url.path.split("/clusters/")[-1].split("/bootstrap-brokers")[0])
        self.kafka_backend.describe_cluster(arn)  # NotFound for an unknown cluster
        names = ("", "Tls", "SaslScram", "SaslIam", "PublicTls", "PublicSaslScram")
        return json.dumps({f"bootstrapBrokerString{n}": bootstrap for n in names})

    responses.KafkaResponse.get_bootstrap_brokers = get_bootstrap_brokers


def _found_or_404(method: Any, not_found: Any) -> Any:
    # moto answers an unknown cluster ARN with a KeyError (HTTP 500); AWS says NotFound.
    def wrapper(self: Any, cluster_arn: str, *args: Any, **kwargs: Any) -> Any:
        if cluster_arn not in self.clusters:
            raise not_found(f"Cluster {cluster_arn} not found")
        return method(self, cluster_arn, *args, **kwargs)

    return wrapper


class _NoMappings(dict[str, Any]):
    """A resource's event-source mappings as moto's data plane sees them: always none."""

    def __setitem__(self, key: str, value: Any) -> None:
        pass


def _no_lambda_delivery() -> None:
    from moto.dynamodb.models.table import Table
    from moto.kinesis.models import Stream
    from moto.sqs.models import Queue

    # moto runs mapped functions itself, through Docker: with none here the invoke fails,
    # SQS messages are received (hidden) and a DynamoDB stream's records are dropped. The
    # mappings stay in the Lambda API; the local Lambda runtime is what runs them.
    none = property(lambda self: _NoMappings(), lambda self, value: None)
    for cls in (Queue, Table, Stream):
        cls.lambda_event_source_mappings = none


def apply(kafka_bootstrap: str | None = None) -> None:
    """Install every fix. Called once by the moto child before it serves requests."""
    _dms()
    _kinesis()
    _no_lambda_delivery()
    if kafka_bootstrap:
        _kafka(kafka_bootstrap)
