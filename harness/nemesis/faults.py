"""The kinds of fault, each applied through the API a user's tooling would use (on the local
target the engines act on it as AWS would), and the outcome a pattern is expected to show.

A kind acts on one type of Terraform resource, found in the deployment's state, or on the
source database (which every pattern has), so it names no pattern: a pattern without that
type is recorded as not applicable (and `cdcbench patterns` lists, per kind, the patterns it
applies to), as is a kind the target cannot apply (`unavailable`).
"""

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from harness.aws import AwsAccess
from harness.nemesis import fis
from harness.nemesis.waiting import await_none


class Target(Protocol):
    """What faults act through: a target's AWS API and its own controls (the parts of
    `harness.targets.base.Target` they use)."""

    @property
    def aws(self) -> AwsAccess: ...

    def cannot_deny(self, action: str) -> str | None: ...

    def cannot_throttle(self, service: str) -> str | None: ...

    def cannot_take_down(self, part: str) -> str | None: ...

    def fis_lambda_extension(self) -> str | None: ...

    def take_down(self, part: str, down: bool, names: Sequence[str] = ()) -> None: ...


@dataclass(frozen=True)
class Expected:
    """What a pattern should show under a fault: anomalies only of the classes `allowed`,
    and no change committed while it lasted seen later than its duration, the projection's
    floor and `slack_s` after its commit. `lost`: the evidence naming the changes each
    projection loses, exactly those, neither more nor fewer (`LOST_EVIDENCE`). Under every
    kind, a change carrying a LOB past the pattern's LOB limit may be shown divergent
    (`LOB_LIMIT_VARIABLE`)."""

    allowed: frozenset[str]
    says: str
    slack_s: float = 10.0
    lost: str | None = None


LOST_EVIDENCE = {
    "never_sent": "never sent",
    "late_files": "carried only by late files",
}
"""What names the changes a fault loses -> how its verdict says it. never_sent: the
application's own records of the events it never sent (refused, or it died first), lost by
every projection. late_files: the changes an object store showed only in objects that landed
late, lost by each projection fed from that store (the store itself loses none)."""


LOB_LIMIT_VARIABLE = "lob_max_size_kb"
"""The pattern variable that holds its LOB limit, in KB, where it has one. A change whose
largest text or JSON value (`Change.lob_bytes`) is longer may be shown divergent under any
fault: DMS truncates it in limited LOB mode (its LobMaxSize), fault or not, and a row keeps
its LOB until a change replaces it, so changes after a burst of large rows carry it too."""


class FaultKind(ABC):
    name: ClassVar[str]
    expected: ClassVar[Expected]
    acts_on: ClassVar[tuple[str, str] | None]
    """The Terraform resource type it acts on, and the attribute that identifies one (None:
    the source database)."""
    only: ClassVar[tuple[tuple[str, str], ...]] = ()
    """(attribute, value)s a resource of that type must have to be acted on."""

    def applies_to(self, resource_types: frozenset[str]) -> bool:
        """Whether a pattern creating these types of resource has something it acts on."""
        return self.acts_on is None or self.acts_on[0] in resource_types

    def unavailable(self, target: Target) -> str | None:
        """Why `target` cannot apply it, in one line (None: it can)."""
        return None

    def targets(self, state: dict[str, Any]) -> list[str]:
        """What it acts on in a deployment (its Terraform state); empty: not applicable."""
        if self.acts_on is None:
            return ["source"]
        return [str(attributes[self.acts_on[1]]) for attributes in self._instances(state)]

    def _instances(self, state: dict[str, Any]) -> list[dict[str, Any]]:
        """The attributes of each resource of the type it acts on in `state`."""
        resource_type = self.acts_on[0] if self.acts_on else None
        return [
            instance["attributes"]
            for resource in state.get("resources", [])
            if resource.get("mode") == "managed" and resource.get("type") == resource_type
            for instance in resource.get("instances", [])
            if all(instance["attributes"].get(k) == v for k, v in self.only)
        ]

    def slack_s(self, state: dict[str, Any], targets: list[str]) -> float | None:
        """The lag it allows beyond its duration and the floor when acting on `targets` of
        this deployment, where it depends on them (None: `expected.slack_s`)."""
        return None

    def deployment(self, target: Target) -> dict[str, Any]:
        """Root-module variables a pattern's deployment needs for this kind to act on it
        through `target` (set where its root module declares them)."""
        return {}

    @abstractmethod
    def start(self, target: Target, targets: list[str], duration_s: float) -> Any:
        """Break them for `duration_s` (through `target`'s AWS API, or its own controls);
        returns once the fault has taken effect, with what `end` needs to put them back as
        they were."""

    @abstractmethod
    def end(self, target: Target, targets: list[str], before: Any) -> None:
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

    def start(self, target: Target, targets: list[str], duration_s: float) -> None:
        dms = target.aws.client("dms")
        for arn in targets:
            dms.stop_replication_task(ReplicationTaskArn=arn)
        await_none(lambda: _not_in(_tasks(dms, "replication-task-arn", targets), ("stopped",)))

    def end(self, target: Target, targets: list[str], before: Any) -> None:
        _resume(target.aws.client("dms"), targets)


