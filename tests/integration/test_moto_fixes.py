"""moto's own delivery to mapped Lambda functions is off: the sources keep their records for
the local Lambda runtime (and the observers) to read."""

import io
import json
import zipfile

import pytest

from harness.targets import Target

pytestmark = pytest.mark.slow

HANDLER = "def handler(event, context):\n    return None\n"


def _function(target: Target, name: str) -> str:
    iam = target.aws.client("iam")
    role = iam.create_role(
        RoleName=f"{name}-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as z:
        z.writestr("app.py", HANDLER)
    found = target.aws.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": package.getvalue()},
    )
    return str(found["FunctionArn"])


def test_a_mapped_dynamodb_stream_keeps_its_records(local_target: Target) -> None:
    ddb = local_target.aws.client("dynamodb")
    table = ddb.create_table(
        TableName="mapped",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    stream = table["LatestStreamArn"]
    local_target.aws.client("lambda").create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName=_function(local_target, "mapped-ddb"),
        StartingPosition="TRIM_HORIZON",
    )
    ddb.put_item(TableName="mapped", Item={"pk": {"S": "a"}})
    streams = local_target.aws.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT"]


def test_a_mapped_queue_keeps_its_messages_unreceived(local_target: Target) -> None:
    sqs = local_target.aws.client("sqs")
    url = sqs.create_queue(QueueName="mapped")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    local_target.aws.client("lambda").create_event_source_mapping(
        EventSourceArn=arn["QueueArn"], FunctionName=_function(local_target, "mapped-sqs")
    )
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    received = sqs.receive_message(
        QueueUrl=url, WaitTimeSeconds=1, AttributeNames=["ApproximateReceiveCount"]
    )["Messages"]
    assert [m["Body"] for m in received] == ["hello"]
    assert received[0]["Attributes"]["ApproximateReceiveCount"] == "1", "moto received it first"
