"""Leftovers of past runs, found by their tags, and their deletion (`cdcbench gc`).

Every resource a pattern's Terraform creates carries `cdcbench:run-id` and
`cdcbench:pattern` (the provider's default tags). When a run's destroy never happened, its
Terraform state may be gone with the host that ran it, so `terraform destroy` has nothing to
work from. The Resource Groups Tagging API lists tagged resources but deletes nothing, and
AWS has no generic delete: this module lists the resources by tag (plus IAM roles and
policies, which that API leaves out, and Kinesis streams, which some emulators leave out) and
deletes each through its own service, in an order in which every deletion can succeed.
"""

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

from botocore.exceptions import ClientError

from harness.aws import AwsAccess
from harness.teardown import stop_replication_tasks

RUN_ID_TAG = "cdcbench:run-id"
PATTERN_TAG = "cdcbench:pattern"
_RUN_ID_START = re.compile(r"^(\d{8}-\d{6})(?:-|$)")
_RUN_ID_TIME = "%Y%m%d-%H%M%S"
_AGE = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")
_AGE_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_UNTYPED = {"sqs": "queue", "s3": "bucket", "sns": "topic"}
"""Services whose ARNs name the resource with no type in front."""
_GONE_CODE = re.compile(r"NotFound|NoSuch|NonExistent|DoesNotExist")
WAIT_S = 1800.0
"""How long deletions that complete later (DMS, MSK, RDS, ...) are awaited per step."""


@dataclass(frozen=True)
class Leftover:
    """A tagged resource of some run, as its ARN and tags describe it."""

    arn: str
    service: str
    resource_type: str
    run_id: str
    pattern: str | None
    started: datetime | None

    @property
    def resource_id(self) -> str:
        """The ARN's resource part after its type (`name`, `group/name`, ...)."""
        return split_arn(self.arn)[2]

    def describe(self) -> str:
        """`service:type id`, for progress lines."""
        return f"{self.service}:{self.resource_type} {self.resource_id}"


