"""Each correction in `harness.local.moto_fixes.corrections`, shown: the same calls against
moto as released (in process, under `mock_aws`) show the behaviour the fix corrects, then
with the fix they show AWS's. When moto corrects one upstream, its test fails on the first
assertion and says which fix can go."""

from __future__ import annotations

import datetime
import io
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.server import ThreadedMotoServer

from tests.helpers import create_msk_cluster
from tests.moto_fix_support import applied, fixed_upstream

REGION = "us-east-1"


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


@contextmanager
def _raw_bodies(client: Any) -> Iterator[list[bytes]]:
    """The raw body of every response `client` receives in the block, before parsing."""
    bodies: list[bytes] = []

    def keep(response_dict: dict[str, Any], **_: Any) -> None:
        bodies.append(response_dict["body"])

    client.meta.events.register("before-parse", keep)
    yield bodies
    client.meta.events.unregister("before-parse", keep)


# DMS


def _dms_task(dms: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(source endpoint, replication instance, replication task), each as the raw JSON
    moto answered its create call with."""
    with _raw_bodies(dms) as bodies:
        dms.create_endpoint(
            EndpointIdentifier="source",
            EndpointType="source",
            EngineName="postgres",
            ServerName="db",
            Port=5432,
            DatabaseName="app",
            Username="u",
            Password="p",
        )
        dms.create_replication_instance(
            ReplicationInstanceIdentifier="instance", ReplicationInstanceClass="dms.t3.micro"
        )
    endpoint = json.loads(bodies[0])["Endpoint"]
    instance = json.loads(bodies[1])["ReplicationInstance"]
    target = dms.create_endpoint(
        EndpointIdentifier="target",
        EndpointType="target",
        EngineName="s3",
        S3Settings={"BucketName": "b", "ServiceAccessRoleArn": "arn:aws:iam::1:role/r"},
    )["Endpoint"]
    with _raw_bodies(dms) as bodies:
        dms.create_replication_task(
            ReplicationTaskIdentifier="task",
            SourceEndpointArn=endpoint["EndpointArn"],
            TargetEndpointArn=target["EndpointArn"],
            ReplicationInstanceArn=instance["ReplicationInstanceArn"],
            MigrationType="cdc",
            TableMappings="{}",
        )
    return endpoint, instance, json.loads(bodies[0])["ReplicationTask"]


def test_dms_timestamps_are_epoch_seconds() -> None:
    def dates() -> tuple[Any, Any]:
        with mock_aws():
            _, instance, task = _dms_task(_client("dms"))
        return task["ReplicationTaskCreationDate"], instance["InstanceCreateTime"]

    assert all(isinstance(d, str) for d in dates()), fixed_upstream("dms.epoch_timestamps")
    with applied("dms.epoch_timestamps"):
        assert all(isinstance(d, float) for d in dates())


def test_dms_tasks_and_endpoints_reach_their_created_state() -> None:
    def states() -> tuple[str, str]:
        with mock_aws():
            endpoint, _, task = _dms_task(_client("dms"))
        return endpoint["Status"], task["Status"]

    assert states() == ("creating", "creating"), fixed_upstream("dms.created_states")
    with applied("dms.created_states"):
        assert states() == ("active", "ready")


def test_a_dms_instance_without_a_subnet_group_has_the_default_one() -> None:
    def group() -> Any:
        with mock_aws():
            _, instance, _ = _dms_task(_client("dms"))
        return instance.get("ReplicationSubnetGroup")

    assert group() is None, fixed_upstream("dms.default_subnet_group")
    with applied("dms.default_subnet_group"):
        assert group()["ReplicationSubnetGroupIdentifier"] == "default"


def test_a_dms_subnet_group_describes_its_own_subnets() -> None:
    def described() -> tuple[str, dict[str, str], list[Any], str | None]:
        with mock_aws():
            ec2, dms = _client("ec2"), _client("dms")
            vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
            subnet = ec2.create_subnet(
                VpcId=vpc, CidrBlock="10.9.1.0/24", AvailabilityZone="us-east-1b"
            )["Subnet"]["SubnetId"]
            dms.create_replication_subnet_group(
                ReplicationSubnetGroupIdentifier="group",
                ReplicationSubnetGroupDescription="one zone",
                SubnetIds=[subnet],
                Tags=[{"Key": "team", "Value": "cdc"}],
            )
            group = dms.describe_replication_subnet_groups()["ReplicationSubnetGroups"][0]
            arn = f"arn:aws:dms:{REGION}:123456789012:subgrp:group"
            listed = dms.list_tags_for_resource(ResourceArn=arn)["TagList"]
            tags = [(t["Key"], t["Value"]) for t in listed]
            try:
                dms.create_replication_subnet_group(
                    ReplicationSubnetGroupIdentifier="unknown",
                    ReplicationSubnetGroupDescription="no such subnet",
                    SubnetIds=["subnet-0000000000000000f"],
                )
                refused = None
            except ClientError as exc:
                refused = exc.response["Error"]["Code"]
            shown = {
                s["SubnetIdentifier"]: s["SubnetAvailabilityZone"]["Name"] for s in group["Subnets"]
            }
            return group["VpcId"] == vpc, shown == {subnet: "us-east-1b"}, tags, refused

    assert described() == (False, False, [], None), fixed_upstream("dms.subnet_groups")
    with applied("dms.subnet_groups"):
        assert described() == (True, True, [("team", "cdc")], "InvalidSubnet")


# Writes racing in moto's request threads


class _Meeting:
    """Holds the first caller until a second one arrives (at most `wait_s`): two requests
    then interleave between reading the state and writing it."""

    def __init__(self, wait_s: float = 1.0) -> None:
        self.wait_s = wait_s
        self._arrived = 0
        self._cond = threading.Condition()

    def meet(self) -> None:
        with self._cond:
            self._arrived += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._arrived >= 2, self.wait_s)


def _at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in its own thread; what each returned or raised."""
    outcomes: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            outcomes[index] = calls[index]()
        except Exception as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return outcomes


def test_concurrent_conditional_puts_do_not_both_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.dynamodb.models import table

    def outcomes() -> list[str]:
        meeting = _Meeting()

        class MeetingItem(table.Item):  # made after moto read the current item
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                meeting.meet()
                super().__init__(*args, **kwargs)

        monkeypatch.setattr(table, "Item", MeetingItem)
        with mock_aws():
            _client("dynamodb").create_table(
                TableName="t",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            clients = [_client("dynamodb") for _ in range(2)]

            def put(client: Any, writer: str) -> Callable[[], Any]:
                item = {"pk": {"S": "k"}, "writer": {"S": writer}}
                condition = "attribute_not_exists(pk)"
                return lambda: client.put_item(
                    TableName="t", Item=item, ConditionExpression=condition
                )

            done = _at_once(put(clients[0], "a"), put(clients[1], "b"))
        monkeypatch.setattr(table, "Item", MeetingItem.__mro__[1])
        return sorted("failed" if isinstance(o, ClientError) else "put" for o in done)

    assert outcomes() == ["put", "put"], fixed_upstream("dynamodb.atomic_writes")
    with applied("dynamodb.atomic_writes"):
        assert outcomes() == ["failed", "put"]


def test_concurrent_kinesis_puts_keep_both_records(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.kinesis import models

    def kept() -> int:
        meeting = _Meeting()

        class MeetingRecord(models.Record):  # made after moto numbered it
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                meeting.meet()
                super().__init__(*args, **kwargs)

        monkeypatch.setattr(models, "Record", MeetingRecord)
        with mock_aws():
            kinesis = _client("kinesis")
            kinesis.create_stream(StreamName="s", ShardCount=1)
            clients = [_client("kinesis") for _ in range(2)]
            _at_once(
                *(
                    lambda c=c, n=n: c.put_record(StreamName="s", Data=n, PartitionKey="k")
                    for n, c in zip((b"a", b"b"), clients, strict=True)
                )
            )
            shard = kinesis.describe_stream(StreamName="s")["StreamDescription"]["Shards"][0]
            iterator = kinesis.get_shard_iterator(
                StreamName="s", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            records = kinesis.get_records(ShardIterator=iterator)["Records"]
        monkeypatch.setattr(models, "Record", MeetingRecord.__mro__[1])
        return len(records)

    assert kept() == 1, fixed_upstream("kinesis.atomic_puts")
    with applied("kinesis.atomic_puts"):
        assert kept() == 2


# Lambda


def _function(lam: Any) -> str:
    role = _client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as zipped:
        zipped.writestr("handler.py", "def handler(event, context):\n    return None\n")
    return str(
        lam.create_function(
            FunctionName="f",
            Runtime="python3.12",
            Role=role["Arn"],
            Handler="handler.handler",
            Code={"ZipFile": package.getvalue()},
        )["FunctionArn"]
    )


def test_a_mapping_shows_its_starting_position_timestamp() -> None:
    at = datetime.datetime(2024, 5, 6, tzinfo=datetime.UTC)

    def shown() -> Any:
        with mock_aws():
            lam, kinesis = _client("lambda"), _client("kinesis")
            kinesis.create_stream(StreamName="s", ShardCount=1)
            arn = kinesis.describe_stream(StreamName="s")["StreamDescription"]["StreamARN"]
            mapping = lam.create_event_source_mapping(
                EventSourceArn=arn,
                FunctionName=_function(lam),
                StartingPosition="AT_TIMESTAMP",
                StartingPositionTimestamp=at,
            )
            return lam.get_event_source_mapping(UUID=mapping["UUID"]).get(
                "StartingPositionTimestamp"
            )

    assert shown() is None, fixed_upstream("awslambda.starting_position_timestamp")
    with applied("awslambda.starting_position_timestamp"):
        assert shown() == at


def test_a_reserved_concurrency_of_zero_is_shown() -> None:
    def shown() -> Any:
        with mock_aws():
            lam = _client("lambda")
            _function(lam)
            lam.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=0)
            return lam.get_function(FunctionName="f").get("Concurrency")

    assert shown() is None, fixed_upstream("awslambda.reserved_concurrency_zero")
    with applied("awslambda.reserved_concurrency_zero"):
        assert shown() == {"ReservedConcurrentExecutions": 0}


# MSK


def test_an_msk_cluster_becomes_active() -> None:
    def state() -> str:
        with mock_aws():
            kafka = _client("kafka")
            arn = create_msk_cluster(kafka, "c")
            return str(kafka.describe_cluster(ClusterArn=arn)["ClusterInfo"]["State"])

    assert state() == "CREATING", fixed_upstream("msk.clusters_active")
    with applied("msk.clusters_active"):
        assert state() == "ACTIVE"


def test_an_unknown_msk_cluster_is_not_found() -> None:
    def answer() -> str:
        with mock_aws():
            kafka = _client("kafka")
            unknown = create_msk_cluster(kafka, "c") + "-gone"
            try:
                kafka.describe_cluster(ClusterArn=unknown)
            except ClientError as exc:
                return str(exc.response["Error"]["Code"])
            except KeyError:  # mock_aws raises it; moto's server answers HTTP 500
                return "KeyError"
            return "found"

    assert answer() == "KeyError", fixed_upstream("msk.unknown_cluster_not_found")
    with applied("msk.unknown_cluster_not_found"):
        assert answer() == "NotFoundException"


def test_an_msk_cluster_shows_no_placeholder_settings() -> None:
    def described() -> tuple[Any, Any]:
        with mock_aws():
            kafka = _client("kafka")
            arn = create_msk_cluster(kafka, "c")
            info = kafka.describe_cluster_v2(ClusterArn=arn)["ClusterInfo"]
        provisioned = info["Provisioned"]
        software = provisioned["CurrentBrokerSoftwareInfo"]
        return software.get("ConfigurationArn"), provisioned.get("ClientAuthentication")

    assert described() == ("string", {}), fixed_upstream("msk.no_placeholder_settings")
    with applied("msk.no_placeholder_settings"):
        assert described() == (None, None)


# S3


def test_list_object_versions_honours_url_encoding() -> None:
    def listed() -> bytes:
        with mock_aws():
            s3 = _client("s3")
            s3.create_bucket(Bucket="versions")
            s3.put_object(Bucket="versions", Key="a+b c", Body=b"x")
            with _raw_bodies(s3) as bodies:
                s3.list_object_versions(Bucket="versions", EncodingType="url")
        return bodies[0]

    raw = listed()
    assert b"<Key>a+b c</Key>" in raw, fixed_upstream("s3.list_versions_url_encoding")
    assert b"<EncodingType>" not in raw, fixed_upstream("s3.list_versions_url_encoding")
    with applied("s3.list_versions_url_encoding"):
        raw = listed()
        assert b"<Key>a%2Bb%20c</Key>" in raw
        assert b"<EncodingType>url</EncodingType>" in raw


def test_a_tls_only_bucket_policy_does_not_deny_tls_clients() -> None:
    def put() -> str:
        statement = {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::tls-only/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
        policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        with mock_aws():
            s3 = _client("s3")
            s3.create_bucket(Bucket="tls-only")
            s3.put_bucket_policy(Bucket="tls-only", Policy=policy)
            try:
                s3.put_object(Bucket="tls-only", Key="k", Body=b"x")
            except ClientError as exc:
                return str(exc.response["Error"]["Code"])
        return "put"

    assert put() in ("403", "AccessDenied"), fixed_upstream("s3.tls_only_policy")
    with applied("s3.tls_only_policy"):
        assert put() == "put"


# SQS


def _fifo_queue(sqs: Any, name: str, bodies: list[str]) -> str:
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    url = str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    return url


def test_every_fifo_message_gets_an_increasing_sequence_number() -> None:
    def numbers() -> list[Any]:
        with mock_aws():
            sqs = _client("sqs")
            url = _fifo_queue(sqs, "numbered.fifo", ["m0", "m1", "m2"])
            received = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
            )["Messages"]
        return [m["Attributes"].get("SequenceNumber") for m in received]

    assert numbers() == [None] * 3, fixed_upstream("sqs.fifo_sequence_numbers")
    with applied("sqs.fifo_sequence_numbers"):
        found = numbers()
        assert all(n is not None and len(n) == 20 for n in found)
        assert [int(n) for n in found] == sorted(int(n) for n in found)
        assert len(set(found)) == 3


def test_fifo_messages_visible_again_come_back_in_group_order() -> None:
    def again() -> list[str]:
        with mock_aws():
            sqs = _client("sqs")
            url = _fifo_queue(sqs, "ordered.fifo", ["m0", "m1", "m2", "m3"])
            # a batch that failed: its messages come back after their visibility timeout
            sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=1)
            time.sleep(1.1)
            received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
        return [m["Body"] for m in received.get("Messages", [])]

    assert again() != ["m0", "m1", "m2", "m3"], fixed_upstream("sqs.fifo_group_order")
    with applied("sqs.fifo_group_order"):
        assert again() == ["m0", "m1", "m2", "m3"]


def test_receives_running_at_once_never_take_one_message_twice() -> None:
    from moto.sqs.models import Message

    mark = Message.mark_received

    def slowly(self: Any, *args: Any, **kwargs: Any) -> None:
        time.sleep(0.05)  # another thread runs between the visibility check and the mark
        mark(self, *args, **kwargs)

    def taken() -> list[str]:
        bodies: list[str] = []
        with mock_aws():
            sqs = _client("sqs")
            url = sqs.create_queue(QueueName="shared")["QueueUrl"]
            for n in range(4):
                sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")

            def receive() -> None:
                answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)
                bodies.extend(m["Body"] for m in answer.get("Messages", []))

            with mock.patch.object(Message, "mark_received", slowly):
                threads = [threading.Thread(target=receive) for _ in range(4)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
        return sorted(bodies)

    assert taken() != ["m0", "m1", "m2", "m3"], fixed_upstream("sqs.one_receive_at_a_time")
    with applied("sqs.one_receive_at_a_time"):
        assert taken() == ["m0", "m1", "m2", "m3"]


# The server


def _post_twice(url: str, target: str, body: dict[str, Any]) -> list[tuple[int, bytes]]:
    """The same JSON request sent as an SDK sends an invocation and its retry: one
    invocation id, attempt 1 then 2. (status, body) of each answer."""
    invocation = str(uuid.uuid4())
    answers = []
    for attempt in (1, 2):
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": target,
                "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dms/"
                "aws4_request, SignedHeaders=host, Signature=0",
                "amz-sdk-invocation-id": invocation,
                "amz-sdk-request": f"attempt={attempt}; max=25",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                answers.append((answer.status, answer.read()))
        except urllib.error.HTTPError as refused:
            answers.append((refused.code, refused.read()))
    return answers


def test_a_retried_request_is_answered_as_its_first_attempt_was() -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}/"
        target = "AmazonDMSv20160101.CreateReplicationInstance"

        def create(name: str) -> list[tuple[int, bytes]]:
            body = {
                "ReplicationInstanceIdentifier": name,
                "ReplicationInstanceClass": "dms.t3.micro",
            }
            return _post_twice(url, target, body)

        (first, retry) = create("bare")
        assert first[0] == 200
        assert retry[0] == 400 and b"ResourceAlreadyExistsFault" in retry[1], fixed_upstream(
            "server.retries_answered_once"
        )
        with applied("server.retries_answered_once"):
            (first, retry) = create("fixed")
        assert first[0] == retry[0] == 200
        assert retry[1] == first[1]
    finally:
        server.stop()


def test_a_batch_refuses_two_writes_to_one_key_of_one_table_only() -> None:
    def outcomes() -> tuple[str, str]:
        with mock_aws():
            dynamodb = _client("dynamodb")
            for name in ("widgets", "orders"):
                dynamodb.create_table(
                    TableName=name,
                    KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                    AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
                    BillingMode="PAY_PER_REQUEST",
                )
            key = {"id": {"N": "1"}}
            batches = (
                {t: [{"DeleteRequest": {"Key": key}}] for t in ("widgets", "orders")},
                {
                    "widgets": [
                        {"PutRequest": {"Item": {**key, "v": {"N": str(v)}}}} for v in (1, 2)
                    ]
                },
            )
            results = []
            for batch in batches:
                try:
                    dynamodb.batch_write_item(RequestItems=batch)
                    results.append("written")
                except ClientError as exc:
                    results.append(exc.response["Error"]["Message"])
            return results[0], results[1]

    refused = "Provided list of item keys contains duplicates"
    assert outcomes() == (refused, "written"), fixed_upstream("dynamodb.batch_duplicates_per_table")
    with applied("dynamodb.batch_duplicates_per_table"):
        assert outcomes() == ("written", refused)


def test_a_dead_letter_queue_shows_its_redrive_allow_policy_and_compact_json() -> None:
    allow = {"redrivePermission": "byQueue", "sourceQueueArns": ["arn:aws:sqs:us-east-1:1:q"]}

    def attributes() -> dict[str, str]:
        with mock_aws():
            sqs = _client("sqs")
            dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
            redrive = {"deadLetterTargetArn": arn["Attributes"]["QueueArn"], "maxReceiveCount": 5}
            url = sqs.create_queue(QueueName="q", Attributes={"RedrivePolicy": json.dumps(redrive)})
            sqs.set_queue_attributes(
                QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps(allow)}
            )
            shown = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]
            policy = sqs.get_queue_attributes(
                QueueUrl=url["QueueUrl"], AttributeNames=["RedrivePolicy"]
            )["Attributes"]
        return {**shown, **policy}

    assert "RedriveAllowPolicy" not in attributes(), fixed_upstream("sqs.redrive_attributes")
    with applied("sqs.redrive_attributes"):
        shown = attributes()
        assert json.loads(shown["RedriveAllowPolicy"]) == allow
        assert " " not in shown["RedriveAllowPolicy"] and " " not in shown["RedrivePolicy"]
        assert json.loads(shown["RedrivePolicy"])["maxReceiveCount"] == 5


# RDS


def test_a_managed_master_secret_holds_the_master_user_and_a_generated_password() -> None:
    def secret() -> dict[str, str]:
        with mock_aws():
            rds = _client("rds")
            cluster = rds.create_db_cluster(
                DBClusterIdentifier="replica",
                Engine="aurora-postgresql",
                MasterUsername="replica_admin",
                ManageMasterUserPassword=True,
            )["DBCluster"]
            arn = cluster["MasterUserSecret"]["SecretArn"]
            value = _client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
            return dict(json.loads(value))

    assert secret()["username"] == "admin", fixed_upstream("rds.managed_secret_username")
    with applied("rds.managed_secret_username"):
        first, second = secret(), secret()
    assert first["username"] == "replica_admin"
    assert len(first["password"]) >= 24 and first["password"] != second["password"]
