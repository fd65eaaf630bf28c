"""The moto fixes through moto's server (the bare cloud): moto's own delivery to mapped Lambda
functions is off (the sources keep their records for the local Lambda runtime and the
observers to read), SQS queue attributes read as moto's, items of every type read back
exactly, a TLS-only bucket policy lets requests through, DMS subnet groups describe their
subnets. And a moto the fixes no longer fit stops the server with one line. Each correction
on its own, against moto without it: `tests/unit/test_moto_corrections.py`."""

import json
import time
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
from tests.helpers import keyed_table
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


# Queues and streams as they fill (the speed fixes for history: each call's cost stays the
# same however much a queue or stream has seen; the answers are AWS's, as moto gave them).


def _history_queue(sqs: Any, prefix: str, **attributes: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    if attributes.get("FifoQueue") == "true":
        name += ".fifo"
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def _received(sqs: Any, url: str, count: int = 10, **more: Any) -> list[dict[str, Any]]:
    answer = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=count, AttributeNames=["All"], **more
    )
    return list(answer.get("Messages", []))


def _depth(sqs: Any, url: str) -> tuple[int, int, int]:
    """(visible, in flight, delayed)."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    names.append("ApproximateNumberOfMessagesDelayed")
    found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    visible, hidden, delayed = (int(found[name]) for name in names)
    return visible, hidden, delayed


def test_a_queue_hands_out_messages_in_order_around_those_in_flight(
    bare_cloud: BareCloud,
) -> None:
    import time

    sqs = bare_cloud.aws.client("sqs")
    url = _history_queue(sqs, "history", VisibilityTimeout="30")
    for start in range(0, 25, 10):
        entries = [
            {"Id": str(n), "MessageBody": f"m{n}"} for n in range(start, min(start + 10, 25))
        ]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)

    def bodies(messages: list[dict[str, Any]]) -> list[str]:
        return [m["Body"] for m in messages]

    first = _received(sqs, url)
    second = _received(sqs, url, VisibilityTimeout=2)
    back_at = time.monotonic() + 2
    assert bodies(first) == [f"m{n}" for n in range(10)]
    assert bodies(second) == [f"m{n}" for n in range(10, 20)]
    assert bodies(_received(sqs, url)) == [f"m{n}" for n in range(20, 25)]  # all there is
    assert _received(sqs, url) == []
    assert _depth(sqs, url) == (0, 25, 0)

    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=first[3]["ReceiptHandle"], VisibilityTimeout=0
    )
    [again] = _received(sqs, url, count=1)
    assert (again["Body"], again["Attributes"]["ApproximateReceiveCount"]) == ("m3", "2")

    time.sleep(max(0.0, back_at - time.monotonic()) + 0.2)
    returned = _received(sqs, url)  # back from their visibility timeout, in order
    assert bodies(returned) == [f"m{n}" for n in range(10, 20)]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in returned} == {"2"}

    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])  # again: fine
    sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(returned)
        ],
    )
    assert _depth(sqs, url) == (0, 14, 0)
    for call, more in (
        (sqs.delete_message, {}),
        (sqs.change_message_visibility, {"VisibilityTimeout": 0}),
    ):
        with pytest.raises(ClientError) as refused:
            call(QueueUrl=url, ReceiptHandle="not-a-receipt-handle", **more)
        assert refused.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_a_delayed_message_waits_and_a_long_poll_returns_when_one_comes(
    bare_cloud: BareCloud,
) -> None:
    import threading
    import time

    sqs = bare_cloud.aws.client("sqs")
    url = _history_queue(sqs, "history-wait")
    started = time.monotonic()
    assert _received(sqs, url, WaitTimeSeconds=1) == []
    assert time.monotonic() - started >= 0.9, "a long poll of an empty queue waits it out"

    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    assert _received(sqs, url) == []
    assert _depth(sqs, url) == (0, 0, 1)
    started = time.monotonic()
    [late] = _received(sqs, url, WaitTimeSeconds=10)
    assert late["Body"] == "later" and time.monotonic() - started < 5

    sender = threading.Timer(0.5, lambda: sqs.send_message(QueueUrl=url, MessageBody="soon"))
    sender.start()
    started = time.monotonic()
    [soon] = _received(sqs, url, WaitTimeSeconds=10)
    sender.join()
    assert soon["Body"] == "soon" and time.monotonic() - started < 5


def test_a_message_received_too_often_moves_to_the_dead_letter_queue(
    bare_cloud: BareCloud,
) -> None:
    sqs = bare_cloud.aws.client("sqs")
    dlq = _history_queue(sqs, "history-dlq")
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    redrive = {"deadLetterTargetArn": dlq_arn["QueueArn"], "maxReceiveCount": 2}
    url = _history_queue(sqs, "history-redrive", RedrivePolicy=json.dumps(redrive))
    for body in ("poison", "fine"):
        sqs.send_message(QueueUrl=url, MessageBody=body)

    for count in ("1", "2"):
        got = _received(sqs, url, VisibilityTimeout=0)
        assert [(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in got] == [
            ("poison", count),
            ("fine", count),
        ]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[1]["ReceiptHandle"])
    assert _received(sqs, url) == []  # received twice already: moved, not handed out
    assert _depth(sqs, url) == (0, 0, 0)
    assert [m["Body"] for m in _received(sqs, dlq)] == ["poison"]
    with pytest.raises(ClientError) as refused:  # its handles went with it
        sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    assert refused.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_a_fifo_group_waits_while_its_message_is_in_flight(bare_cloud: BareCloud) -> None:
    sqs = bare_cloud.aws.client("sqs")
    url = _history_queue(sqs, "history", FifoQueue="true", ContentBasedDeduplication="true")
    for body, group in (("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b"), ("a3", "a")):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)

    def bodies(messages: list[dict[str, Any]]) -> list[str]:
        return [m["Body"] for m in messages]

    [first] = _received(sqs, url, count=1)
    assert first["Body"] == "a1"
    assert bodies(_received(sqs, url)) == ["b1", "b2"]  # group a waits for a1
    assert _received(sqs, url) == []
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0
    )
    again = _received(sqs, url)
    assert bodies(again) == ["a1", "a2", "a3"]
    numbers = [int(m["Attributes"]["SequenceNumber"]) for m in again]
    assert numbers == sorted(numbers)


def test_kinesis_reads_follow_their_iterators(bare_cloud: BareCloud) -> None:
    import time

    kinesis = bare_cloud.aws.client("kinesis")
    stream = f"history-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)
    entries = [{"Data": f"r{n}".encode(), "PartitionKey": f"k{n}"} for n in range(20)]
    kinesis.put_records(StreamName=stream, Records=entries)
    time.sleep(0.1)
    between = time.time()
    time.sleep(0.1)
    for n in range(20, 35):
        kinesis.put_record(StreamName=stream, Data=f"r{n}".encode(), PartitionKey=f"k{n}")
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]

    def iterator(kind: str, **more: Any) -> str:
        answer = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard, ShardIteratorType=kind, **more
        )
        return str(answer["ShardIterator"])

    def page(token: str, limit: int = 100) -> tuple[list[str], str, int]:
        answer = kinesis.get_records(ShardIterator=token, Limit=limit)
        data = [r["Data"].decode() for r in answer["Records"]]
        return data, answer["NextShardIterator"], answer["MillisBehindLatest"]

    read: list[str] = []
    first = token = iterator("TRIM_HORIZON")
    while True:
        data, token, behind = page(token, 7)
        if not data:
            break
        read += data
    assert read == [f"r{n}" for n in range(35)]
    assert behind == 0
    assert page(first, 7)[0] == read[:7], "an iterator can be read again"
    numbers = [
        r["SequenceNumber"] for r in kinesis.get_records(ShardIterator=first, Limit=12)["Records"]
    ]
    at = page(iterator("AT_SEQUENCE_NUMBER", StartingSequenceNumber=numbers[10]), 3)[0]
    after = page(iterator("AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=numbers[10]), 3)[0]
    assert (at, after) == (["r10", "r11", "r12"], ["r11", "r12", "r13"])
    assert page(iterator("AT_TIMESTAMP", Timestamp=between), 2)[0] == ["r20", "r21"]
    latest = iterator("LATEST")
    assert page(latest)[0] == []
    kinesis.put_record(StreamName=stream, Data=b"r35", PartitionKey="k")
    assert page(latest)[0] == ["r35"]

    now = time.time()
    [point] = bare_cloud.aws.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Kinesis",
        MetricName="IncomingRecords",
        Dimensions=[{"Name": "StreamName", "Value": stream}],
        StartTime=now - 3600,
        EndTime=now + 3600,
        Period=3600,
        Statistics=["Sum", "SampleCount", "Maximum"],
    )["Datapoints"]
    assert (point["Sum"], point["SampleCount"], point["Maximum"]) == (36.0, 17.0, 20.0)


def test_dynamodb_stream_iterators_are_reusable_tokens(bare_cloud: BareCloud) -> None:
    dynamodb = bare_cloud.aws.client("dynamodb")
    streams = bare_cloud.aws.client("dynamodbstreams")
    table = f"history-{uuid.uuid4().hex[:8]}"
    arn = dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )["TableDescription"]["LatestStreamArn"]
    for n in range(5):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": f"k{n}"}})
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]

    def iterator(kind: str, **more: Any) -> str:
        answer = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType=kind, **more
        )
        return str(answer["ShardIterator"])

    def page(token: str, limit: int = 100) -> tuple[list[str], list[str], str]:
        answer = streams.get_records(ShardIterator=token, Limit=limit)
        records = answer["Records"]
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in records]
        numbers = [r["dynamodb"]["SequenceNumber"] for r in records]
        return keys, numbers, answer["NextShardIterator"]

    first = iterator("TRIM_HORIZON")
    keys, numbers, token = page(first, 2)
    assert keys == ["k0", "k1"]
    assert page(token, 2)[0] == ["k2", "k3"]
    assert page(first, 3)[0] == ["k0", "k1", "k2"], "an iterator can be read again"
    at = page(iterator("AT_SEQUENCE_NUMBER", SequenceNumber=numbers[1]))[0]
    after = page(iterator("AFTER_SEQUENCE_NUMBER", SequenceNumber=numbers[1]))[0]
    assert (at, after) == (["k1", "k2", "k3", "k4"], ["k2", "k3", "k4"])
    tail = page(page(first)[2])
    assert tail[0] == [] and page(tail[2])[0] == [], "at the tail, the position holds"
    latest = iterator("LATEST")
    assert page(latest)[0] == []
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "k5"}})
    assert page(latest)[0] == ["k5"]
    assert page(tail[2])[0] == ["k5"]


def test_an_on_demand_tables_maximum_write_throughput_throttles_its_writes(
    bare_cloud: BareCloud,
) -> None:
    """UpdateTable's OnDemandThroughput is kept and answered; writes past its maximum are
    throttled (a batch's as unprocessed items) until it is removed again (-1)."""
    ddb = bare_cloud.aws.client("dynamodb")
    name = f"limited-{uuid.uuid4().hex[:8]}"
    keyed_table(ddb, name)
    ddb.update_table(TableName=name, OnDemandThroughput={"MaxWriteRequestUnits": 1})
    described = ddb.describe_table(TableName=name)["Table"]
    assert described["OnDemandThroughput"] == {"MaxWriteRequestUnits": 1}

    ddb.put_item(TableName=name, Item={"pk": {"S": "first"}})
    with pytest.raises(ClientError) as refused:
        ddb.put_item(TableName=name, Item={"pk": {"S": "second"}})
    error = refused.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["throttlingReasons"] == [
        {"reason": "TableWriteMaxOnDemandThroughputExceeded", "resource": described["TableArn"]}
    ]
    with pytest.raises(ClientError, match="ThrottlingException"):
        ddb.delete_item(TableName=name, Key={"pk": {"S": "first"}})

    time.sleep(1.1)  # a second's allowance again: one write of the batch goes through
    writes = [{"PutRequest": {"Item": {"pk": {"S": f"b{i}"}}}} for i in range(5)]
    answer = ddb.batch_write_item(RequestItems={name: writes})
    assert answer["UnprocessedItems"] == {name: writes[1:]}
    assert ddb.get_item(TableName=name, Key={"pk": {"S": "b0"}}).get("Item")
    assert not ddb.get_item(TableName=name, Key={"pk": {"S": "b1"}}).get("Item")

    ddb.update_table(TableName=name, OnDemandThroughput={"MaxWriteRequestUnits": -1})
    assert "OnDemandThroughput" not in ddb.describe_table(TableName=name)["Table"]
    assert not ddb.batch_write_item(RequestItems={name: writes})["UnprocessedItems"]
