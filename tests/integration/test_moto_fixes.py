"""The moto fixes through moto's server (the bare cloud): moto's own delivery to mapped Lambda
functions is off (the sources keep their records for the local Lambda runtime and the
observers to read), SQS queue attributes read as moto's, items of every type read back
exactly, a TLS-only bucket policy lets requests through, DMS subnet groups describe their
subnets. And a moto the fixes no longer fit stops the server with one line. Each correction
on its own, against moto without it: `tests/unit/test_moto_corrections.py`."""

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness.errors import UserError
from harness.local import moto_server
from harness.local.moto_fixes.guard import PINNED
from harness.local.moto_server import MotoServer
from harness.process import spawn
from tests.conftest import BareCloud
from tests.lambda_support import create_function

pytestmark = pytest.mark.slow

HANDLER = "def handler(event, context):\n    return None\n"


def test_a_mapped_dynamodb_stream_keeps_its_records(bare_cloud: BareCloud) -> None:
    ddb = bare_cloud.aws.client("dynamodb")
    table = ddb.create_table(
        TableName="mapped",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    stream = table["LatestStreamArn"]
    bare_cloud.aws.client("lambda").create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName=create_function(bare_cloud.aws, "mapped-ddb", HANDLER),
        StartingPosition="TRIM_HORIZON",
    )
    ddb.put_item(TableName="mapped", Item={"pk": {"S": "a"}})
    streams = bare_cloud.aws.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT"]


def test_a_mapped_queue_keeps_its_messages_unreceived(bare_cloud: BareCloud) -> None:
    sqs = bare_cloud.aws.client("sqs")
    url = sqs.create_queue(QueueName="mapped")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    bare_cloud.aws.client("lambda").create_event_source_mapping(
        EventSourceArn=arn["QueueArn"],
        FunctionName=create_function(bare_cloud.aws, "mapped-sqs", HANDLER),
    )
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    received = sqs.receive_message(
        QueueUrl=url, WaitTimeSeconds=1, AttributeNames=["ApproximateReceiveCount"]
    )["Messages"]
    assert [m["Body"] for m in received] == ["hello"]
    assert received[0]["Attributes"]["ApproximateReceiveCount"] == "1", "moto received it first"


def test_queue_attributes_read_as_moto_computes_them(bare_cloud: BareCloud) -> None:
    sqs = bare_cloud.aws.client("sqs")
    dlq = sqs.create_queue(QueueName="attrs-dlq.fifo", Attributes={"FifoQueue": "true"})
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq["QueueUrl"], AttributeNames=["QueueArn"])
    redrive = {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": 3}
    url = sqs.create_queue(
        QueueName="attrs.fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "true",
            "RedrivePolicy": json.dumps(redrive),
            "VisibilityTimeout": "7",
        },
    )["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{n}", MessageGroupId="g")
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert found["ApproximateNumberOfMessages"] == "2"
    assert found["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert found["FifoQueue"] == "true" and found["ContentBasedDeduplication"] == "true"
    assert found["VisibilityTimeout"] == "7"
    assert json.loads(found["RedrivePolicy"]) == redrive
    assert "KmsMasterKeyId" not in found and "Policy" not in found
    picked = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "Policy"])
    assert picked["Attributes"] == {"VisibilityTimeout": "7"}
    # content-based deduplication still reads the attribute: a repeat body is dropped
    sqs.send_message(QueueUrl=url, MessageBody="m0", MessageGroupId="g")
    again = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert again["Attributes"]["ApproximateNumberOfMessages"] == "2"


