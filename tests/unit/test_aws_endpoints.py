"""Per-service endpoints: a service served elsewhere reaches boto3 clients and, through the
SDKs' `AWS_ENDPOINT_URL_<SERVICE>` variables, every subprocess (Terraform's provider
included); the environment round-trips."""

from harness.aws import AwsAccess, endpoint_key


def test_the_sdk_key_of_a_service_is_its_service_id() -> None:
    assert endpoint_key("dms") == "DATABASE_MIGRATION_SERVICE"
    assert endpoint_key("dynamodbstreams") == "DYNAMODB_STREAMS"
    assert endpoint_key("logs") == "CLOUDWATCH_LOGS"
    assert endpoint_key("kafka") == "KAFKA"


def test_a_routed_service_has_its_own_endpoint_and_the_rest_the_common_one() -> None:
    aws = AwsAccess("eu-west-1", "http://common:4566").routed({"dms": "http://moto:5000"})

    assert aws.endpoint("dms") == "http://moto:5000"
    assert aws.endpoint("s3") == "http://common:4566"
    assert aws.client("dms").meta.endpoint_url == "http://moto:5000"
    assert aws.client("sqs").meta.endpoint_url == "http://common:4566"


def test_the_environment_names_each_routed_service_and_round_trips() -> None:
    aws = AwsAccess("eu-west-1", "http://common:4566", {"AWS_ACCESS_KEY_ID": "k"}).routed(
        {"kafka": "http://moto:5000", "dynamodbstreams": "http://moto:5000"}
    )

    env = aws.env()

    assert env["AWS_ENDPOINT_URL"] == "http://common:4566"
    assert env["AWS_ENDPOINT_URL_KAFKA"] == "http://moto:5000"
    assert env["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] == "http://moto:5000"
    again = AwsAccess.from_env(env)
    assert again == aws
    assert again.endpoint("kafka") == "http://moto:5000"


def test_without_endpoints_the_sdk_default_is_kept() -> None:
    aws = AwsAccess("eu-west-1")

    assert aws.endpoint("s3") is None
    assert "AWS_ENDPOINT_URL" not in aws.env()
