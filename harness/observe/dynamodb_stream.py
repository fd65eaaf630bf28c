"""Observe DynamoDB tables through their streams (every change); snapshot them by consistent
scan. `dynamodb_stream`: one read-model table; `dynamodb_table_copies`: the per-table copies
DMS's DynamoDB target writes, one table per source table, as one projection."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.aws import AwsAccess
from harness.load.row_image import row_digest
from harness.observe.base import Observation, Observer, SnapshotRow
from harness.observe.dynamodb_items import READ_MODEL, ItemLayout, deserialize
from harness.observe.dynamodb_scan import scan_rows
from harness.observe.shards import UNPACED, ReadBudget, ShardFollower
from harness.read_model import VERSION_ATTRIBUTE

STREAM_READ_LIMIT = 1000
"""GetRecords' largest Limit on DynamoDB Streams."""


@dataclass(frozen=True)
class _Followed:
    table: str
    layout: ItemLayout
    shards: ShardFollower


class StreamedTables(Observer):
    """Reads every shard of each table's stream from TRIM_HORIZON, following shard rollover.
    A removal is seen in its old image (NEW_AND_OLD_IMAGES): its version is the deleted
    one + 1. `tables`: (table, stream ARN, how its items stand for source rows). On AWS it is
    one of the two readers of a shard DynamoDB advises at most (a Lambda mapping being the
    other), so `budget` paces its GetRecords calls on each shard (`observe.shards`: no more
    often than a mapping's 4 a second there)."""

    def __init__(
        self,
        projection: str,
        log_path: Path,
        aws: AwsAccess,
        tables: list[tuple[str, str, ItemLayout]],
        budget: ReadBudget = UNPACED,
    ) -> None:
        super().__init__(projection, log_path)
        self._dynamodb = aws.client("dynamodb")
        streams = aws.client("dynamodbstreams")
        self._followed = [
            _Followed(
                table,
                layout,
                ShardFollower(streams, {"StreamArn": arn}, STREAM_READ_LIMIT, budget),
            )
            for table, arn, layout in tables
        ]
        self._reads = ThreadPoolExecutor(
            max(1, len(self._followed)), thread_name_prefix=f"observe-{projection}"
        )

    @property
    def followers(self) -> list[ShardFollower]:
        """The readers of each table's stream, in table order."""
        return [f.shards for f in self._followed]

    def read_share(self) -> float:
        return max((f.read_share() for f in self.followers), default=0.0)

    def poll(self) -> list[Observation]:
        seen: list[Observation] = []
        lagging = False
        self.pause(min((f.due_in_s() for f in self.followers), default=0.0))
        # the streams are read side by side: a change waits for one round trip, not one per table
        read = self._reads.map(ShardFollower.read, self.followers)
        for followed, batches in zip(self._followed, read, strict=True):
            lagging = lagging or any(batch.more for batch in batches)
            seen += (
                self._observation(followed.layout, r, batch.seen_ns)
                for batch in batches
                for r in batch.records
            )
        self.lagging = lagging
        return seen

    def stop(self) -> None:
        super().stop()
        self._reads.shutdown()

    def snapshot(self) -> list[SnapshotRow]:
        return [row for f in self._followed for row in scan_rows(self._dynamodb, f.table, f.layout)]

    def _observation(self, layout: ItemLayout, record: dict[str, Any], seen_ns: int) -> Observation:
        change = record["dynamodb"]
        removed = record["eventName"] == "REMOVE"
        image = change["OldImage"] if removed else change["NewImage"]
        table, key = layout.entity(image)
        version = int(image[VERSION_ATTRIBUTE]["N"]) + (1 if removed else 0)
        deleted = removed or layout.tombstone(image)
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


class DynamoDBStreamObserver(StreamedTables):
    """One read-model table."""

    def __init__(
        self,
        projection: str,
        log_path: Path,
        aws: AwsAccess,
        table: str,
        stream_arn: str,
        budget: ReadBudget = UNPACED,
    ) -> None:
        super().__init__(projection, log_path, aws, [(table, stream_arn, READ_MODEL)], budget)


class DynamoDBTableCopiesObserver(StreamedTables):
    """The per-table copies of the source tables: `tables` maps each source table to its
    copy, `{"table": name, "stream_arn": arn}`. Positions are the stream records' sequence
    numbers (each table's stream numbers its own)."""

    def __init__(
        self,
        projection: str,
        log_path: Path,
        aws: AwsAccess,
        tables: dict[str, dict[str, str]],
        budget: ReadBudget = UNPACED,
    ) -> None:
        copies = [
            (copy["table"], copy["stream_arn"], ItemLayout(copy_of=source))
            for source, copy in sorted(tables.items())
        ]
        super().__init__(projection, log_path, aws, copies, budget)