class DmsInstanceReboot(FaultKind):
    """RebootReplicationInstance on every DMS replication instance of the pattern: its
    replication engine restarts, and every task running on it stops in an error state with
    what it had read but not yet written (DMS documents that no data is lost). At the fault's
    end, once the instance is available again, those tasks are started with
    `resume-processing`, as an operator would: each resumes from its last checkpoint."""

    name = "dms_instance_reboot"
    expected = Expected(
        frozenset({"duplicate"}),
        "no loss, duplicates allowed (a resume writes again what came after its checkpoint); "
        "lag of changes made meanwhile within the outage's duration plus the floor",
    )
    acts_on = ("aws_dms_replication_instance", "replication_instance_arn")

    def start(self, target: Target, targets: list[str], duration_s: float) -> list[str]:
        dms = target.aws.client("dms")
        tasks = [
            t["ReplicationTaskArn"]
            for t in _tasks(dms, "replication-instance-arn", targets)
            if t["Status"] in ("starting", "running")
        ]
        for arn in targets:
            dms.reboot_replication_instance(ReplicationInstanceArn=arn)
        await_none(
            lambda: _not_in(_tasks(dms, "replication-task-arn", tasks), ("failed", "stopped"))
        )
        return tasks

    def end(self, target: Target, targets: list[str], before: Any) -> None:
        dms = target.aws.client("dms")
        await_none(lambda: _instances_not_available(dms, targets))
        stopped = [
            t["ReplicationTaskArn"]
            for t in _tasks(dms, "replication-task-arn", before or [])
            if t["Status"] in ("failed", "stopped")
        ]
        _resume(dms, stopped)


def _resume(dms: Any, tasks: list[str]) -> None:
    """StartReplicationTask `resume-processing` on each of `tasks`; returns once they run."""
    for arn in tasks:
        dms.start_replication_task(
            ReplicationTaskArn=arn, StartReplicationTaskType="resume-processing"
        )
    await_none(lambda: _not_in(_tasks(dms, "replication-task-arn", tasks), ("running",)))


def _tasks(dms: Any, by: str, values: list[str]) -> list[dict[str, Any]]:
    if not values:
        return []
    return list(
        dms.describe_replication_tasks(
            Filters=[{"Name": by, "Values": values}], WithoutSettings=True
        )["ReplicationTasks"]
    )


def _not_in(tasks: list[dict[str, Any]], statuses: tuple[str, ...]) -> list[str]:
    """The tasks (identifiers) whose status is none of `statuses`."""
    return [t["ReplicationTaskIdentifier"] for t in tasks if t["Status"] not in statuses]


