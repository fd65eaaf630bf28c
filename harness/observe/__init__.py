"""Observers: tail each projection and record (entity, version, seen_at)."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.aws import AwsAccess
from harness.observe.base import Observation, Observer, read_observations
from harness.observe.dynamodb_scan import DynamoDBScanObserver
from harness.observe.dynamodb_stream import DynamoDBStreamObserver
from harness.observe.kafka_topic import KafkaTopicObserver
from harness.observe.kinesis_stream import KinesisStreamObserver
from harness.observe.postgres_replica import PostgresReplicaObserver
from harness.observe.s3_objects import S3ObjectsObserver
from harness.patterns.base import Projection

OBSERVERS: dict[str, Callable[..., Observer]] = {
    "dynamodb_stream": DynamoDBStreamObserver,
    "dynamodb_scan": DynamoDBScanObserver,
    "kinesis_stream": KinesisStreamObserver,
    "kafka_topic": KafkaTopicObserver,
    "postgres_replica": PostgresReplicaObserver,
    "s3_objects": S3ObjectsObserver,
}
"""Observer kind -> constructor taking (projection, log_path, aws, **options, **resources)."""


def make_observer(
    projection: Projection, outputs: dict[str, Any], aws: AwsAccess, log_path: Path
) -> Observer:
    """Build the projection's observer with the resources Terraform created for it."""
    resources = {param: outputs[output] for param, output in projection.resources.items()}
    return OBSERVERS[projection.observer](
        projection.name, log_path, aws, **projection.options, **resources
    )


__all__ = ["OBSERVERS", "Observation", "Observer", "make_observer", "read_observations"]
