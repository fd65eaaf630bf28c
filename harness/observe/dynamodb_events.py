"""Observe an event store table (`formats.event_items` layout) through its stream: every
put of an event is a sighting; a put over an item holding another event (two events with
one key: the article's second-resolution `Timestamp`) retracts the one written over. A put
that rewrites an item with the same event (a redelivered message) shows nothing new."""

from pathlib import Path
from typing import Any

from harness.aws import AwsAccess
from harness.observe.base import Observation, Observer
from harness.observe.dynamodb_stream import STREAM_READ_LIMIT
from harness.observe.formats.event_items import read_event, sightings
from harness.observe.shards import UNPACED, ReadBudget, ShardFollower


class DynamoDBEventsObserver(Observer):
    """The table's stream (`stream_arn`, NEW_AND_OLD_IMAGES) from TRIM_HORIZON, read within
    `budget` (a shard's second reader on AWS: `dynamodb_stream.StreamedTables`)."""

    def __init__(
        self,
        projection: str,
        log_path: Path,
        aws: AwsAccess,
        stream_arn: str,
        budget: ReadBudget = UNPACED,
    ) -> None:
        super().__init__(projection, log_path)
        streams = aws.client("dynamodbstreams")
        self._shards = ShardFollower(streams, {"StreamArn": stream_arn}, STREAM_READ_LIMIT, budget)

    def read_share(self) -> float:
        return self._shards.read_share()

    def poll(self) -> list[Observation]:
        self.pause(self._shards.due_in_s())
        batches = self._shards.read()
        self.lagging = any(batch.more for batch in batches)
        return [
            seen
            for batch in batches
            for record in batch.records
            for seen in self._sightings(record, batch.seen_ns)
        ]

    def _sightings(self, record: dict[str, Any], seen_ns: int) -> list[Observation]:
        change = record["dynamodb"]
        old = read_event(change["OldImage"]) if "OldImage" in change else None
        new = read_event(change["NewImage"]) if "NewImage" in change else None
        return sightings(old, new, self.projection, seen_ns, change["SequenceNumber"])