def _instances_not_available(dms: Any, arns: list[str]) -> list[str]:
    instances = dms.describe_replication_instances(
        Filters=[{"Name": "replication-instance-arn", "Values": arns}]
    )["ReplicationInstances"]
    return [
        i["ReplicationInstanceIdentifier"]
        for i in instances
        if i["ReplicationInstanceStatus"] != "available"
    ]


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

    def start(self, target: Target, targets: list[str], duration_s: float) -> dict[str, int | None]:
        client = target.aws.client("lambda")
        before = {}
        for name in targets:
            reserved = client.get_function_concurrency(FunctionName=name)
            before[name] = reserved.get("ReservedConcurrentExecutions")
            client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
        return before

    def end(self, target: Target, targets: list[str], before: Any) -> None:
        client = target.aws.client("lambda")
        before = before or {}  # a start that failed part of the way: none had a limit
        for name in targets:
            if before.get(name) is None:
                client.delete_function_concurrency(FunctionName=name)
            else:
                client.put_function_concurrency(
                    FunctionName=name, ReservedConcurrentExecutions=before[name]
                )


class _Outage(FaultKind):
    """A part of the target taken down for the fault's duration by the target's own controls
    (`Target.take_down`), where it has them."""

    part: ClassVar[str]

    def unavailable(self, target: Target) -> str | None:
        return target.cannot_take_down(self.part)

    def start(self, target: Target, targets: list[str], duration_s: float) -> None:
        target.take_down(self.part, True, targets)

    def end(self, target: Target, targets: list[str], before: Any) -> None:
        target.take_down(self.part, False, targets)


class SourceRestart(_Outage):
    """The source database restarts: every session of it ends (open transactions abort) and
    it accepts no connection for the fault's duration; its replication slots persist. Every
    reader of the source must connect again: the load retries, an application reconnects,
    and a DMS task restarts itself from its checkpoint (its ErrorBehavior: after 5 s, then
    10, 20...). On the local and LocalStack targets: elsewhere the source is the user's."""

    name = "source_restart"
    expected = Expected(
        frozenset({"duplicate"}),
        "no loss, duplicates allowed (readers resume from their checkpoint); lag within the "
        "outage's duration plus the floor and the readers' reconnection (a DMS task's "
        "restart interval)",
        slack_s=20.0,
    )
    acts_on = None
    part = "source"


class KafkaDown(_Outage):
    """Every broker of the pattern's MSK cluster down for the fault's duration: connections
    closed, none accepted (partition leaders stay where they were, so nothing is served
    until they are back). Producers and consumers retry: DMS's Kafka target holds its
    batch, event-source mappings and connectors poll again. On the local target only (its
    embedded brokers): MSK reboots one broker at a time, for minutes, as AWS decides."""

    name = "kafka_down"
    expected = Expected(
        frozenset({"duplicate"}),
        "no loss, duplicates allowed (a retried produce or an uncommitted offset repeats); "
        "lag within the outage's duration plus the floor",
    )
    acts_on = ("aws_msk_cluster", "arn")
    part = "kafka"


class KafkaRebalance(_Outage):
    """Every consumer group of the pattern's MSK cluster rebalances again and again for the
    fault's duration: every 2 s the coordinator tells the members heartbeating next to rejoin
    (REBALANCE_IN_PROGRESS), as when a member joins or leaves, so each member's partitions are
    revoked and assigned again. A member drops what it had read but not committed; the next
    owner reads it again from the committed offset. On the local target only (its embedded
    brokers): on AWS a group rebalances as its members come and go."""

    name = "kafka_rebalance"
    expected = Expected(
        frozenset({"duplicate"}),
        "no loss, duplicates allowed (a revoked member's uncommitted records are read again by "
        "their next owner); lag within the rebalances' duration plus the floor",
    )
    acts_on = ("aws_msk_cluster", "arn")
    part = "groups"


FIS_VARIABLE = "lambda_fault_injection"
"""The root-module variable that puts AWS FIS's Lambda extension on a pattern's functions."""


