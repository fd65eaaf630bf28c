"""`cdcbench gc` against moto: a run's tagged leftovers are found by age and deleted in a
safe order, while a younger run's and untagged resources stay."""

import io
import json
import secrets
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from harness.aws import AwsAccess
from harness.gc import Leftover, delete_leftovers, find_leftovers
from tests.conftest import BareCloud
from tests.lambda_support import LAMBDA_TRUST

pytestmark = pytest.mark.slow

PATTERN = "sqs_lambda_eventstore"
_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"}],
}

_POSTGRES = {
    "EngineName": "postgres",
    "ServerName": "localhost",
    "Port": 5432,
    "DatabaseName": "app",
    "Username": "app",
    "Password": "app",
}
_SELECTION = {
    "rule-type": "selection",
    "rule-id": "1",
    "rule-name": "1",
    "object-locator": {"schema-name": "public", "table-name": "%"},
    "rule-action": "include",
}


def _s3_settings(name: str, role_arn: str) -> dict[str, str]:
    return {"BucketName": f"{name}-archive", "ServiceAccessRoleArn": role_arn}


def _run_id(age: timedelta) -> str:
    return f"{datetime.now(UTC) - age:%Y%m%d-%H%M%S}-gc-{secrets.token_hex(2)}"


@dataclass
class Run:
    """What one run left behind: its id and the ARNs of its tagged resources."""

    run_id: str
    arns: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return f"cdcbench-{self.run_id}"

    @property
    def tags(self) -> dict[str, str]:
        return {"cdcbench:run-id": self.run_id, "cdcbench:pattern": PATTERN}

    def tag_list(self, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
        return [{key: k, value: v} for k, v in self.tags.items()]


def _queue(aws: AwsAccess, name: str, tags: dict[str, str] | None) -> str:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=name, tags=tags or {})["QueueUrl"]
    return str(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    )


def _table(aws: AwsAccess, run: Run, name: str) -> str:
    return str(
        aws.client("dynamodb").create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            Tags=run.tag_list(),
        )["TableDescription"]["TableArn"]
    )


def _young_run(aws: AwsAccess) -> Run:
    run = Run(_run_id(timedelta(minutes=10)))
    run.arns.add(_queue(aws, f"{run.name}-events", run.tags))
    run.arns.add(_table(aws, run, f"{run.name}-read-model"))
    return run


