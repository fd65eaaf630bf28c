"""Observe a DynamoDB table through its stream (every change); snapshot it by consistent scan."""

from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from harness.load.ledger import Entity
from harness.load.row_image import row_digest
from harness.observe.base import Observation, Observer
from harness.observe.shards import ShardFollower
from harness.patterns.read_model import (
    KEY_ATTRIBUTE,
    TOMBSTONE_ATTRIBUTE,
    VERSION_ATTRIBUTE,
    entity_of,
    is_tombstone,
)
from harness.targets.base import AwsAccess

_READ_LIMIT = 1000
"""GetRecords' largest Limit on DynamoDB Streams."""
_deserializer = TypeDeserializer()


class DynamoDBStreamObserver(Observer):
    """Reads every shard of the table's stream from TRIM_HORIZON, following shard rollover."""

    def __init__(
        self, projection: str, log_path: Path, aws: AwsAccess, table: str, stream_arn: str
    ) -> None:
        super().__init__(projection, log_path)
        self.table = table
        self.stream_arn = stream_arn
        self._shards = ShardFollower(
            aws.client("dynamodbstreams"), {"StreamArn": stream_arn}, _READ_LIMIT
        )
        self._dynamodb = aws.client("dynamodb")

    def poll(self) -> list[Observation]:
        batches = self._shards.read()
        self.lagging = any(batch.more for batch in batches)
        return [self._observation(r, batch.seen_ns) for batch in batches for r in batch.records]

    def snapshot(self) -> dict[Entity, int]:
        state: dict[Entity, int] = {}
        pages = self._dynamodb.get_paginator("scan").paginate(
            TableName=self.table,
            ConsistentRead=True,
            ProjectionExpression="#k, #v, #t",
            ExpressionAttributeNames={
                "#k": KEY_ATTRIBUTE,
                "#v": VERSION_ATTRIBUTE,
                "#t": TOMBSTONE_ATTRIBUTE,
            },
        )
        for page in pages:
            for item in page["Items"]:
                if not is_tombstone(item):
                    state[entity_of(item[KEY_ATTRIBUTE]["S"])] = int(item[VERSION_ATTRIBUTE]["N"])
        return state

    def _observation(self, record: dict[str, Any], seen_ns: int) -> Observation:
        change = record["dynamodb"]
        removed = record["eventName"] == "REMOVE"
        image = change["OldImage"] if removed else change["NewImage"]
        table, key = entity_of(image[KEY_ATTRIBUTE]["S"])
        version = int(image[VERSION_ATTRIBUTE]["N"]) + (1 if removed else 0)
        deleted = removed or is_tombstone(image)
        return Observation(
            projection=self.projection,
            table=table,
            key=key,
            version=version,
            op="delete" if deleted else "upsert",
            seen_ns=seen_ns,
            position=change["SequenceNumber"],
            digest="" if deleted else row_digest(table, _deserialize(image)),
        )


def _deserialize(image: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in image.items()}