class _FunctionFault(FaultKind):
    """Every invocation of the pattern's Lambda functions goes wrong for the fault's
    duration: on the local target through its Lambda runtime's own control (`part`); on AWS
    through an AWS FIS experiment (`experiment`) acting by FIS's Lambda extension, which
    cdcbench deploys on the functions of a run that schedules the kind (`FIS_VARIABLE`).
    The extension reads its fault configuration between invocations, so on AWS the fault
    may begin and end a little later than its record says."""

    acts_on = ("aws_lambda_function", "function_name")
    part: ClassVar[str]

    @abstractmethod
    def experiment(self, aws: AwsAccess, functions: list[str], duration_s: float) -> str:
        """Start the FIS experiment doing it to `functions`; its id, once it runs."""

    def unavailable(self, target: Target) -> str | None:
        why = target.cannot_take_down(self.part)
        return None if why is None or target.fis_lambda_extension() else why

    def deployment(self, target: Target) -> dict[str, Any]:
        if target.cannot_take_down(self.part) is None:
            return {}  # the target's own control does it
        layer = target.fis_lambda_extension()
        return {FIS_VARIABLE: {"layer_arn": layer}} if layer else {}

    def start(self, target: Target, targets: list[str], duration_s: float) -> str | None:
        if target.cannot_take_down(self.part) is None:
            target.take_down(self.part, True, targets)
            return None
        return self.experiment(target.aws, targets, duration_s)

    def end(self, target: Target, targets: list[str], before: Any) -> None:
        if target.cannot_take_down(self.part) is None:
            target.take_down(self.part, False, targets)
        elif before:  # the experiment that start began
            fis.stop(target.aws, before)


class LambdaErrors(_FunctionFault):
    """Every invocation fails without running (on AWS: FIS's aws:lambda:invocation-error
    with preventExecution). Whoever invoked retries as Lambda documents: an event-source
    mapping on a stream or a topic retries the batch (up to MaximumRetryAttempts, -1: until
    it succeeds), a queue's batch comes back after its visibility timeout (to the
    dead-letter queue after maxReceiveCount receives), an asynchronous invocation is tried
    again after 1 and 2 minutes."""

    name = "lambda_errors"
    expected = Expected(
        frozenset({"duplicate"}),
        "no loss, duplicates allowed (a retried batch is written again); lag of changes made "
        "meanwhile within the errors' duration plus the floor (event-source mappings on "
        "streams and topics retry a failed batch until it succeeds)",
    )
    part = "functions"

    def experiment(self, aws: AwsAccess, functions: list[str], duration_s: float) -> str:
        return fis.lambda_invocation_errors(aws, functions, duration_s)


class LambdaTimeouts(_FunctionFault):
    """Every invocation hangs until the function's timeout, then fails with
    Sandbox.Timedout, without running (on AWS: FIS's aws:lambda:invocation-add-delay with a
    startup delay past the timeout). Whoever invoked waits that long before it retries as
    for any failure, so an invocation begun just before the fault's end holds its batch for
    the whole timeout."""

    name = "lambda_timeouts"
    expected = Expected(
        frozenset({"duplicate"}),
        "no loss, duplicates allowed (a retried batch is written again); lag of changes made "
        "meanwhile within the duration plus the floor, the functions' timeout and 10 s (an "
        "invocation begun before the end hangs until its timeout)",
    )
    part = "timeouts"

    def slack_s(self, state: dict[str, Any], targets: list[str]) -> float:
        timeouts = [
            float(attributes.get("timeout") or 3)
            for attributes in self._instances(state)
            if attributes.get("function_name") in targets
        ]
        return self.expected.slack_s + max(timeouts, default=0.0)

    def experiment(self, aws: AwsAccess, functions: list[str], duration_s: float) -> str:
        return fis.lambda_invocation_timeouts(aws, functions, duration_s)


SEND_MESSAGE = "sqs:SendMessage"


