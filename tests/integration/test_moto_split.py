"""The local target with moto split: each group of services is served by a process of its own,
reached at its own endpoint by boto3, Terraform's environment and the engines alike; what
moto looks up across services still works across the processes (a Lambda event-source
mapping on a queue, a stream and a table stream of other processes); usage and CPU are
those of every process; and nothing is left behind."""

import json
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from harness.aws import AwsAccess
from harness.local.lambda_runtime.timing import LambdaTiming
from harness.local.moto_groups import DEFAULT_SPLIT, SPLITTABLE
from harness.local.moto_server import MotoServer
from harness.settings import Settings
from harness.targets.local import LocalTarget
from tests.helpers import alive, run_cli, unique, wait_for
from tests.lambda_support import RECORDING_HANDLER, create_function, recorded

pytestmark = pytest.mark.slow
GROUPS = {"moto-dynamodb", "moto-s3", "moto-sqs", "moto-kinesis"}


def _settings() -> Settings:
    return Settings(moto_split=DEFAULT_SPLIT, lambda_timing=LambdaTiming(sqs_wait_s=1))


@pytest.fixture(scope="module")
def split_target(shared_tmp: Path) -> Iterator[LocalTarget]:
    with LocalTarget(_settings(), shared_tmp / "split-target") as target:
        yield target


def _main_only(target: LocalTarget) -> AwsAccess:
    """The main moto process alone, every service at its endpoint."""
    moto = target.component(MotoServer)
    return AwsAccess("us-east-1", moto.endpoint_url, target.aws.credentials, max_attempts=1)


def test_each_group_is_served_by_a_process_of_its_own(split_target: LocalTarget) -> None:
    moto = split_target.component(MotoServer)
    processes = moto.processes()
    assert set(processes) == {"moto", *GROUPS}
    assert len(set(processes.values())) == 5 and all(alive(p) for p in processes.values())
    assert set(split_target.cpu_seconds()) >= set(processes)

    aws = split_target.aws
    for service in SPLITTABLE:
        assert aws.client(service).meta.endpoint_url == moto.endpoints[service] != moto.endpoint_url
    for service in ("lambda", "iam", "sts", "dms", "ec2", "kafka", "logs", "events"):
        assert aws.client(service).meta.endpoint_url == moto.endpoint_url
    assert len(set(moto.endpoints.values())) == 4
    assert moto.endpoint("dynamodbstreams") == moto.endpoint("dynamodb")
    assert moto.endpoint("firehose") == moto.endpoint("kinesis")

    # a queue made as Terraform makes it lives in the SQS process only
    queue = unique("split")
    aws.client("sqs").create_queue(QueueName=queue)
    listed = aws.client("sqs").list_queues(QueueNamePrefix=queue).get("QueueUrls", [])
    assert [url.rsplit("/", 1)[-1] for url in listed] == [queue]
    main = _main_only(split_target).client("sqs").list_queues(QueueNamePrefix=queue)
    assert main.get("QueueUrls", []) == []

    described = split_target.describe()
    assert described["moto_split"] == DEFAULT_SPLIT
    assert described["aws_endpoint"] == moto.endpoint_url
    assert described["aws_endpoints"]["DYNAMODB_STREAMS"] == moto.endpoints["dynamodbstreams"]
    assert split_target.aws.env()["AWS_ENDPOINT_URL_SQS"] == moto.endpoints["sqs"]


def test_usage_is_metered_in_every_process_and_summed(split_target: LocalTarget) -> None:
    aws = split_target.aws
    stream, bucket = unique("meter"), unique("meter")
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})
    aws.client("s3").create_bucket(Bucket=bucket)
    queue = aws.client("sqs").create_queue(QueueName=unique("meter"))["QueueUrl"]
    before = split_target.usage()

    kinesis.put_record(StreamName=stream, Data=b"x", PartitionKey="k")
    aws.client("s3").put_object(Bucket=bucket, Key="a", Body=b"a")
    aws.client("sqs").send_message(QueueUrl=queue, MessageBody="m")

    after = split_target.usage()
    spent = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
    assert spent == {
        "kinesis.put_payload_unit": 1,
        "s3.put_request": 1,
        "sqs.request.standard": 1,
    }