def _old_run(aws: AwsAccess) -> Run:
    """A pattern's worth of leftovers: queue, table, stream, versioned bucket, function with
    its role and policies and event source mapping, a DMS task with its endpoints and
    instance, an ECS service with its cluster and task definition, logs, secret, key,
    network."""
    run = Run(_run_id(timedelta(hours=3)))
    name, tags = run.name, run.tags
    queue = _queue(aws, f"{name}-events", tags)
    run.arns |= {queue, _table(aws, run, f"{name}-event-store")}

    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName=f"{name}-changes", ShardCount=1)
    # Tagged afterwards: moto's CreateStream drops its Tags.
    kinesis.add_tags_to_stream(StreamName=f"{name}-changes", Tags=tags)
    summary = kinesis.describe_stream_summary(StreamName=f"{name}-changes")
    run.arns.add(summary["StreamDescriptionSummary"]["StreamARN"])

    s3 = aws.client("s3")
    s3.create_bucket(Bucket=f"{name}-archive")
    s3.put_bucket_tagging(Bucket=f"{name}-archive", Tagging={"TagSet": run.tag_list()})
    s3.put_bucket_versioning(
        Bucket=f"{name}-archive", VersioningConfiguration={"Status": "Enabled"}
    )
    for body in (b"v1", b"v2"):
        s3.put_object(Bucket=f"{name}-archive", Key="events/1.json", Body=body)
    s3.put_object(Bucket=f"{name}-archive", Key="events/2.json", Body=b"x")
    s3.delete_object(Bucket=f"{name}-archive", Key="events/2.json")  # a delete marker
    run.arns.add(f"arn:aws:s3:::{name}-archive")

    iam = aws.client("iam")
    role = iam.create_role(
        RoleName=f"{name}-fn",
        AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST),
        Tags=run.tag_list(),
    )["Role"]
    iam.put_role_policy(
        RoleName=f"{name}-fn", PolicyName="inline", PolicyDocument=json.dumps(_POLICY)
    )
    policy = iam.create_policy(
        PolicyName=f"{name}-fn", PolicyDocument=json.dumps(_POLICY), Tags=run.tag_list()
    )["Policy"]
    iam.attach_role_policy(RoleName=f"{name}-fn", PolicyArn=policy["Arn"])
    run.arns |= {role["Arn"], policy["Arn"]}

    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    awslambda = aws.client("lambda")
    function = awslambda.create_function(
        FunctionName=f"{name}-fn",
        Runtime="python3.11",
        Role=role["Arn"],
        Handler="app.handler",
        Code={"ZipFile": package.getvalue()},
        Tags=tags,
    )["FunctionArn"]
    awslambda.create_event_source_mapping(
        EventSourceArn=queue, FunctionName=function, Enabled=False
    )
    run.arns.add(function)

    dms = aws.client("dms")
    instance = dms.create_replication_instance(
        ReplicationInstanceIdentifier=f"{name}-dms",
        ReplicationInstanceClass="dms.t3.micro",
        Tags=run.tag_list(),
    )["ReplicationInstance"]["ReplicationInstanceArn"]
    source, target = (
        dms.create_endpoint(
            EndpointIdentifier=f"{name}-{kind}",
            EndpointType=kind,
            Tags=run.tag_list(),
            **settings,
        )["Endpoint"]["EndpointArn"]
        for kind, settings in (
            ("source", _POSTGRES),
            ("target", {"EngineName": "s3", "S3Settings": _s3_settings(name, role["Arn"])}),
        )
    )
    task = dms.create_replication_task(
        ReplicationTaskIdentifier=f"{name}-cdc",
        SourceEndpointArn=source,
        TargetEndpointArn=target,
        ReplicationInstanceArn=instance,
        MigrationType="cdc",
        TableMappings=json.dumps({"rules": [_SELECTION]}),
        Tags=run.tag_list(),
    )["ReplicationTask"]["ReplicationTaskArn"]
    # Not started: with no local DMS engine here, a stop would never complete.
    run.arns |= {instance, source, target, task}

    logs = aws.client("logs")
    logs.create_log_group(logGroupName=f"/aws/lambda/{name}-fn", tags=tags)
    group = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}-fn")["logGroups"][0]
    run.arns.add(group["arn"].removesuffix(":*"))

    secret = aws.client("secretsmanager").create_secret(
        Name=f"{name}-source", SecretString="pw", Tags=run.tag_list()
    )
    key = aws.client("kms").create_key(Tags=run.tag_list("TagKey", "TagValue"))
    run.arns |= {secret["ARN"], key["KeyMetadata"]["Arn"]}

    ecs = aws.client("ecs")
    ecs_tags = run.tag_list("key", "value")
    cluster = ecs.create_cluster(clusterName=f"{name}-load", tags=ecs_tags)["cluster"]
    definition = ecs.register_task_definition(
        family=f"{name}-load",
        containerDefinitions=[{"name": "worker", "image": "cdcbench:1", "memory": 512}],
        tags=ecs_tags,
    )["taskDefinition"]["taskDefinitionArn"]
    service = ecs.create_service(
        cluster=cluster["clusterArn"],
        serviceName=f"{name}-load",
        taskDefinition=definition,
        desiredCount=1,
        tags=ecs_tags,
    )["service"]["serviceArn"]
    run.arns |= {cluster["clusterArn"], definition, service}

    ec2 = aws.client("ec2")

    def spec(kind: str) -> list[dict[str, object]]:
        return [{"ResourceType": kind, "Tags": run.tag_list()}]

    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16", TagSpecifications=spec("vpc"))["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(
        VpcId=vpc, CidrBlock="10.42.1.0/24", TagSpecifications=spec("subnet")
    )["Subnet"]["SubnetId"]
    groups = [
        ec2.create_security_group(
            GroupName=f"{name}-{role_}",
            Description=role_,
            VpcId=vpc,
            TagSpecifications=spec("security-group"),
        )["GroupId"]
        for role_ in ("fn", "db")
    ]
    # Each group lets the other in: neither can go while the other's rule names it.
    for group_id, other in (groups, reversed(groups)):
        ec2.authorize_security_group_ingress(
            GroupId=group_id,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 5432,
                    "ToPort": 5432,
                    "UserIdGroupPairs": [{"GroupId": other}],
                }
            ],
        )
    prefix = f"arn:aws:ec2:{aws.region}:123456789012"
    run.arns |= {f"{prefix}:vpc/{vpc}", f"{prefix}:subnet/{subnet}"}
    run.arns |= {f"{prefix}:security-group/{group}" for group in groups}
    return run