class QueueSendsDenied(FaultKind):
    """SetQueueAttributes on every SQS queue of the pattern: its policy gains a statement
    denying everyone sqs:SendMessage (SendMessageBatch too), so every send is refused with
    AccessDenied; at the end the policy is put back as it was. An application that sends
    after its commit, as the article's does, loses those events: the change is committed, its
    event never sent. An outbox relay retries them once sends are accepted again. On AWS a
    policy change takes up to a minute to reach every SQS host: the refusals begin and end
    that much later than the fault's record says."""

    name = "queue_sends_denied"
    expected = Expected(
        frozenset({"duplicate"}),
        "loses exactly the changes whose event the application never sent (a send after the "
        "commit is not retried; an outbox relay retries until it is taken), nothing more; "
        "duplicates allowed; lag of the changes sent meanwhile within the denial's duration "
        "plus the floor",
        lost="never_sent",
    )
    acts_on = ("aws_sqs_queue", "url")
    SID = "cdcbench-fault-queue-sends-denied"

    def unavailable(self, target: Target) -> str | None:
        return target.cannot_deny(SEND_MESSAGE)

    def start(self, target: Target, targets: list[str], duration_s: float) -> dict[str, str]:
        sqs = target.aws.client("sqs")
        before = {}
        for url in targets:
            held = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy", "QueueArn"])
            attributes = held["Attributes"]
            before[url] = attributes.get("Policy", "")
            policy = json.loads(before[url] or '{"Version": "2012-10-17", "Statement": []}')
            statements = policy.get("Statement", [])
            policy["Statement"] = [
                *(statements if isinstance(statements, list) else [statements]),
                {
                    "Sid": self.SID,
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": SEND_MESSAGE,
                    "Resource": attributes["QueueArn"],
                },
            ]
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        return before

    def end(self, target: Target, targets: list[str], before: Any) -> None:
        sqs = target.aws.client("sqs")
        before = before or {}  # a start that failed part of the way: none had a policy
        for url in targets:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": before.get(url, "")})


class DynamoDbThrottle(FaultKind):
    """UpdateTable on every DynamoDB table of the pattern: its on-demand maximum write
    throughput (OnDemandThroughput's MaxWriteRequestUnits) set to 1 a second, the least
    DynamoDB takes, so nearly every write is throttled (ThrottlingException; a batch's writes
    come back unprocessed); at the end the maximum is put back as it was (-1: none). Writers
    retry with backoff as AWS SDKs do; one whose retries run out fails what it was writing,
    to be retried as its kind retries failures: an event-source mapping's batch, a DMS task
    restarted from its checkpoint, a poller's next attempt."""

    name = "dynamodb_throttle"
    expected = Expected(
        frozenset({"duplicate"}),
        "no loss, duplicates allowed (a write whose retries ran out is retried with what it "
        "belonged to); lag of changes made meanwhile within the throttle's duration plus the "
        "floor and 20 s (the writers' backoff)",
        slack_s=20.0,
    )
    acts_on = ("aws_dynamodb_table", "name")
    LIMIT = 1
    """Write request units a second while throttled: the least a maximum can be."""

    def unavailable(self, target: Target) -> str | None:
        return target.cannot_throttle("dynamodb")

    def start(self, target: Target, targets: list[str], duration_s: float) -> dict[str, int]:
        dynamodb = target.aws.client("dynamodb")
        before = {}
        for name in targets:
            table = dynamodb.describe_table(TableName=name)["Table"]
            limits = table.get("OnDemandThroughput", {})
            before[name] = limits.get("MaxWriteRequestUnits", UNLIMITED)
            _limit_writes(dynamodb, name, self.LIMIT)
        await_none(lambda: _tables_not_active(dynamodb, targets))
        return before

    def end(self, target: Target, targets: list[str], before: Any) -> None:
        dynamodb = target.aws.client("dynamodb")
        before = before or {}  # a start that failed part of the way: none had a maximum
        for name in targets:
            _limit_writes(dynamodb, name, before.get(name, UNLIMITED))
        await_none(lambda: _tables_not_active(dynamodb, targets))


