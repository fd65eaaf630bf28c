"""The read loop of stream observers: every shard of a Kinesis or DynamoDB stream, in order.

Both APIs have the same shape: DescribeStream lists shards in pages (ExclusiveStartShardId),
GetShardIterator starts a shard at TRIM_HORIZON, GetRecords returns records and the next
iterator, none once a closed shard has been read to its end. Shards are listed again every
few seconds, so children of a resharding are found and read from their start. A child is read
alongside its parents: while a parent still has records to read, one key's changes may be
seen out of order across the two.
"""

import time
from dataclasses import dataclass
from typing import Any

REDISCOVER_S = 5.0


@dataclass(frozen=True, slots=True)
class ShardBatch:
    """What one GetRecords call returned from one shard."""

    shard_id: str
    records: list[dict[str, Any]]
    seen_ns: int
    """Harness clock right after the call returned."""
    millis_behind_latest: int | None
    """How far the shard's tip is ahead of this batch (Kinesis only)."""
    more: bool
    """The shard held more than this call read: a full page, or Kinesis said it is behind."""


class ShardFollower:
    """Reads every shard of one stream from TRIM_HORIZON with its own iterators: no
    consumer registration, no checkpoints, so the stream's other readers are undisturbed."""

    def __init__(self, client: Any, stream: dict[str, str], limit: int) -> None:
        """`client`: a kinesis or dynamodbstreams client; `stream`: the parameter naming the
        stream in its calls ({"StreamName": ...} or {"StreamArn": ...}); `limit`: GetRecords'."""
        self._client = client
        self._stream = stream
        self._limit = limit
        self._iterators: dict[str, str] = {}
        """Open shards being read: shard -> next iterator."""
        self._finished: set[str] = set()
        self._discovered_at = -REDISCOVER_S

    def read(self) -> list[ShardBatch]:
        """One GetRecords call per shard still open (listing shards again when due)."""
        if time.monotonic() - self._discovered_at >= REDISCOVER_S:
            self._discover()
        batches = []
        for shard_id, iterator in list(self._iterators.items()):
            response = self._client.get_records(ShardIterator=iterator, Limit=self._limit)
            seen_ns = time.time_ns()
            following = response.get("NextShardIterator")
            if following:
                self._iterators[shard_id] = following
            else:  # a closed shard read to its end
                del self._iterators[shard_id]
                self._finished.add(shard_id)
            records, behind = response["Records"], response.get("MillisBehindLatest")
            more = len(records) >= self._limit or bool(behind)
            batches.append(ShardBatch(shard_id, records, seen_ns, behind, more))
        return batches

    def _discover(self) -> None:
        self._discovered_at = time.monotonic()
        start: dict[str, str] = {}
        while True:
            page = self._client.describe_stream(**self._stream, **start)["StreamDescription"]
            for shard in page["Shards"]:
                shard_id = shard["ShardId"]
                if shard_id not in self._iterators and shard_id not in self._finished:
                    self._iterators[shard_id] = self._client.get_shard_iterator(
                        **self._stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                    )["ShardIterator"]
            # DynamoDB Streams names the last shard of a page; Kinesis says there are more.
            last = page.get("LastEvaluatedShardId")
            if page.get("HasMoreShards") and page["Shards"]:
                last = page["Shards"][-1]["ShardId"]
            if not last:
                return
            start = {"ExclusiveStartShardId": last}
