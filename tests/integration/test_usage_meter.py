"""The emulator's usage meter: what the pattern's services are asked for, counted through
moto's server in the units AWS bills (PUT payload units, write and read request units,
S3 request classes, SQS requests, Secrets Manager calls), the harness's own calls left out."""

import contextlib
import json
import urllib.request
from dataclasses import replace
from typing import Any

import pytest

from harness.aws import HARNESS_AGENT
from harness.local.moto_fixes.additions.usage import USAGE_PATH
from tests.conftest import BareCloud
from tests.helpers import keyed_table, unique

pytestmark = pytest.mark.slow


def _usage(cloud: BareCloud) -> dict[str, float]:
    with urllib.request.urlopen(f"{cloud.aws.endpoint_url}{USAGE_PATH}") as answer:
        return dict(json.loads(answer.read()))


def _spent(cloud: BareCloud, act: Any) -> dict[str, float]:
    before = _usage(cloud)
    act()
    after = _usage(cloud)
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def test_kinesis_puts_count_payload_units_of_25_kb(bare_cloud: BareCloud) -> None:
    kinesis = bare_cloud.aws.client("kinesis")
    stream = unique("meter")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    records = [
        {"Data": b"x" * 100, "PartitionKey": "k"},
        {"Data": b"y" * 30_000, "PartitionKey": "k"},
    ]

    spent = _spent(bare_cloud, lambda: kinesis.put_records(StreamName=stream, Records=records))

    assert spent == {"kinesis.put_payload_unit": 3}  # 1 + 2 (30 KB is two 25 KB units)


def test_dynamodb_counts_write_units_by_item_size_and_reads_by_answer(
    bare_cloud: BareCloud,
) -> None:
    dynamodb = bare_cloud.aws.client("dynamodb")
    table = unique("meter")
    keyed_table(dynamodb, table)
    small, large = {"pk": {"S": "a"}}, {"pk": {"S": "b"}, "blob": {"S": "z" * 1500}}
    key = {"pk": {"S": "a"}}

    def act() -> None:
        dynamodb.put_item(TableName=table, Item=small)
        dynamodb.put_item(TableName=table, Item=large)  # 2 KB rounded up: 2 units
        dynamodb.update_item(
            TableName=table, Key=key, UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": {"N": "1"}},
        )  # fmt: skip
        dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)
        dynamodb.get_item(TableName=table, Key=key)  # eventually consistent: half
        # the harness's own read (an observer's) is not the pattern's
        replace(bare_cloud.aws, agent=HARNESS_AGENT).client("dynamodb").get_item(
            TableName=table, Key=key
        )

    assert _spent(bare_cloud, act) == {
        "dynamodb.write_request_unit": 4,
        "dynamodb.read_request_unit": 1.5,
    }


def test_dynamodb_bills_no_throttled_write(bare_cloud: BareCloud) -> None:
    """Past a table's maximum write throughput: a refused write, or a batch's unprocessed
    writes, are not billed."""
    dynamodb = bare_cloud.aws.client("dynamodb")
    table = unique("throttled")
    keyed_table(dynamodb, table)
    dynamodb.update_table(TableName=table, OnDemandThroughput={"MaxWriteRequestUnits": 1})
    writes = [{"PutRequest": {"Item": {"pk": {"S": str(n)}}}} for n in range(4)]

    def act() -> None:
        dynamodb.batch_write_item(RequestItems={table: writes})  # one written, three left
        with contextlib.suppress(dynamodb.exceptions.ClientError):
            dynamodb.put_item(TableName=table, Item={"pk": {"S": "refused"}})

    assert _spent(bare_cloud, act) == {"dynamodb.write_request_unit": 1}


def test_s3_sqs_and_secrets_count_their_requests(bare_cloud: BareCloud) -> None:
    s3, sqs = bare_cloud.aws.client("s3"), bare_cloud.aws.client("sqs")
    secrets = bare_cloud.aws.client("secretsmanager")
    bucket, queue = unique("meter"), unique("meter")

    def act() -> None:
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="a/b.json", Body=b"{}")
        s3.get_object(Bucket=bucket, Key="a/b.json")
        s3.list_objects_v2(Bucket=bucket)
        url = sqs.create_queue(QueueName=queue)["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="m")
        fifo = sqs.create_queue(QueueName=f"{queue}.fifo", Attributes={"FifoQueue": "true"})
        sqs.send_message(
            QueueUrl=fifo["QueueUrl"], MessageBody="m", MessageGroupId="g",
            MessageDeduplicationId="d",
        )  # fmt: skip
        arn = secrets.create_secret(Name=queue, SecretString="s")["ARN"]
        secrets.get_secret_value(SecretId=arn)

    assert _spent(bare_cloud, act) == {
        "s3.put_request": 3,  # create bucket, put, list
        "s3.get_request": 1,
        "sqs.request.standard": 2,
        "sqs.request.fifo": 2,
        "secretsmanager.api_call": 2,
    }
