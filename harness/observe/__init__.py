"""Observers: tail each projection and record (entity, version, seen_at)."""

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.aws import AwsAccess
from harness.observe.base import Observation, Observer, read_observations
from harness.observe.dynamodb_events import DynamoDBEventsObserver
from harness.observe.dynamodb_index import DynamoDBIndexObserver
from harness.observe.dynamodb_scan import DynamoDBScanObserver
from harness.observe.dynamodb_stream import DynamoDBStreamObserver, DynamoDBTableCopiesObserver
from harness.observe.kafka_topic import KafkaTopicObserver
from harness.observe.kinesis_stream import KinesisStreamObserver
from harness.observe.postgres_replica import PostgresReplicaObserver
from harness.observe.s3_objects import S3ObjectsObserver
from harness.observe.shards import UNPACED, ReadBudget

OBSERVERS: dict[str, Callable[..., Observer]] = {
    "dynamodb_stream": DynamoDBStreamObserver,
    "dynamodb_scan": DynamoDBScanObserver,
    "dynamodb_table_copies": DynamoDBTableCopiesObserver,
    "dynamodb_events": DynamoDBEventsObserver,
    "dynamodb_index": DynamoDBIndexObserver,
    "kinesis_stream": KinesisStreamObserver,
    "kafka_topic": KafkaTopicObserver,
    "postgres_replica": PostgresReplicaObserver,
    "s3_objects": S3ObjectsObserver,
}
"""Observer kind -> constructor taking (projection, log_path, aws, **options, **resources)."""


def make_observer(
    kind: str,
    projection: str,
    log_path: Path,
    aws: AwsAccess,
    parameters: dict[str, Any],
    budget: ReadBudget = UNPACED,
) -> Observer:
    """An observer of `kind` for `projection`, with its parameters (the resources Terraform
    created for it and the options its pattern fixes); observers that read stream shards
    (their constructor takes a `budget`) read them within the target's `budget`."""
    constructor = OBSERVERS[kind]
    if "budget" in inspect.signature(constructor).parameters:
        parameters = {**parameters, "budget": budget}
    return constructor(projection, log_path, aws, **parameters)


__all__ = [
    "OBSERVERS",
    "Observation",
    "Observer",
    "ReadBudget",
    "make_observer",
    "read_observations",
]
