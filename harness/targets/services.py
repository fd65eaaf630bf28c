"""Which AWS service (by its boto3 name) serves each Terraform resource type: what a
pattern needs from a target, for routing (LocalStack) and for the region check (AWS)."""

from collections.abc import Iterable

_PREFIXES = (
    ("aws_dms_", "dms"),
    ("aws_mskconnect_", "kafkaconnect"),
    ("aws_msk_", "kafka"),
    ("aws_lambda_", "lambda"),
    ("aws_kinesis_firehose_", "firehose"),
    ("aws_kinesis_", "kinesis"),
    ("aws_dynamodb_", "dynamodb"),
    ("aws_sqs_", "sqs"),
    ("aws_s3_", "s3"),
    ("aws_iam_", "iam"),
    ("aws_cloudwatch_log_", "logs"),
    ("aws_cloudwatch_event_", "events"),
    ("aws_scheduler_", "scheduler"),
    ("aws_rds_", "rds"),
    ("aws_db_", "rds"),
    ("aws_secretsmanager_", "secretsmanager"),
    ("aws_kms_", "kms"),
    ("aws_ecs_", "ecs"),
    ("aws_vpc", "ec2"),
    ("aws_subnet", "ec2"),
    ("aws_route", "ec2"),
    ("aws_security_group", "ec2"),
    ("aws_default_security_group", "ec2"),
    ("aws_internet_gateway", "ec2"),
    ("aws_nat_gateway", "ec2"),
    ("aws_eip", "ec2"),
)
ALWAYS = frozenset({"sts"})
"""What every deployment calls (the provider asks STS who it is)."""


def service_of(resource_type: str) -> str:
    """The boto3 name of the service creating `resource_type`; ValueError for a type this
    table does not know (a new one must be added here, not guessed)."""
    for prefix, service in _PREFIXES:
        if resource_type.startswith(prefix):
            return service
    raise ValueError(f"no AWS service known for Terraform type {resource_type}")


def services_of(resource_types: Iterable[str]) -> frozenset[str]:
    """The services a module with these resource types needs (STS included)."""
    return frozenset(service_of(t) for t in resource_types) | ALWAYS
