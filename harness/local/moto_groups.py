"""Which moto process serves which AWS service on the local target.

moto is GIL-bound at about one core: in one process, the data plane (DynamoDB and its
streams, S3, SQS, Kinesis, Firehose) competes with itself, with Terraform and with the
observers' polls. A split gives groups of those services a process each, reached through
their own endpoints (`AWS_ENDPOINT_URL_<SERVICE>`); the main process, `moto`, serves every
other service. A split is written `dynamodb+dynamodbstreams,s3+kafkaconnect,...`: groups
apart by commas, the services of a group joined by `+`; `none` keeps one process.

What moto looks up across its own services stays inside one process:
- DynamoDB Streams reads each stream through its table, in moto's DynamoDB (`TOGETHER`);
- MSK Connect's CreateCustomPlugin reads the plugin file from moto's S3 (`TOGETHER`);
- Lambda looks a function's role up in IAM and an MSK source in Kafka, STS answers from IAM,
  DMS, RDS and ECS look their subnets up in EC2, RDS its keys and secrets in KMS and
  Secrets Manager, EventBridge, SNS and CloudWatch Logs deliver to their targets in-process:
  all of these stay in the main process (only `SPLITTABLE` services leave it).
- Lambda's CreateEventSourceMapping looks its SQS, Kinesis or DynamoDB Streams source up:
  the main process asks the source's process (`moto_fixes.additions.peers`). That lookup is
  the only tie, since moto's own delivery to mapped functions is off and the local Lambda
  runtime reads every source through its endpoint.
- Firehose hands its S3 deliveries to the local engine, which writes through the S3 API.

Where moto's in-process ties reach a split service, they stop at the process boundary: S3
event notifications, SNS subscriptions of split queues, a table's default DynamoDB key
(created in its process's KMS) and Kinesis stream metrics (its process's CloudWatch); the
Resource Groups Tagging API of each process lists that process's resources. No pattern
relies on these.
"""

from collections.abc import Iterable

from harness.errors import UserError

MAIN = "moto"
"""The process serving every service no group takes."""
NONE = "none"
DEFAULT_SPLIT = "dynamodb+dynamodbstreams,s3+kafkaconnect,sqs,kinesis+firehose"
SPLITTABLE = frozenset(
    {"dynamodb", "dynamodbstreams", "s3", "kafkaconnect", "sqs", "kinesis", "firehose"}
)
"""Services that may leave the main process (boto3 names)."""
TOGETHER = {
    "dynamodbstreams": ("dynamodb", "moto reads a stream through its table"),
    "kafkaconnect": ("s3", "moto's MSK Connect reads a plugin file from its S3"),
}
"""Service -> the service it must share a process with, and why."""

Split = tuple[tuple[str, ...], ...]
"""The groups of services apart from the main process, each in the order written."""


def parse_split(text: str) -> Split:
    """The groups `text` names (`()` for `none`); UserError, one line, for a split that
    names an unknown service twice, or parts what moto looks up in-process."""
    text = text.strip()
    if text.lower() in ("", NONE):
        return ()
    groups = tuple(tuple(s.strip().lower() for s in part.split("+")) for part in text.split(","))
    seen: set[str] = set()
    for group in groups:
        for service in group:
            _check(text, service, seen)
            seen.add(service)
    where = {service: group for group in groups for service in group}
    for service, (partner, why) in TOGETHER.items():
        if where.get(service) is not where.get(partner):  # one split off, the other not
            raise UserError(
                f"moto split {text!r}: put {service} and {partner} in one group ({why})"
            )
    return groups


def _check(text: str, service: str, seen: set[str]) -> None:
    if not service:
        raise UserError(
            f"moto split {text!r}: an empty service name: write groups of services joined "
            "by '+' and apart by ',', e.g. " + DEFAULT_SPLIT
        )
    if service not in SPLITTABLE:
        raise UserError(
            f"moto split {text!r}: {service} cannot leave the main moto process; these "
            f"can: {', '.join(sorted(SPLITTABLE))} (or 'none' for one process)"
        )
    if service in seen:
        raise UserError(f"moto split {text!r}: {service} is in two groups")


def process_name(group: Iterable[str]) -> str:
    """The name of a group's process, by its first service: `moto-dynamodb`."""
    return f"{MAIN}-{next(iter(group))}"


def describe_split(split: Split) -> str:
    """The split as it is written (`none` for one process)."""
    return ",".join("+".join(group) for group in split) or NONE