def test_items_of_every_attribute_type_read_back_exactly(bare_cloud: BareCloud) -> None:
    """Items answered in their stored wire form (the serializer fix) and items with binary
    values (still serialized member by member) read back exactly from every read path."""
    dynamodb = bare_cloud.aws.client("dynamodb")
    streams = bare_cloud.aws.client("dynamodbstreams")
    table = f"every-type-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    plain = {
        "pk": {"S": "plain"},
        "n": {"N": "12.3400"},
        "s": {"S": 'ünï "quoted"'},
        "t": {"BOOL": True},
        "z": {"NULL": True},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2.5"]},
        "m": {"M": {"k": {"L": [{"N": "1"}, {"S": "x"}, {"M": {}}]}, "e": {"L": []}}},
    }
    binary = {
        "pk": {"S": "binary"},
        "b": {"B": b"\x00\xff"},
        "bs": {"BS": [b"\x01"]},
        "m": {"M": {"b": {"B": b"\x02"}}},
    }
    for item in (plain, binary):
        dynamodb.put_item(TableName=table, Item=item)

    def by_key(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {i["pk"]["S"]: i for i in items}

    expected = {"plain": plain, "binary": binary}
    got = {k: dynamodb.get_item(TableName=table, Key={"pk": {"S": k}})["Item"] for k in expected}
    assert got == expected
    assert by_key(dynamodb.scan(TableName=table)["Items"]) == expected
    arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert by_key([r["dynamodb"]["NewImage"] for r in records]) == expected


def test_a_tls_only_bucket_policy_lets_requests_through(bare_cloud: BareCloud) -> None:
    """The emulator is reached over plain HTTP; AWS clients always use TLS, so a TLS-only
    Deny does not apply. An unconditional Deny still denies."""
    s3 = bare_cloud.aws.client("s3")
    bucket = f"tls-only-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)

    def policy(**condition: Any) -> str:
        statement = {
            "Sid": "deny",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            **({"Condition": condition} if condition else {}),
        }
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    s3.put_bucket_policy(Bucket=bucket, Policy=policy(Bool={"aws:SecureTransport": "false"}))
    s3.put_object(Bucket=bucket, Key="allowed", Body=b"x")
    assert s3.get_object(Bucket=bucket, Key="allowed")["Body"].read() == b"x"

    s3.put_bucket_policy(Bucket=bucket, Policy=policy())
    with pytest.raises(s3.exceptions.ClientError, match=r"AccessDenied|Forbidden"):
        s3.put_object(Bucket=bucket, Key="denied", Body=b"x")


def test_a_dms_subnet_group_describes_its_own_subnets(bare_cloud: BareCloud) -> None:
    ec2, dms = bare_cloud.aws.client("ec2"), bare_cloud.aws.client("dms")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = {
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=zone)["Subnet"][
            "SubnetId"
        ]: zone
        for i, zone in enumerate(("us-east-1a", "us-east-1b"))
    }
    dms.create_replication_subnet_group(
        ReplicationSubnetGroupIdentifier="fix-subnets",
        ReplicationSubnetGroupDescription="two zones",
        SubnetIds=list(subnets),
        Tags=[{"Key": "team", "Value": "cdc"}],
    )

    group = dms.describe_replication_subnet_groups(
        Filters=[{"Name": "replication-subnet-group-id", "Values": ["fix-subnets"]}]
    )["ReplicationSubnetGroups"][0]

    assert group["VpcId"] == vpc
    shown = {s["SubnetIdentifier"]: s["SubnetAvailabilityZone"]["Name"] for s in group["Subnets"]}
    assert shown == subnets
    arn = "arn:aws:dms:us-east-1:123456789012:subgrp:fix-subnets"
    tags = dms.list_tags_for_resource(ResourceArn=arn)["TagList"]
    assert [(t["Key"], t["Value"]) for t in tags] == [("team", "cdc")]
    with pytest.raises(ClientError) as refused:
        dms.create_replication_subnet_group(
            ReplicationSubnetGroupIdentifier="fix-unknown",
            ReplicationSubnetGroupDescription="no such subnet",
            SubnetIds=["subnet-0000000000000000f"],
        )
    assert refused.value.response["Error"]["Code"] == "InvalidSubnet"


@pytest.mark.parametrize(
    ("outdated", "line"),
    [
        (
            {"OUTDATED_MOTO_VERSION": "5.3.0"},
            "moto fix server.retries_answered_once: moto 5.3.0 installed, "
            f"{PINNED['moto']} pinned: pin moto back (constraints.txt) "
            "or update the fix and the pin",
        ),
        (
            {
                "OUTDATED_MOTO_VERSION": "5.3.0",
                "OUTDATED_MOTO_DROP": "moto.dynamodb.models.DynamoDBBackend.transact_write_items",
            },
            "moto fix dynamodb.atomic_writes: moto.dynamodb.models.DynamoDBBackend"
            f".transact_write_items is gone (moto 5.3.0 installed, {PINNED['moto']} pinned): "
            "pin moto back or update the fix",
        ),
    ],
)
def test_a_moto_the_fixes_do_not_fit_stops_the_server_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, outdated: dict[str, str], line: str
) -> None:
    def outdated_child(
        module: str, args: list[str], log_path: Path, env: dict[str, str] | None = None
    ) -> Any:
        assert module == "harness.local.moto_child"
        return spawn("tests.outdated_moto_child", args, log_path, env)

    monkeypatch.setattr(moto_server, "spawn", outdated_child)
    for name, value in outdated.items():
        monkeypatch.setenv(name, value)
    server = MotoServer(tmp_path)
    with pytest.raises(UserError) as refused:
        server.start()
    assert str(refused.value) == line
    assert server.pid is None, "the child is stopped"
