"""Observe a global secondary index of an event store table (`formats.event_items` layout)
the way its readers use it: Query each partition value (each `Type`, each `Source`) in
`Timestamp` order. An index has no stream, so this polls the items whose `Timestamp` falls
within a lookback window that follows the lateness the observer sees (how long after its
timestamp an event it had not seen before was read): that and 2 s more, at least 3 s, and
every `wide_every_s` at least `lookback_s`. An event later than the narrow window is
found by the next wide read (its wait counts as the observer's own delay); one later than
the wide window by a later one as the lateness seen grows towards it, or by the final poll,
which reads every partition whole. An item seen before that now holds another event
retracts it. Global secondary indexes are read eventually consistent (they cannot be read
otherwise): what a poll misses, the next shows.

Costs: polling adds up to `interval_s` to measured lag, and each poll reads every event of
its window again (queries, not a stream): an event is read about (lateness + 2 s) / 0.5 s
times by narrow reads and 3 times by wide ones, 10 times at 1.5 s of lateness, for the
emulator to find and send and for the observer to parse (twice the lateness and wide reads
every 3 s read each 15 times: at 200 events/s the two indexes' observers then took about half
of the local DynamoDB server's core). An item read again unchanged is not decoded again.
"""

import calendar
import time
from pathlib import Path
from typing import Any

from harness.aws import AwsAccess
from harness.observe.base import Observation, Observer
from harness.observe.formats.event_items import Event, read_event, sightings

INTERVAL_S = 0.5
LOOKBACK_S = 15.0
WIDE_EVERY_S = 5.0
NARROW_MIN_S = 3.0
NARROW_MARGIN_S = 2.0
_TIMESTAMP = "Timestamp"
_FORM = "%Y-%m-%dT%H:%M:%SZ"
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
        wide_every_s: float = WIDE_EVERY_S,
    ) -> None:
        super().__init__(projection, log_path)
        self.idle_s = self.busy_s = interval_s
        self.table, self.index, self.attribute, self.values = table, index, attribute, values
        self.lookback_s, self.wide_every_s = lookback_s, wide_every_s
        self._wide_at = 0.0
        """Monotonic time the next wide read is due."""
        self._wide_from = 0.0
        """Wall-clock start of the last wide read."""
        self._late_s = (0.0, 0.0)
        """The longest lateness of a new event read since the last wide read, and before it."""
        self._missed_since: float | None = None
        """Set by a wide read that found events the narrow window missed: when the wide read
        before it started (they waited on the observer since at most then)."""
        self._dynamodb = aws.client("dynamodb")
        self._seen: dict[tuple[str, str], tuple[dict[str, Any], Event]] = {}
        """Item key (RequestId, Timestamp) -> the item as last read, and its event."""

    def poll(self) -> list[Observation]:
        started, wall = time.monotonic(), time.time()
        wide = started >= self._wide_at or self.stopping
        narrow_s = self.narrow_s
        window = max(self.lookback_s, narrow_s) if wide else narrow_s
        since = "" if self.stopping else _timestamp(wall - window)
        seen: list[Observation] = []
        lateness, missed = 0.0, False
        for value in self.values:
            for item in self._query(value, since):
                new = self._sightings(value, item)
                if new:
                    late = _lateness_s(wall, item[_TIMESTAMP]["S"])
                    lateness = max(lateness, late)
                    missed = missed or late > narrow_s + 1  # timestamps are to the second
                seen += new
        self._missed_since = self._wide_from if wide and missed and self._wide_from else None
        if wide:
            self._late_s = (lateness, self._late_s[0])
            self._wide_at, self._wide_from = started + self.wide_every_s, wall
        else:
            self._late_s = (max(lateness, self._late_s[0]), self._late_s[1])
        # a poll slower than the interval cannot keep its cadence: sightings come late
        self.lagging = time.monotonic() - started > self.idle_s
        return seen

    @property
    def narrow_s(self) -> float:
        """The window of the reads between wide ones."""
        return max(NARROW_MIN_S, max(self._late_s) + NARROW_MARGIN_S)

    def _own_delay_s(self, seen: list[Observation]) -> float:
        delay = super()._own_delay_s(seen)
        if self._missed_since is None:
            return delay
        seen_s = max(observation.seen_ns for observation in seen) / 1e9
        return max(delay, seen_s - self._missed_since)

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
    return time.strftime(_FORM, time.gmtime(epoch_s))


def _lateness_s(wall: float, timestamp: str) -> float:
    """How long before `wall` a `Timestamp` (the article's form, perhaps followed by more)
    says; 0 when it is in no form this reads (it tells nothing of lateness)."""
    try:
        return wall - calendar.timegm(time.strptime(timestamp[:20], _FORM))
    except ValueError:
        return 0.0