def test_a_lambda_mapping_reads_its_source_in_another_process(
    split_target: LocalTarget, tmp_path: Path
) -> None:
    aws = split_target.aws
    record_to = tmp_path / "events.jsonl"
    function = create_function(aws, unique("fn"), RECORDING_HANDLER, {"RECORD_TO": str(record_to)})
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=unique("source"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    lambda_ = aws.client("lambda")

    mapping = lambda_.create_event_source_mapping(
        EventSourceArn=queue_arn["Attributes"]["QueueArn"], FunctionName=function, BatchSize=1
    )
    sqs.send_message(QueueUrl=url, MessageBody="across")

    events = wait_for(lambda: recorded(record_to), "the function to get the message", 60)
    assert [r["body"] for r in events[0]["Records"]] == ["across"]
    assert events[0]["Records"][0]["eventSourceARN"] == queue_arn["Attributes"]["QueueArn"]
    lambda_.delete_event_source_mapping(UUID=mapping["UUID"])


def test_stream_sources_in_other_processes_are_found_and_missing_ones_refused(
    split_target: LocalTarget,
) -> None:
    aws = split_target.aws
    function = create_function(aws, unique("fn"), "def handler(event, context):\n    pass\n")
    kinesis = aws.client("kinesis")
    stream = unique("source")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})
    stream_arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    table = aws.client("dynamodb").create_table(
        TableName=unique("source"),
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    lambda_ = aws.client("lambda")
    sources = [stream_arn["StreamARN"], table["LatestStreamArn"]]

    made = [
        lambda_.create_event_source_mapping(
            EventSourceArn=arn, FunctionName=function, StartingPosition="LATEST", Enabled=False
        )
        for arn in sources
    ]

    listed = lambda_.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
    assert sorted(m["EventSourceArn"] for m in listed) == sorted(sources)
    account = table["TableArn"].split(":")[4]
    missing = [
        f"arn:aws:sqs:us-east-1:{account}:{unique('gone')}",
        stream_arn["StreamARN"] + "-gone",
        table["LatestStreamArn"].replace(table["TableName"], unique("gone")),
    ]
    for arn in missing:
        with pytest.raises(ClientError, match="Invalid EventSourceArn") as refused:
            lambda_.create_event_source_mapping(
                EventSourceArn=arn, FunctionName=function, StartingPosition="LATEST"
            )
        assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
    for mapping in made:
        lambda_.delete_event_source_mapping(UUID=mapping["UUID"])


def test_the_lookups_across_processes_are_not_metered(split_target: LocalTarget) -> None:
    moto = split_target.component(MotoServer)
    aws = split_target.aws
    function = create_function(aws, unique("fn"), "def handler(event, context):\n    pass\n")
    url = aws.client("sqs").create_queue(QueueName=unique("source"))["QueueUrl"]
    arn = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    with urllib.request.urlopen(f"{moto.endpoints['sqs']}/_cdcbench/usage") as answer:
        before = json.loads(answer.read())

    mapping = aws.client("lambda").create_event_source_mapping(
        EventSourceArn=arn["Attributes"]["QueueArn"], FunctionName=function, Enabled=False
    )

    with urllib.request.urlopen(f"{moto.endpoints['sqs']}/_cdcbench/usage") as answer:
        assert json.loads(answer.read()) == before
    aws.client("lambda").delete_event_source_mapping(UUID=mapping["UUID"])


def _port_open(url: str) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", int(url.rsplit(":", 1)[1]))) == 0


@pytest.mark.serial  # its freed ports are checked closed: no other test may take them
def test_a_split_target_leaves_no_moto_process_or_port(tmp_path: Path) -> None:
    with LocalTarget(_settings(), tmp_path / "logs") as target:
        moto = target.component(MotoServer)
        pids = list(moto.processes().values())
        urls = [moto.endpoint_url, *set(moto.endpoints.values())]
        assert len(pids) == len(urls) == 5 and all(_port_open(u) for u in urls)
    assert not any(alive(pid) for pid in pids)
    assert not any(_port_open(u) for u in urls)
    logs = {p.name for p in (tmp_path / "logs").glob("moto*.log")}
    assert logs == {"moto.log", *(f"{name}.log" for name in GROUPS)}


def test_a_bad_split_setting_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_cli(
        "run",
        "scenarios/smoke.yaml",
        "--reports-dir",
        str(tmp_path / "reports"),
        env={"CDCBENCH_MOTO_SPLIT": "sqs,lambda"},
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("cdcbench: error: moto split 'sqs,lambda': lambda cannot leave")
    assert "Traceback" not in result.stderr
