"""Observe a DynamoDB table through its stream (every change); snapshot it by consistent scan."""

from pathlib import Path
from typing import Any

from harness.aws import AwsAccess
from harness.load.row_image import row_digest
from harness.observe.base import Observation, Observer, SnapshotRow
from harness.observe.dynamodb_scan import deserialize, scan_rows
from harness.observe.shards import ShardFollower
from harness.read_model import KEY_ATTRIBUTE, VERSION_ATTRIBUTE, entity_of, is_tombstone

_READ_LIMIT = 1000
"""GetRecords' largest Limit on DynamoDB Streams."""


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

    def snapshot(self) -> list[SnapshotRow]:
        return scan_rows(self._dynamodb, self.table)

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
            digest="" if deleted else row_digest(table, deserialize(image)),
        )