def split_arn(arn: str) -> tuple[str, str, str]:
    """(service, resource type, resource id) of `arn`; ValueError when it is none."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[2]:
        raise ValueError(f"not an ARN: {arn!r}")
    service, resource = parts[2], parts[5]
    if service in _UNTYPED:
        return service, _UNTYPED[service], resource
    typed = re.match(r"([^:/]+)[:/](.*)$", resource)
    if not typed:
        return service, resource, ""
    return service, typed[1], typed[2]


def run_started(run_id: str) -> datetime | None:
    """The UTC start time a run id begins with (`%Y%m%d-%H%M%S-...`); None when it has none."""
    match = _RUN_ID_START.match(run_id)
    if not match:
        return None
    try:
        return datetime.strptime(match[1], _RUN_ID_TIME).replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_age(text: str) -> timedelta:
    """`30m`, `2h`, `1d` as a timedelta (for `--older-than`)."""
    match = _AGE.match(text)
    if not match:
        raise ValueError(
            f"invalid age {text!r}: expected a whole number followed by m (minutes), "
            "h (hours) or d (days), e.g. 30m, 2h or 1d"
        )
    return timedelta(**{_AGE_UNITS[match[2]]: int(match[1])})


def leftover(arn: str, tags: dict[str, str]) -> Leftover:
    """The leftover a resource with these tags is (it must carry `cdcbench:run-id`)."""
    service, resource_type, _ = split_arn(arn)
    run_id = tags[RUN_ID_TAG]
    return Leftover(arn, service, resource_type, run_id, tags.get(PATTERN_TAG), run_started(run_id))


def select_older(leftovers: list[Leftover], older_than: timedelta, now: datetime) -> list[Leftover]:
    """The leftovers of runs that started at least `older_than` before `now` (a run whose id
    carries no start time is left out: its age is unknown)."""
    return [
        item for item in leftovers if item.started is not None and now - item.started >= older_than
    ]


def find_leftovers(
    aws: AwsAccess, older_than: timedelta | None = None, now: datetime | None = None
) -> list[Leftover]:
    """Every resource tagged with a run id, in deletion order; with `older_than`, only those
    of runs at least that old. What is listed though deleted already (`_being_deleted`) is
    left out."""
    tagged: dict[str, dict[str, str]] = {}
    pages = (
        aws.client("resourcegroupstaggingapi")
        .get_paginator("get_resources")
        .paginate(TagFilters=[{"Key": RUN_ID_TAG}])
    )
    for page in pages:
        for mapping in page["ResourceTagMappingList"]:
            tagged[mapping["ResourceARN"]] = _tag_dict(mapping.get("Tags", []))
    for lister in (_iam_roles, _iam_policies, _kinesis_streams):
        for arn, tags in lister(aws):
            tagged.setdefault(arn, tags)
    found = [leftover(arn, tags) for arn, tags in tagged.items() if tags.get(RUN_ID_TAG)]
    if older_than is not None:
        found = select_older(found, older_than, now or datetime.now(UTC))
    clients = _Clients(aws)
    found = [item for item in found if not _being_deleted(clients, item)]
    return sorted(found, key=_deletion_order)


def delete_leftovers(
    aws: AwsAccess,
    leftovers: list[Leftover],
    report: Callable[[str], None],
    wait_s: float = WAIT_S,
    poll_s: float = 5.0,
) -> list[str]:
    """Delete `leftovers` in dependency order, passing `report` one line per resource
    deleted, skipped or already gone (and while waiting for slow deletions); returns one line
    per resource that could not be deleted, and why. One failure never stops the rest."""
    clients = _Clients(aws)
    failures: dict[str, str] = {}
    for _, step in groupby(sorted(leftovers, key=_deletion_order), key=_rank):
        items = list(step)
        unsupported = [item for item in items if _kind(item) is None]
        for item in unsupported:
            failures[item.arn] = "unsupported type"
        items = [item for item in items if item not in unsupported]
        _prepare(aws, clients, items, report)
        deleted, errors = _delete_step(clients, items, report)
        failures.update(errors)
        failures.update(_await_gone(clients, deleted, report, wait_s, poll_s))
    return [
        f"{item.arn}: not deleted: {failures[item.arn]}"
        for item in sorted(leftovers, key=_deletion_order)
        if item.arn in failures
    ]


class _Clients:
    """One boto3 client per service, made on first use."""

    def __init__(self, aws: AwsAccess) -> None:
        self.aws = aws
        self._made: dict[str, Any] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._made:
            self._made[service] = self.aws.client(service)
        return self._made[service]


# ---- finding -----------------------------------------------------------------------------


def _tag_dict(tags: list[dict[str, str]]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags}


def _iam_roles(aws: AwsAccess) -> Iterator[tuple[str, dict[str, str]]]:
    iam = aws.client("iam")
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            if role.get("Path", "/").startswith("/aws-service-role/"):
                continue
            tags = _ignoring_gone(lambda r=role: iam.list_role_tags(RoleName=r["RoleName"]))
            if tags and tags.get("Tags"):
                yield role["Arn"], _tag_dict(tags["Tags"])


def _iam_policies(aws: AwsAccess) -> Iterator[tuple[str, dict[str, str]]]:
    iam = aws.client("iam")
    for page in iam.get_paginator("list_policies").paginate(Scope="Local"):
        for policy in page["Policies"]:
            tags = _ignoring_gone(lambda p=policy: iam.list_policy_tags(PolicyArn=p["Arn"]))
            if tags and tags.get("Tags"):
                yield policy["Arn"], _tag_dict(tags["Tags"])


def _kinesis_streams(aws: AwsAccess) -> Iterator[tuple[str, dict[str, str]]]:
    kinesis = aws.client("kinesis")
    seen: set[str] = set()
    for page in kinesis.get_paginator("list_streams").paginate():
        for stream in page.get("StreamSummaries", []):
            if stream["StreamARN"] in seen or stream.get("StreamStatus") == "DELETING":
                continue
            seen.add(stream["StreamARN"])
            tags = _ignoring_gone(
                lambda s=stream: kinesis.list_tags_for_stream(StreamName=s["StreamName"], Limit=50)
            )
            if tags and tags.get("Tags"):
                yield stream["StreamARN"], _tag_dict(tags["Tags"])


def _being_deleted(clients: _Clients, item: Leftover) -> bool:
    """Listed by tag, but deleted already: a KMS key scheduled for deletion (until its
    waiting period ends), an INACTIVE ECS service or cluster (AWS lists them for a while)."""
    check = {
        ("kms", "key"): _key_pending_deletion,
        ("ecs", "service"): _ecs_service_gone,
        ("ecs", "cluster"): _ecs_cluster_gone,
    }.get((item.service, item.resource_type))
    return check is not None and check(clients, item)


def _key_pending_deletion(clients: _Clients, item: Leftover) -> bool:
    described = _ignoring_gone(lambda: clients("kms").describe_key(KeyId=item.resource_id))
    if described is None:
        return True
    return described["KeyMetadata"]["KeyState"] in ("PendingDeletion", "PendingReplicaDeletion")


def _ignoring_gone(call: Callable[[], Any]) -> Any:
    """`call()`, or None when what it reads no longer exists."""
    try:
        return call()
    except ClientError as exc:
        if _is_gone(exc):
            return None
        raise


def _is_gone(exc: Exception) -> bool:
    return isinstance(exc, ClientError) and bool(
        _GONE_CODE.search(exc.response.get("Error", {}).get("Code", ""))
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"


# ---- deleting ----------------------------------------------------------------------------


_Delete = Callable[[_Clients, Leftover], str | None]
"""Deletes a resource; returns why it was skipped instead, when it was."""
_Gone = Callable[[_Clients, Leftover], bool]
"""Whether a resource whose deletion was started is gone (later steps need it gone)."""


@dataclass(frozen=True)
class _Kind:
    delete: _Delete
    gone: _Gone | None = None


def _prepare(
    aws: AwsAccess, clients: _Clients, items: list[Leftover], report: Callable[[str], None]
) -> None:
    """What a step's deletions need first: DMS tasks stopped; security groups' rules naming
    other groups revoked (two groups naming each other could not be deleted otherwise)."""
    tasks = [item.arn for item in items if (item.service, item.resource_type) == _DMS_TASK]
    if tasks:
        try:
            stop_replication_tasks(aws, tasks)
        except Exception as exc:
            report(f"could not stop DMS tasks first ({_reason(exc)})")
    for item in items:
        if (item.service, item.resource_type) == _SECURITY_GROUP:
            try:
                _revoke_group_references(clients, item.resource_id)
            except Exception as exc:
                if not _is_gone(exc):
                    report(f"could not revoke the rules of {item.describe()} ({_reason(exc)})")


def _delete_step(
    clients: _Clients, items: list[Leftover], report: Callable[[str], None]
) -> tuple[list[Leftover], dict[str, str]]:
    """Delete `items` (one step of the order); retried while a pass makes progress, as one
    may depend on another of the same type (security groups referencing each other)."""
    deleted: list[Leftover] = []
    pending = items
    errors: dict[str, str] = {}
    while pending:
        errors = {}
        for item in pending:
            kind = _kind(item)
            assert kind is not None
            try:
                skipped = kind.delete(clients, item)
            except Exception as exc:
                if _is_gone(exc):
                    report(f"already gone: {item.describe()}")
                else:
                    errors[item.arn] = _reason(exc)
                continue
            if skipped:
                report(f"skipped {item.describe()}: {skipped}")
            else:
                report(f"deleted {item.describe()}")
                deleted.append(item)
        if len(errors) == len(pending):
            break
        pending = [item for item in pending if item.arn in errors]
    return deleted, errors


def _await_gone(
    clients: _Clients,
    deleted: list[Leftover],
    report: Callable[[str], None],
    wait_s: float,
    poll_s: float,
) -> dict[str, str]:
    """Wait until the deletions that complete later have; why not, per ARN, on timeout."""
    waiting = [item for item in deleted if (kind := _kind(item)) and kind.gone]
    deadline = time.monotonic() + wait_s
    while waiting:
        waiting = [item for item in waiting if not _checked_gone(clients, item)]
        if not waiting:
            break
        if time.monotonic() >= deadline:
            return {
                item.arn: f"deletion started, not finished after {wait_s:.0f} s" for item in waiting
            }
        report(f"waiting for {len(waiting)} deletion(s) to finish: {waiting[0].describe()}, ...")
        time.sleep(poll_s)
    return {}


def _checked_gone(clients: _Clients, item: Leftover) -> bool:
    kind = _kind(item)
    assert kind is not None and kind.gone is not None
    try:
        return kind.gone(clients, item)
    except Exception as exc:
        return _is_gone(exc)


def _account(item: Leftover) -> str:
    return item.arn.split(":", 5)[4]


def _last(item: Leftover) -> str:
    return item.resource_id.rsplit("/", 1)[-1]


# Lambda, schedules


def _delete_mapping(c: _Clients, item: Leftover) -> None:
    c("lambda").delete_event_source_mapping(UUID=item.resource_id)


def _delete_function(c: _Clients, item: Leftover) -> None:
    awslambda = c("lambda")
    pages = awslambda.get_paginator("list_event_source_mappings").paginate(FunctionName=item.arn)
    for page in pages:
        for mapping in page["EventSourceMappings"]:
            _ignoring_gone(lambda m=mapping: awslambda.delete_event_source_mapping(UUID=m["UUID"]))
    awslambda.delete_function(FunctionName=item.arn)


def _delete_rule(c: _Clients, item: Leftover) -> None:
    bus, _, name = item.resource_id.rpartition("/")
    where = {"Rule": name, "EventBusName": bus or "default"}
    targets = c("events").list_targets_by_rule(**where)["Targets"]
    if targets:
        c("events").remove_targets(**where, Ids=[t["Id"] for t in targets], Force=True)
    c("events").delete_rule(Name=name, EventBusName=where["EventBusName"], Force=True)


def _delete_schedule(c: _Clients, item: Leftover) -> None:
    group, _, name = item.resource_id.rpartition("/")
    c("scheduler").delete_schedule(Name=name, GroupName=group or "default")


def _delete_schedule_group(c: _Clients, item: Leftover) -> str | None:
    if item.resource_id == "default":
        return "the default group cannot be deleted"
    c("scheduler").delete_schedule_group(Name=item.resource_id)
    return None


# DMS


def _delete_dms_task(c: _Clients, item: Leftover) -> None:
    c("dms").delete_replication_task(ReplicationTaskArn=item.arn)


def _dms_task_gone(c: _Clients, item: Leftover) -> bool:
    found = c("dms").describe_replication_tasks(
        Filters=[{"Name": "replication-task-arn", "Values": [item.arn]}], WithoutSettings=True
    )
    return not found["ReplicationTasks"]


def _delete_ecs_service(c: _Clients, item: Leftover) -> None:
    """Its tasks stop with it (`force`: whatever its desired count)."""
    cluster, service = item.resource_id.split("/", 1)
    c("ecs").delete_service(cluster=cluster, service=service, force=True)


def _ecs_service_gone(c: _Clients, item: Leftover) -> bool:
    cluster, service = item.resource_id.split("/", 1)
    found = _ignoring_gone(lambda: c("ecs").describe_services(cluster=cluster, services=[service]))
    return found is None or all(s["status"] == "INACTIVE" for s in found["services"])


def _delete_task_definition(c: _Clients, item: Leftover) -> None:
    """Deregistered (INACTIVE), then deleted: an INACTIVE revision is still listed by tag."""
    ecs = c("ecs")
    found = ecs.describe_task_definition(taskDefinition=item.arn)["taskDefinition"]
    if found["status"] == "ACTIVE":
        ecs.deregister_task_definition(taskDefinition=item.arn)
    ecs.delete_task_definitions(taskDefinitions=[item.arn])


def _delete_ecs_cluster(c: _Clients, item: Leftover) -> None:
    c("ecs").delete_cluster(cluster=item.arn)


def _ecs_cluster_gone(c: _Clients, item: Leftover) -> bool:
    found = c("ecs").describe_clusters(clusters=[item.arn])["clusters"]
    return all(cluster["status"] == "INACTIVE" for cluster in found)


def _delete_dms_endpoint(c: _Clients, item: Leftover) -> None:
    c("dms").delete_endpoint(EndpointArn=item.arn)


def _delete_dms_instance(c: _Clients, item: Leftover) -> None:
    c("dms").delete_replication_instance(ReplicationInstanceArn=item.arn)


def _dms_instance_gone(c: _Clients, item: Leftover) -> bool:
    found = c("dms").describe_replication_instances(
        Filters=[{"Name": "replication-instance-arn", "Values": [item.arn]}]
    )
    return not found["ReplicationInstances"]


def _delete_dms_subnet_group(c: _Clients, item: Leftover) -> None:
    c("dms").delete_replication_subnet_group(ReplicationSubnetGroupIdentifier=item.resource_id)


# MSK Connect, MSK


def _delete_connector(c: _Clients, item: Leftover) -> None:
    c("kafkaconnect").delete_connector(connectorArn=item.arn)


def _connector_gone(c: _Clients, item: Leftover) -> bool:
    c("kafkaconnect").describe_connector(connectorArn=item.arn)
    return False


def _delete_custom_plugin(c: _Clients, item: Leftover) -> None:
    c("kafkaconnect").delete_custom_plugin(customPluginArn=item.arn)


def _delete_worker_configuration(c: _Clients, item: Leftover) -> None:
    c("kafkaconnect").delete_worker_configuration(workerConfigurationArn=item.arn)


def _delete_msk_cluster(c: _Clients, item: Leftover) -> None:
    c("kafka").delete_cluster(ClusterArn=item.arn)


def _msk_cluster_gone(c: _Clients, item: Leftover) -> bool:
    c("kafka").describe_cluster(ClusterArn=item.arn)
    return False


# Streams, tables, queues, buckets, logs, secrets, keys


def _delete_firehose(c: _Clients, item: Leftover) -> None:
    c("firehose").delete_delivery_stream(DeliveryStreamName=item.resource_id)


def _delete_kinesis_stream(c: _Clients, item: Leftover) -> None:
    c("kinesis").delete_stream(StreamName=item.resource_id, EnforceConsumerDeletion=True)


def _delete_table(c: _Clients, item: Leftover) -> None:
    c("dynamodb").delete_table(TableName=item.resource_id)


def _delete_queue(c: _Clients, item: Leftover) -> None:
    sqs = c("sqs")
    url = sqs.get_queue_url(QueueName=item.resource_id, QueueOwnerAWSAccountId=_account(item))
    sqs.delete_queue(QueueUrl=url["QueueUrl"])


def _delete_bucket(c: _Clients, item: Leftover) -> None:
    """Empties the bucket first: every object version and delete marker, open uploads."""
    s3, bucket = c("s3"), item.resource_id
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        versions = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
        objects = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions]
        for start in range(0, len(objects), 1000):
            answer = s3.delete_objects(
                Bucket=bucket, Delete={"Objects": objects[start : start + 1000], "Quiet": True}
            )
            if answer.get("Errors"):
                error = answer["Errors"][0]
                raise RuntimeError(
                    f"emptying failed at {error['Key']}: {error.get('Code')} {error.get('Message')}"
                )
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
        for upload in page.get("Uploads", []):
            s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    s3.delete_bucket(Bucket=bucket)


def _delete_log_group(c: _Clients, item: Leftover) -> None:
    name = item.resource_id.removesuffix(":*")
    c("logs").delete_log_group(logGroupName=name)


def _delete_secret(c: _Clients, item: Leftover) -> None:
    c("secretsmanager").delete_secret(SecretId=item.arn, ForceDeleteWithoutRecovery=True)


def _schedule_key_deletion(c: _Clients, item: Leftover) -> str | None:
    state = c("kms").describe_key(KeyId=item.resource_id)["KeyMetadata"]["KeyState"]
    if state in ("PendingDeletion", "PendingReplicaDeletion"):
        return "already scheduled for deletion"
    # By key id: moto's ScheduleKeyDeletion does not accept the ARN AWS also takes.
    c("kms").schedule_key_deletion(KeyId=item.resource_id, PendingWindowInDays=7)
    return None


def _skip_alias(c: _Clients, item: Leftover) -> str:
    return "an alias goes with its key"


# RDS


def _delete_db_instance(c: _Clients, item: Leftover) -> None:
    c("rds").delete_db_instance(
        DBInstanceIdentifier=item.resource_id, SkipFinalSnapshot=True, DeleteAutomatedBackups=True
    )


def _db_instance_gone(c: _Clients, item: Leftover) -> bool:
    c("rds").describe_db_instances(DBInstanceIdentifier=item.resource_id)
    return False


def _delete_db_cluster(c: _Clients, item: Leftover) -> None:
    c("rds").delete_db_cluster(DBClusterIdentifier=item.resource_id, SkipFinalSnapshot=True)


def _db_cluster_gone(c: _Clients, item: Leftover) -> bool:
    c("rds").describe_db_clusters(DBClusterIdentifier=item.resource_id)
    return False


def _delete_db_subnet_group(c: _Clients, item: Leftover) -> None:
    c("rds").delete_db_subnet_group(DBSubnetGroupName=item.resource_id)


# EC2


def _delete_vpc_endpoint(c: _Clients, item: Leftover) -> None:
    answer = c("ec2").delete_vpc_endpoints(VpcEndpointIds=[item.resource_id])
    for failed in answer.get("Unsuccessful", []):
        error = failed.get("Error", {})
        raise ClientError({"Error": error}, "DeleteVpcEndpoints")


def _vpc_endpoint_gone(c: _Clients, item: Leftover) -> bool:
    found = c("ec2").describe_vpc_endpoints(VpcEndpointIds=[item.resource_id])["VpcEndpoints"]
    return all(endpoint["State"].lower() == "deleted" for endpoint in found)


def _delete_internet_gateway(c: _Clients, item: Leftover) -> None:
    ec2, gateway = c("ec2"), item.resource_id
    found = ec2.describe_internet_gateways(InternetGatewayIds=[gateway])["InternetGateways"]
    for attachment in found[0].get("Attachments", []) if found else []:
        ec2.detach_internet_gateway(InternetGatewayId=gateway, VpcId=attachment["VpcId"])
    ec2.delete_internet_gateway(InternetGatewayId=gateway)


def _revoke_group_references(c: _Clients, group_id: str) -> None:
    """Revoke the group's ingress and egress rules that name other security groups."""
    ec2 = c("ec2")
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    for rules, revoke in (
        (group.get("IpPermissions", []), ec2.revoke_security_group_ingress),
        (group.get("IpPermissionsEgress", []), ec2.revoke_security_group_egress),
    ):
        naming = [
            {
                **{k: rule[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in rule},
                "UserIdGroupPairs": [{"GroupId": p["GroupId"]} for p in rule["UserIdGroupPairs"]],
            }
            for rule in rules
            if rule.get("UserIdGroupPairs")
        ]
        if naming:
            revoke(GroupId=group_id, IpPermissions=naming)


def _revoke_rule(c: _Clients, item: Leftover) -> None:
    ec2 = c("ec2")
    rules = ec2.describe_security_group_rules(SecurityGroupRuleIds=[item.resource_id])
    rule = rules["SecurityGroupRules"][0]
    revoke = (
        ec2.revoke_security_group_egress
        if rule["IsEgress"]
        else (ec2.revoke_security_group_ingress)
    )
    revoke(GroupId=rule["GroupId"], SecurityGroupRuleIds=[item.resource_id])


def _delete_security_group(c: _Clients, item: Leftover) -> str | None:
    ec2 = c("ec2")
    group = ec2.describe_security_groups(GroupIds=[item.resource_id])["SecurityGroups"][0]
    if group["GroupName"] == "default":
        return "a VPC's default group goes with its VPC"
    ec2.delete_security_group(GroupId=item.resource_id)
    return None


def _delete_subnet(c: _Clients, item: Leftover) -> None:
    c("ec2").delete_subnet(SubnetId=item.resource_id)


def _delete_route_table(c: _Clients, item: Leftover) -> str | None:
    ec2 = c("ec2")
    table = ec2.describe_route_tables(RouteTableIds=[item.resource_id])["RouteTables"][0]
    associations = table.get("Associations", [])
    if any(association.get("Main") for association in associations):
        return "a VPC's main route table goes with its VPC"
    for association in associations:
        ec2.disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
    ec2.delete_route_table(RouteTableId=item.resource_id)
    return None


def _delete_vpc(c: _Clients, item: Leftover) -> None:
    c("ec2").delete_vpc(VpcId=item.resource_id)


# IAM


def _delete_role(c: _Clients, item: Leftover) -> None:
    """Deletes its inline policies and detaches its managed ones first."""
    iam, role = c("iam"), _last(item)
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=role):
        for name in page["PolicyNames"]:
            iam.delete_role_policy(RoleName=role, PolicyName=name)
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role):
        for policy in page["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=role, PolicyArn=policy["PolicyArn"])
    for page in iam.get_paginator("list_instance_profiles_for_role").paginate(RoleName=role):
        for profile in page["InstanceProfiles"]:
            iam.remove_role_from_instance_profile(
                InstanceProfileName=profile["InstanceProfileName"], RoleName=role
            )
    iam.delete_role(RoleName=role)


def _delete_policy(c: _Clients, item: Leftover) -> None:
    """Detaches it from every role, user and group, and deletes its other versions first."""
    iam, arn = c("iam"), item.arn
    for page in iam.get_paginator("list_entities_for_policy").paginate(PolicyArn=arn):
        for role in page.get("PolicyRoles", []):
            iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=arn)
        for user in page.get("PolicyUsers", []):
            iam.detach_user_policy(UserName=user["UserName"], PolicyArn=arn)
        for group in page.get("PolicyGroups", []):
            iam.detach_group_policy(GroupName=group["GroupName"], PolicyArn=arn)
    for page in iam.get_paginator("list_policy_versions").paginate(PolicyArn=arn):
        for version in page["Versions"]:
            if not version["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    iam.delete_policy(PolicyArn=arn)


_DMS_TASK = ("dms", "task")
_SECURITY_GROUP = ("ec2", "security-group")
_ORDER: list[dict[tuple[str, str], _Kind]] = [
    # What invokes functions, then the functions.
    {
        ("scheduler", "schedule"): _Kind(_delete_schedule),
        ("scheduler", "schedule-group"): _Kind(_delete_schedule_group),
        ("events", "rule"): _Kind(_delete_rule),
        ("lambda", "event-source-mapping"): _Kind(_delete_mapping),
    },
    {("lambda", "function"): _Kind(_delete_function)},
    # ECS: services (their tasks with them), then task definitions and clusters.
    {("ecs", "service"): _Kind(_delete_ecs_service, _ecs_service_gone)},
    {
        ("ecs", "task-definition"): _Kind(_delete_task_definition),
        ("ecs", "cluster"): _Kind(_delete_ecs_cluster),
    },
    # DMS: tasks (stopped first), endpoints, replication instances, subnet groups.
    {_DMS_TASK: _Kind(_delete_dms_task, _dms_task_gone)},
    {("dms", "endpoint"): _Kind(_delete_dms_endpoint)},
    {("dms", "rep"): _Kind(_delete_dms_instance, _dms_instance_gone)},
    {("dms", "subgrp"): _Kind(_delete_dms_subnet_group)},
    # MSK Connect, then MSK.
    {("kafkaconnect", "connector"): _Kind(_delete_connector, _connector_gone)},
    {
        ("kafkaconnect", "custom-plugin"): _Kind(_delete_custom_plugin),
        ("kafkaconnect", "worker-configuration"): _Kind(_delete_worker_configuration),
    },
    {("kafka", "cluster"): _Kind(_delete_msk_cluster, _msk_cluster_gone)},
    # Data: Firehose before the streams it reads.
    {("firehose", "deliverystream"): _Kind(_delete_firehose)},
    {
        ("kinesis", "stream"): _Kind(_delete_kinesis_stream),
        ("dynamodb", "table"): _Kind(_delete_table),
        ("sqs", "queue"): _Kind(_delete_queue),
        ("s3", "bucket"): _Kind(_delete_bucket),
        ("logs", "log-group"): _Kind(_delete_log_group),
        ("secretsmanager", "secret"): _Kind(_delete_secret),
    },
    # RDS: instances, clusters, subnet groups.
    {("rds", "db"): _Kind(_delete_db_instance, _db_instance_gone)},
    {("rds", "cluster"): _Kind(_delete_db_cluster, _db_cluster_gone)},
    {("rds", "subgrp"): _Kind(_delete_db_subnet_group)},
    # Keys once nothing that uses them is left (deletion is scheduled, 7 days).
    {("kms", "key"): _Kind(_schedule_key_deletion), ("kms", "alias"): _Kind(_skip_alias)},
    # The network, inside out.
    {("ec2", "vpc-endpoint"): _Kind(_delete_vpc_endpoint, _vpc_endpoint_gone)},
    {("ec2", "internet-gateway"): _Kind(_delete_internet_gateway)},
    {("ec2", "security-group-rule"): _Kind(_revoke_rule)},
    {_SECURITY_GROUP: _Kind(_delete_security_group)},
    {("ec2", "subnet"): _Kind(_delete_subnet)},
    {("ec2", "route-table"): _Kind(_delete_route_table)},
    {("ec2", "vpc"): _Kind(_delete_vpc)},
    # IAM last: roles (with their policies), then managed policies.
    {("iam", "role"): _Kind(_delete_role)},
    {("iam", "policy"): _Kind(_delete_policy)},
]
_KINDS = {key: kind for step in _ORDER for key, kind in step.items()}
_RANKS = {key: rank for rank, step in enumerate(_ORDER) for key in step}


def _kind(item: Leftover) -> _Kind | None:
    return _KINDS.get((item.service, item.resource_type))


def _rank(item: Leftover) -> int:
    """Its step in the deletion order; unsupported types last."""
    return _RANKS.get((item.service, item.resource_type), len(_ORDER))


def _deletion_order(item: Leftover) -> tuple[int, str, str]:
    return _rank(item), item.run_id, item.arn
