"""Observe a global secondary index of an event store table (`formats.event_items` layout)
the way its readers use it: Query each partition value (each `Type`, each `Source`) in
`Timestamp` order. An index has no stream, so this polls: each poll reads the items whose
`Timestamp` falls within the last `lookback_s` (an event written later than that after its
timestamp is found by the final poll, which reads every partition whole); an item seen
before that now holds another event retracts it. Global secondary indexes are read
eventually consistent (they cannot be read otherwise): what a poll misses, the next shows.

Costs: polling adds up to `interval_s` to measured lag, and each poll reads every event of
the lookback window again (queries, not a stream); an item read again unchanged is not
decoded again.
"""

import time
from pathlib import Path
from typing import Any

from harness.aws import AwsAccess
from harness.observe.base import Observation, Observer
from harness.observe.formats.event_items import Event, read_event, sightings

INTERVAL_S = 0.5
LOOKBACK_S = 15.0
_TIMESTAMP = "Timestamp"
_KEY = ("RequestId", "Timestamp")


class DynamoDBIndexObserver(Observer):
    """Index `index` of `table`, partitioned by `attribute`, one Query per value of
    `values` (e.g. Type: INSERT, UPDATE, DELETE)."""

    reads_everything = True

    def __init__(
        self,
        projection: str,
        log_path: Path,
        aws: AwsAccess,
        table: str,
        index: str,
        attribute: str,
        values: list[str],
        interval_s: float = INTERVAL_S,
        lookback_s: float = LOOKBACK_S,
    ) -> None:
        super().__init__(projection, log_path)
        self.idle_s = self.busy_s = interval_s
        self.table, self.index, self.attribute, self.values = table, index, attribute, values
        self.lookback_s = lookback_s
        self._dynamodb = aws.client("dynamodb")
        self._seen: dict[tuple[str, str], tuple[dict[str, Any], Event]] = {}
        """Item key (RequestId, Timestamp) -> the item as last read, and its event."""

    def poll(self) -> list[Observation]:
        started = time.monotonic()
        final = self.stopping
        since = "" if final else _timestamp(time.time() - self.lookback_s)
        seen: list[Observation] = []
        for value in self.values:
            for item in self._query(value, since):
                seen += self._sightings(value, item)
        # a poll slower than the interval cannot keep its cadence: sightings come late
        self.lagging = time.monotonic() - started > self.idle_s
        return seen

    def _query(self, value: str, since: str) -> list[dict[str, Any]]:
        condition = "#p = :v" + (" AND #t >= :since" if since else "")
        names = {"#p": self.attribute, **({"#t": _TIMESTAMP} if since else {})}
        values = {":v": {"S": value}, **({":since": {"S": since}} if since else {})}
        pages = self._dynamodb.get_paginator("query").paginate(
            TableName=self.table,
            IndexName=self.index,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
        return [item for page in pages for item in page["Items"]]

    def _sightings(self, value: str, item: dict[str, Any]) -> list[Observation]:
        key = (item[_KEY[0]]["S"], item[_KEY[1]]["S"])
        last = self._seen.get(key)
        if last is not None and last[0] == item:  # read again unchanged: nothing new
            return []
        event = read_event(item)
        self._seen[key] = (item, event)
        position = f"{self.index}/{value}/{key[1]}"
        before = last[1] if last else None
        return sightings(before, event, self.projection, time.time_ns(), position)


def _timestamp(epoch_s: float) -> str:
    """The article's `Timestamp` form, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))