@pytest.fixture
def untagged(bare_cloud: BareCloud) -> Iterator[tuple[str, str]]:
    """An untagged queue and bucket (named like a run's): neither is a leftover."""
    aws = bare_cloud.aws
    name = f"cdcbench-{_run_id(timedelta(hours=5))}-untagged"
    url = aws.client("sqs").create_queue(QueueName=name)["QueueUrl"]
    aws.client("s3").create_bucket(Bucket=name)
    yield url, name
    aws.client("sqs").delete_queue(QueueUrl=url)
    aws.client("s3").delete_bucket(Bucket=name)


def _of(leftovers: list[Leftover], run: Run) -> list[Leftover]:
    return [item for item in leftovers if item.run_id == run.run_id]


def test_old_runs_leftovers_are_found_and_deleted_others_stay(
    bare_cloud: BareCloud, untagged: tuple[str, str]
) -> None:
    aws = bare_cloud.aws
    old, young = _old_run(aws), _young_run(aws)
    try:
        found = find_leftovers(aws, older_than=timedelta(hours=2))

        assert not _of(found, young)
        leftovers = _of(found, old)
        assert {item.arn for item in leftovers} == old.arns
        assert {item.pattern for item in leftovers} == {PATTERN}
        started = datetime.strptime(old.run_id[:15], "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
        assert {item.started for item in leftovers} == {started}
        order = [(item.service, item.resource_type) for item in leftovers]
        for first, then in [
            (("lambda", "function"), ("sqs", "queue")),
            (("lambda", "function"), ("iam", "role")),
            (("ecs", "service"), ("ecs", "cluster")),
            (("ecs", "service"), ("ecs", "task-definition")),
            (("dms", "task"), ("dms", "endpoint")),
            (("dms", "endpoint"), ("dms", "rep")),
            (("ec2", "security-group"), ("ec2", "subnet")),
            (("ec2", "subnet"), ("ec2", "vpc")),
            (("iam", "role"), ("iam", "policy")),
        ]:
            assert order.index(first) < order.index(then)
        assert {item.arn for item in _of(find_leftovers(aws), young)} == young.arns

        lines: list[str] = []
        assert delete_leftovers(aws, leftovers, lines.append) == []

        assert not _of(find_leftovers(aws), old)
        assert len([line for line in lines if line.startswith("deleted ")]) == len(old.arns)
        assert not [line for line in lines if line.startswith("could not")]
        assert {item.arn for item in _of(find_leftovers(aws), young)} == young.arns
        mappings = aws.client("lambda").list_event_source_mappings()["EventSourceMappings"]
        assert not [m for m in mappings if old.run_id in m.get("FunctionArn", "")]
        with pytest.raises(ClientError):
            aws.client("s3").head_bucket(Bucket=f"{old.name}-archive")
        url, bucket = untagged
        aws.client("sqs").get_queue_attributes(QueueUrl=url)
        aws.client("s3").head_bucket(Bucket=bucket)
    finally:
        left = [item for item in find_leftovers(aws) if item.run_id in (old.run_id, young.run_id)]
        delete_leftovers(aws, left, lambda _: None)


def test_unsupported_and_vanished_resources_are_reported_not_raised(
    bare_cloud: BareCloud,
) -> None:
    run_id = _run_id(timedelta(hours=3))
    region = bare_cloud.aws.region

    def item(arn: str, service: str, resource_type: str) -> Leftover:
        return Leftover(arn, service, resource_type, run_id, PATTERN, None)

    topic = item(f"arn:aws:sns:{region}:123456789012:cdcbench-{run_id}-t", "sns", "topic")
    queue = item(f"arn:aws:sqs:{region}:123456789012:cdcbench-{run_id}-gone", "sqs", "queue")
    lines: list[str] = []

    failures = delete_leftovers(bare_cloud.aws, [topic, queue], lines.append)

    assert failures == [f"{topic.arn}: not deleted: unsupported type"]
    assert lines == [f"already gone: sqs:queue cdcbench-{run_id}-gone"]
