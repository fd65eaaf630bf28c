"""Which services a LocalStack endpoint serves, from its health answer, and where each
service a pattern needs is placed: LocalStack where it serves it, the embedded cloud where it
does not, where LocalStack cannot run it as the patterns do, or where moto couples it to
what is embedded."""

import json
from pathlib import Path

import pytest

from harness.patterns import patterns
from harness.patterns.root_module import resource_types
from harness.pipeline import pattern_services
from harness.targets.routing import ENGINE_ONLY, route, served
from harness.targets.services import service_of
from tests.helpers import REPO

HEALTH = json.loads((REPO / "tests/data/localstack/health-community.json").read_text())


def needs(pattern: str) -> frozenset[str]:
    return pattern_services(patterns()[pattern])


def test_a_service_is_served_when_available_or_running() -> None:
    serving = served(HEALTH)

    assert {"s3", "sqs", "dynamodb", "lambda", "kinesis", "firehose"} <= serving
    assert "dms" not in serving and "kafka" not in serving
    assert served({"services": {"s3": "disabled", "sqs": "error", "sns": "starting"}}) == set()


def test_an_answer_without_services_is_not_localstack() -> None:
    with pytest.raises(ValueError, match="services"):
        served({"status": "ok"})


def test_a_pattern_of_served_services_runs_on_localstack_alone() -> None:
    routing = route(needs("direct"), served(HEALTH))

    assert routing.embedded == {}
    assert routing.localstack == {"dynamodb", "dynamodbstreams", "sts"}


def test_dms_and_the_subnets_it_checks_are_embedded() -> None:
    routing = route(needs("dms_s3_dynamodb"), served(HEALTH))

    assert set(routing.embedded) == {"dms", "ec2"}
    assert routing.embedded["dms"] == ENGINE_ONLY["dms"]
    assert "moto's dms" in routing.embedded["ec2"]
    assert {"s3", "dynamodb", "iam", "sts"} <= routing.localstack
    assert routing.where()["s3"] == "localstack" and routing.where()["dms"] == "embedded"


def test_a_function_fed_from_an_embedded_source_is_embedded_with_its_sources_and_role() -> None:
    routing = route(needs("dms_msk_lambda"), served(HEALTH))

    assert {"kafka", "kafkaconnect", "lambda", "iam"} <= set(routing.embedded)
    assert "kafka" in routing.embedded["lambda"]
    assert {"dynamodb", "dynamodbstreams"} <= set(routing.embedded)  # moto's mapping lookups
    assert "s3" in routing.localstack


def test_a_function_whose_sources_localstack_serves_stays_there() -> None:
    routing = route(needs("sqs_lambda_eventstore"), served(HEALTH))

    assert routing.embedded == {}
    assert "lambda" in routing.localstack


def test_what_the_endpoint_does_not_serve_is_embedded_and_says_why() -> None:
    without_kinesis = {"services": {**HEALTH["services"], "kinesis": "disabled"}}

    routing = route(needs("poller_kinesis_aurora"), served(without_kinesis))

    assert routing.embedded["kinesis"] == "the LocalStack endpoint does not serve it"
    assert "lambda" in routing.embedded  # its source is embedded
    assert "rds" in routing.embedded and "ec2" in routing.embedded


def test_every_type_the_patterns_create_has_a_service(tmp_path: Path) -> None:
    for pattern in patterns().values():
        assert pattern_services(pattern)
    with pytest.raises(ValueError, match="aws_made_up_thing"):
        service_of("aws_made_up_thing")


def test_resource_types_follow_local_module_calls(tmp_path: Path) -> None:
    child = tmp_path / "modules" / "child"
    child.mkdir(parents=True)
    (child / "main.tf").write_text('resource "aws_sqs_queue" "q" {\n  name = "q"\n}\n')
    root = tmp_path / "root"
    root.mkdir()
    (root / "main.tf").write_text(
        'module "c" {\n  source = "../modules/child"\n}\n'
        'module "r" {\n  source = "terraform-aws-modules/vpc/aws"\n}\n'
        'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n'
    )

    assert resource_types(root) == {"aws_sqs_queue", "aws_s3_bucket"}


def test_a_service_neither_serves_is_missing_and_placed_nowhere() -> None:
    routing = route({"ecs", "s3", "sts"}, served(HEALTH))

    assert routing.missing == {"ecs"}
    assert "ecs" not in routing.embedded and "ecs" not in routing.localstack
    assert routing.where()["ecs"] == "nowhere"
