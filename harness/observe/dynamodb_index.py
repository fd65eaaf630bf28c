"""Observe a global secondary index of an event store table (`formats.event_items` layout)
the way its readers use it: Query each partition value (each `Type`, each `Source`) in
`Timestamp` order. An index has no stream, so this polls the items whose `Timestamp` falls
within a lookback window that follows the lateness the observer sees (how long after its
timestamp an event it had not seen before was read): that and 2 s more, at least 3 s, and
every `wide_every_s` at least `lookback_s`. An event later than the narrow window is
found by the next wide read (its wait counts as the observer's own delay). An item written
long after its timestamp (a batch redelivered minutes later) is older than every window:
every `recount_every_s` a wide read also counts, with a COUNT query per partition, the
items dated up to `recount_s` before its window, and reads that stretch of each partition
holding more of them than the observer has seen, so such an item is found within
`recount_every_s` of landing (its wait counts as the observer's own delay, its lateness does
not widen the narrow window). Only items dated before the window are compared, so an item
being written now cannot make the counts disagree. Later stragglers, and a late write over
an item already seen (it changes no count), are left to the final poll, which reads every
partition whole. An item seen before that now holds another event retracts it.
Global secondary indexes are read eventually consistent (they cannot be read otherwise):
what a poll misses, the next shows.

Costs: polling adds up to `interval_s` to measured lag, and each poll reads every event of
its window again (queries, not a stream): an event is read about (lateness + 2 s) / 0.5 s
times by narrow reads and 3 times by wide ones, 10 times at 1.5 s of lateness, for the
emulator to find and send and for the observer to parse (twice the lateness and wide reads
every 3 s read each 15 times: at 200 events/s the two indexes' observers then took about half
of the local DynamoDB server's core). An item read again unchanged is not decoded again.
The COUNT queries send no items, but DynamoDB reads every item it counts (on AWS they consume
read capacity as if returned, 1 MB a page): every `recount_every_s` each event of the last
`recount_s` is read once more. The emulator walks them as a Query returning them would, and
each 1 MB page walks the items from the first: counting 10,000 items of one partition took
it 0.3 s, 40,000 items 4.9 s (4 pages), hence the bounded stretch.
"""

import calendar
import time
from collections import Counter
from collections.abc import Iterator
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
RECOUNT_S = 300.0
"""How far before the wide window the counts look: past a queue's usual visibility timeout
(a failed batch comes back after it) with room to spare."""
RECOUNT_EVERY_S = 15.0
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
        recount_s: float = RECOUNT_S,
        recount_every_s: float = RECOUNT_EVERY_S,
    ) -> None:
        super().__init__(projection, log_path)
        self.idle_s = self.busy_s = interval_s
        self.table, self.index, self.attribute, self.values = table, index, attribute, values
        self.lookback_s, self.wide_every_s = lookback_s, wide_every_s
        self.recount_s, self.recount_every_s = recount_s, recount_every_s
        self._recount_at = 0.0
        """Monotonic time the next counts are due."""
        self._counted_from = 0.0
        """Wall-clock start of the last wide read that counted."""
        self._wide_at = 0.0
        """Monotonic time the next wide read is due."""
        self._wide_from = 0.0
        """Wall-clock start of the last wide read."""
        self._late_s = (0.0, 0.0)
        """The longest lateness of a new event read since the last wide read, and before it."""
        self._missed_since: float | None = None
        """Set by a wide read that found events the reads before it missed (later than the
        narrow window, or dated before every window): when the wide read before it started
        (they waited on the observer since at most then)."""
        self._dynamodb = aws.client("dynamodb")
        self._seen: dict[tuple[str, str], tuple[dict[str, Any], Event]] = {}
        """Item key (RequestId, Timestamp) -> the item as last read, and its event: by the
        item's partition value, what a wide read's counts are compared with."""

    def poll(self) -> list[Observation]:
        started, wall = time.monotonic(), time.time()
        wide = started >= self._wide_at or self.stopping
        narrow_s = self.narrow_s
        window = max(self.lookback_s, narrow_s) if wide else narrow_s
        since = "" if self.stopping else _timestamp(wall - window)
        back = _timestamp(wall - window - self.recount_s)
        recount = wide and bool(since) and started >= self._recount_at
        behind = self._unseen(back, since) if recount else set()
        seen: list[Observation] = []
        lateness, missed, straggled = 0.0, False, False
        for value in self.values:
            for item in self._query(value, back if value in behind else since):
                new = self._sightings(value, item)
                seen += new
                if not new:
                    continue
                if item[_TIMESTAMP]["S"] < since:  # before the window: only the count found it
                    straggled = True
                    continue
                late = _lateness_s(wall, item[_TIMESTAMP]["S"])
                lateness = max(lateness, late)
                missed = missed or late > narrow_s + 1  # timestamps are to the second
        self._missed_since = None
        if wide and missed and self._wide_from:
            self._missed_since = self._wide_from
        if straggled and self._counted_from:
            self._missed_since = self._counted_from
        if recount:
            self._recount_at, self._counted_from = started + self.recount_every_s, wall
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

    def _unseen(self, first: str, last: str) -> set[str]:
        """The partition values DynamoDB holds more items dated from `first` to `last` in
        than this has seen there (`Timestamp` strings compared as DynamoDB compares them):
        some landed after every read whose window they fell in."""
        seen = Counter(
            item[self.attribute]["S"]
            for (_, stamp), (item, _) in self._seen.items()
            if first <= stamp <= last
        )
        return {value for value in self.values if self._count(value, first, last) > seen[value]}

    def _count(self, value: str, first: str, last: str) -> int:
        """How many items partition `value` holds dated from `first` to `last`."""
        pages = self._pages(value, "BETWEEN :t0 AND :t1", first, last, Select="COUNT")
        return sum(page["Count"] for page in pages)

    def _query(self, value: str, since: str) -> list[dict[str, Any]]:
        """The items of partition `value` dated `since` or later (all of them: "")."""
        pages = self._pages(value, ">= :t0", since) if since else self._pages(value, "")
        return [item for page in pages for item in page["Items"]]

    def _pages(
        self, value: str, sort_key: str, *bounds: str, **more: str
    ) -> Iterator[dict[str, Any]]:
        """The pages of a Query of partition `value`, its `Timestamp` compared by
        `sort_key` (e.g. ">= :t0", with `bounds` as :t0, :t1...) if given."""
        condition = "#p = :v" + (f" AND #t {sort_key}" if sort_key else "")
        names = {"#p": self.attribute, **({"#t": _TIMESTAMP} if sort_key else {})}
        values = {":v": {"S": value}, **{f":t{i}": {"S": t} for i, t in enumerate(bounds)}}
        return self._dynamodb.get_paginator("query").paginate(
            TableName=self.table,
            IndexName=self.index,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            **more,
        )

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
