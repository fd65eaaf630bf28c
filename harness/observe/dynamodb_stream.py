"""Observe a DynamoDB table through its stream (every change); snapshot it by consistent scan."""

import time
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from harness.load.ledger import Entity
from harness.load.row_image import row_digest
from harness.observe.base import Observation, Observer
from harness.patterns.read_model import (
    KEY_ATTRIBUTE,
    TOMBSTONE_ATTRIBUTE,
    VERSION_ATTRIBUTE,
    entity_of,
    is_tombstone,
)
from harness.targets.base import AwsAccess

_REDISCOVER_S = 5.0
_deserializer = TypeDeserializer()


class DynamoDBStreamObserver(Observer):
    """Reads every shard of the table's stream from TRIM_HORIZON, following shard rollover."""

    def __init__(
        self, projection: str, log_path: Path, aws: AwsAccess, table: str, stream_arn: str
    ) -> None:
        super().__init__(projection, log_path)
        self.table = table
        self.stream_arn = stream_arn
        self._streams = aws.client("dynamodbstreams")
        self._dynamodb = aws.client("dynamodb")
        self._iterators: dict[str, str | None] = {}
        self._discovered_at = 0.0

    def poll(self) -> list[Observation]:
        if time.monotonic() - self._discovered_at > _REDISCOVER_S:
            self._discover_shards()
        seen: list[Observation] = []
        for shard, iterator in list(self._iterators.items()):
            if iterator is None:
                continue
            response = self._streams.get_records(ShardIterator=iterator, Limit=1000)
            seen_ns = time.time_ns()
            self._iterators[shard] = response.get("NextShardIterator")
            seen += (self._observation(r, seen_ns) for r in response["Records"])
        return seen

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

    def _discover_shards(self) -> None:
        self._discovered_at = time.monotonic()
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self._streams.describe_stream(**kwargs)["StreamDescription"]
            for shard in description["Shards"]:
                if shard["ShardId"] not in self._iterators:
                    self._iterators[shard["ShardId"]] = self._streams.get_shard_iterator(
                        StreamArn=self.stream_arn,
                        ShardId=shard["ShardId"],
                        ShardIteratorType="TRIM_HORIZON",
                    )["ShardIterator"]
            last = description.get("LastEvaluatedShardId")
            if not last:
                return
            kwargs["ExclusiveStartShardId"] = last

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
