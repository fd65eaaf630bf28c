"""Which moto process serves which service: the split's groups as written, what may leave the
main process and what must stay together, and each service's endpoint once the processes are
known."""

from pathlib import Path

import pytest

from harness.aws import AwsAccess
from harness.errors import UserError
from harness.local.moto_fixes.additions.peers import served_by
from harness.local.moto_groups import (
    DEFAULT_SPLIT,
    SPLITTABLE,
    TOGETHER,
    describe_split,
    parse_split,
    process_name,
)
from harness.local.moto_server import MotoServer
from harness.settings import Settings
from harness.targets.local import LocalTarget


def test_the_default_split_gives_each_data_plane_group_a_process() -> None:
    split = parse_split(DEFAULT_SPLIT)
    assert split == (
        ("dynamodb", "dynamodbstreams"),
        ("s3", "kafkaconnect"),
        ("sqs",),
        ("kinesis", "firehose"),
    )
    assert [process_name(group) for group in split] == [
        "moto-dynamodb",
        "moto-s3",
        "moto-sqs",
        "moto-kinesis",
    ]
    assert describe_split(split) == DEFAULT_SPLIT
    assert Settings().moto_split == DEFAULT_SPLIT


@pytest.mark.parametrize("text", ["none", "NONE", " ", ""])
def test_none_keeps_one_process(text: str) -> None:
    assert parse_split(text) == ()
    assert describe_split(parse_split(text)) == "none"


def test_a_split_is_read_loosely_spaced_and_in_any_case() -> None:
    assert parse_split(" SQS + Kinesis , s3+kafkaconnect ") == (
        ("sqs", "kinesis"),
        ("s3", "kafkaconnect"),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("sqs,lambda", "lambda cannot leave the main moto process; these can: dynamodb, "),
        ("sqs,iam+s3", "iam cannot leave the main moto process"),
        ("sqs,,kinesis", "an empty service name"),
        ("sqs+", "an empty service name"),
        ("sqs,kinesis+sqs", "sqs is in two groups"),
        ("dynamodbstreams", "put dynamodbstreams and dynamodb in one group (moto reads a stream"),
        ("dynamodb,dynamodbstreams", "put dynamodbstreams and dynamodb in one group"),
        ("dynamodb", "put dynamodbstreams and dynamodb in one group"),
        ("kafkaconnect,sqs", "put kafkaconnect and s3 in one group (moto's MSK Connect reads"),
        ("s3", "put kafkaconnect and s3 in one group"),
    ],
)
def test_a_split_moto_cannot_serve_is_one_line_saying_what_to_do(text: str, message: str) -> None:
    with pytest.raises(UserError) as raised:
        parse_split(text)
    line = str(raised.value)
    assert line.startswith(f"moto split {text!r}: ")
    assert message in line
    assert "\n" not in line


def test_every_pair_moto_ties_is_splittable_together() -> None:
    for service, (partner, _) in TOGETHER.items():
        assert {service, partner} <= SPLITTABLE
        assert parse_split(f"{service}+{partner}") == ((service, partner),)


def test_a_local_target_refuses_a_bad_split_before_starting_anything(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="lambda cannot leave the main moto process"):
        LocalTarget(Settings(moto_split="lambda"), tmp_path / "logs")
    assert not (tmp_path / "logs").exists()


def test_each_service_is_reached_at_its_groups_process(tmp_path: Path) -> None:
    moto = MotoServer(tmp_path, split=parse_split("dynamodb+dynamodbstreams,sqs"))
    moto._main.port, (dynamodb, sqs) = 4566, moto._groups
    dynamodb.port, sqs.port = 5001, 5002
    assert moto.endpoints == {
        "dynamodb": "http://127.0.0.1:5001",
        "dynamodbstreams": "http://127.0.0.1:5001",
        "sqs": "http://127.0.0.1:5002",
    }
    assert moto.endpoint("sqs") == "http://127.0.0.1:5002"
    assert moto.endpoint("lambda") == moto.endpoint_url == "http://127.0.0.1:4566"
    assert moto.processes() == {}  # none started
    assert [c.log_path.name for c in (moto._main, dynamodb, sqs)] == [
        "moto.log",
        "moto-dynamodb.log",
        "moto-sqs.log",
    ]

    aws = AwsAccess("us-east-1", moto.endpoint_url).routed(moto.endpoints)
    env = aws.env()
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] == "http://127.0.0.1:5001"
    assert env["AWS_ENDPOINT_URL_SQS"] == "http://127.0.0.1:5002"
    again = AwsAccess.from_env(env)  # what a function or a worker process reaches
    assert again.endpoint("dynamodbstreams") == "http://127.0.0.1:5001"
    assert again.endpoint("lambda") == "http://127.0.0.1:4566"


@pytest.mark.parametrize(
    ("arn", "service"),
    [
        ("arn:aws:sqs:us-east-1:123456789012:orders", "sqs"),
        ("arn:aws:kinesis:us-east-1:123456789012:stream/changes", "kinesis"),
        (
            "arn:aws:dynamodb:us-east-1:123456789012:table/rm/stream/2026-01-01T00:00:00.000",
            "dynamodbstreams",
        ),
        ("arn:aws:kafka:us-east-1:123456789012:cluster/c/uuid", None),
        ("not-an-arn", None),
        ("", None),
    ],
)
def test_the_main_process_asks_the_peer_serving_an_event_sources_service(
    arn: str, service: str | None
) -> None:
    assert served_by(arn) == service