UNLIMITED = -1
"""The maximum throughput that removes the maximum."""


def _limit_writes(dynamodb: Any, table: str, units: int) -> None:
    dynamodb.update_table(TableName=table, OnDemandThroughput={"MaxWriteRequestUnits": units})


def _tables_not_active(dynamodb: Any, tables: list[str]) -> list[str]:
    """The tables still updating (a change of its maximum throughput takes a moment on AWS)."""
    return [
        name
        for name in tables
        if dynamodb.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE"
    ]


class LateCdcFile(_Outage):
    """The upload of a DMS S3 target's next CDC file stalls while the task writes the next
    ones; once the fault ends it completes, after a later file has been in the bucket for a
    batch: the file lands after one that sorts after it. A DMS task reading the folder as its
    S3 source takes CDC files in lexical order and skips a file that lands after a later one
    was read (as DMS documents), so whatever it feeds lacks that file's changes for good. On
    the local target only (its DMS engine): on AWS, DMS uploads its files itself."""

    name = "late_cdc_file"
    expected = Expected(
        frozenset({"out_of_order"}),
        "the store keeps every change (a reader taking objects as they land sees the late "
        "file's out of order); what reads the store with DMS's S3 source loses exactly the "
        "changes carried only by the late file, nothing more; lag within the stall's "
        "duration plus the floor and 20 s (the stalled file waits for a later one)",
        slack_s=20.0,
        lost="late_files",
    )
    acts_on = ("aws_dms_s3_endpoint", "endpoint_arn")
    part = "uploads"


LOB_BURST = "lob_burst"


class LobBurst(FaultKind):
    """For the fault's duration every widget the load writes carries notes of the workload's
    `lob_bytes` (a text column: a LOB to DMS), where `lob_ratio` gives only some: a burst of
    large rows. DMS in limited LOB mode truncates a LOB longer than its LobMaxSize (the
    pattern's `lob_max_size_kb`), as it documents, so what it moves holds those rows with
    another value. The load applies it (on every target), on its own clock: the ledger
    records each change's largest LOB (`Change.lob_bytes`), so which rows were past the
    limit is known exactly."""

    name = LOB_BURST
    expected = Expected(
        frozenset(),
        "no loss, no duplicate; divergent only the rows carrying a LOB past the pattern's LOB "
        "limit (lob_max_size_kb: DMS truncates them in limited LOB mode), none in a pattern "
        "without one; lag within the burst's duration plus the floor",
    )
    acts_on = None

    def start(self, target: Target, targets: list[str], duration_s: float) -> None:
        """Nothing to break: the load writes the burst (`harness.load.workload.Workload`)."""

    def end(self, target: Target, targets: list[str], before: Any) -> None:
        """Nothing to mend: the load's burst ends with the fault's duration."""


class NetworkDelay(_Outage):
    """What crosses the link between the data centre and the cloud is held 100 ms each way
    for the fault's duration (200 ms round trips): every DMS task's connections to the
    source database, its replication stream and its queries. Nothing breaks; each change
    arrives that much later, and what waits on a round trip waits longer. On the local and
    LocalStack targets (the link they lay between the cloud side and the source); elsewhere
    the link is the user's."""

    name = "network_delay"
    expected = Expected(
        frozenset(),
        "no loss, no duplicate; lag within the delay's duration plus the floor",
    )
    acts_on = ("aws_dms_endpoint", "endpoint_arn")
    only = (("endpoint_type", "source"),)  # what reads the source across the link
    part = "link"


KINDS: dict[str, FaultKind] = {
    kind.name: kind
    for kind in (
        DmsTaskStop(),
        DmsInstanceReboot(),
        LambdaThrottle(),
        LambdaErrors(),
        LambdaTimeouts(),
        SourceRestart(),
        KafkaDown(),
        KafkaRebalance(),
        QueueSendsDenied(),
        DynamoDbThrottle(),
        LateCdcFile(),
        LobBurst(),
        NetworkDelay(),
    )
}
