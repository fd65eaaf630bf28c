"""The read loop of stream observers: every shard of a Kinesis or DynamoDB stream, in order,
within a per-shard read budget.

Both APIs have the same shape: DescribeStream lists shards in pages (ExclusiveStartShardId),
GetShardIterator starts a shard at TRIM_HORIZON, GetRecords returns records and the next
iterator, none once a closed shard has been read to its end. Shards are listed again every
few seconds, so children of a resharding are found and read from their start. A child is read
alongside its parents: while a parent still has records to read, one key's changes may be
seen out of order across the two.

Per-shard read limits, which an observer shares with the pattern's own readers of the shard
(a Lambda event-source mapping, a Firehose delivery stream):
- Kinesis Data Streams: each shard supports up to five read transactions (GetRecords calls)
  per second and up to 2 MB/s read through GetRecords (Kinesis Data Streams Developer Guide,
  "Quotas and limits", service-sizes-and-limits: "GetRecords | 5 TPS" per shard); readers
  without enhanced fan-out share that throughput (same guide, building-consumers). A Lambda
  mapping with a standard iterator polls each shard "at a base rate of once per second", and
  while more records are available keeps reading batches until it catches up (Lambda
  Developer Guide, "Using AWS Lambda with Amazon Kinesis", with-kinesis).
  Enhanced fan-out (RegisterStreamConsumer + SubscribeToShard) gives a consumer its own 2 MB/s
  per shard over HTTP/2, not shared with the other readers (Kinesis Data Streams Developer
  Guide, enhanced-consumers; the same Lambda page). It is not used: moto 5.2.5 serves
  RegisterStreamConsumer but not SubscribeToShard, so it could not be tested here.
- DynamoDB Streams: "No more than two processes at most should be reading from the same
  streams shard at the same time. Having more than two readers per shard can result in
  throttling" (DynamoDB Developer Guide, the DynamoDB Streams page, Streams, "Reading and
  processing a stream"; the SDKs' LimitExceededException text says the same). No per-shard
  call rate is published. A Lambda mapping "polls shards in your DynamoDB stream for records
  at a base rate of 4 times per second" (Lambda Developer Guide, "Using AWS Lambda with Amazon
  DynamoDB", with-ddb).

Budgets (`ReadBudget`): emulated services have no per-shard limits, but they serve every
reader from one process, where an observer reading a busy shard back to back competes with
the pattern for the CPU: at 200 changes/s `dms_ddb_streams_kinesis` kept up in both capacity
searches with observers paced at 50 reads a second a shard and in neither of two without
(at 150/s both used the same CPU). So on emulated targets (`EMULATED_SHARDS`) an observer
calls GetRecords on one shard at most 50 times a second: a change waits at most 20 ms more
for the next call (counted in the observer's own delay), a fifth of the polling observers'
interval (`observe.polling`, the `direct` floor's). `UNPACED` (no pacing) is the observers'
default when built on their own. On AWS (`SHARED_SHARDS`) an observer calls GetRecords
on one shard at most once per second on Kinesis (it plus a Lambda mapping at its base rate use
2 of the 5 calls, leaving room for a second consumer such as Firehose and for the mapping's
catch-up reads), and at most 4 times per second on DynamoDB Streams: the observer is the
second of the two advised readers (the mapping being the first) and reads no faster than the
mapping does, so the pair stays within the advice, each reading at a mapping's rate. Pacing
adds up to one interval to measured lag (a change is seen at the first call after it lands):
1 s on Kinesis, 0.25 s on DynamoDB Streams. What the observer reads also counts against
Kinesis's shared 2 MB/s: it reads each record once, so at most the shard's write rate (1 MB/s,
same quotas page); only enhanced fan-out would avoid that. Not paced: DescribeStream every
few seconds and GetShardIterator once per shard, each far below their own limits.

Read share (`ShardFollower.read_share`): the most GetRecords calls the observer made on one
shard within any one second, divided by what the shard allows all its readers together.
Kinesis: 5 calls/s (the documented quota). DynamoDB Streams: 8 calls/s, the 2 advised readers
at 4 calls/s each, a mapping's rate (derived, not a published quota): a share of 0.5 is one
reader's worth, and above 0.5 the observer reads harder than one of the two advised readers.
"""

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

REDISCOVER_S = 5.0

KINESIS_READS_PER_SHARD_S = 5.0
"""GetRecords calls per second one Kinesis shard allows all its shared-throughput readers."""
DYNAMODB_STREAMS_READERS_PER_SHARD = 2
"""Processes that should read one DynamoDB Streams shard at the same time, at most."""
LAMBDA_DYNAMODB_POLLS_PER_SHARD_S = 4.0
"""A Lambda mapping's base polling rate of each DynamoDB Streams shard."""
DYNAMODB_STREAMS_READS_PER_SHARD_S = (
    DYNAMODB_STREAMS_READERS_PER_SHARD * LAMBDA_DYNAMODB_POLLS_PER_SHARD_S
)
"""The read share's denominator on DynamoDB Streams: the advised readers at a mapping's rate."""

SHARD_ALLOWANCE_PER_S = {
    "kinesis": KINESIS_READS_PER_SHARD_S,
    "dynamodbstreams": DYNAMODB_STREAMS_READS_PER_SHARD_S,
}
"""GetRecords calls per second one shard allows all its readers together, by boto3 service."""


@dataclass(frozen=True, slots=True)
class ReadBudget:
    """GetRecords calls per second a stream observer may make on one shard, by service (None:
    as fast as it polls)."""

    kinesis_per_s: float | None = None
    dynamodb_streams_per_s: float | None = None

    def __post_init__(self) -> None:
        for rate in (self.kinesis_per_s, self.dynamodb_streams_per_s):
            if rate is not None and rate <= 0:
                raise ValueError(f"a read budget is a positive rate per shard, not {rate}")

    def per_s(self, service: str) -> float | None:
        """The budget of boto3 service `service` (kinesis, dynamodbstreams)."""
        if service == "kinesis":
            return self.kinesis_per_s
        if service == "dynamodbstreams":
            return self.dynamodb_streams_per_s
        raise ValueError(f"no per-shard read budget for {service}")

    def interval_s(self, service: str) -> float:
        """The least time between two GetRecords calls on one shard (0: no pacing)."""
        rate = self.per_s(service)
        return 0.0 if rate is None else 1.0 / rate


UNPACED = ReadBudget()
"""No pacing: observers read every shard as fast as they poll."""
EMULATED_READS_PER_SHARD_S = 50.0
"""GetRecords calls per second an observer makes on one shard of an emulated stream, at most."""
EMULATED_SHARDS = ReadBudget(
    kinesis_per_s=EMULATED_READS_PER_SHARD_S, dynamodb_streams_per_s=EMULATED_READS_PER_SHARD_S
)
"""Emulated services: no per-shard limits, observers paced to spare the emulator (module
docstring)."""
SHARED_SHARDS = ReadBudget(
    kinesis_per_s=1.0, dynamodb_streams_per_s=LAMBDA_DYNAMODB_POLLS_PER_SHARD_S
)
"""Real AWS: each shard's reads are shared with the pattern's own readers (module docstring)."""


def read_share(peak_calls_per_s: int, allowance_per_s: float) -> float:
    """A peak of GetRecords calls on one shard within one second, as a share of what the
    shard allows all its readers together."""
    return round(peak_calls_per_s / allowance_per_s, 3)


class PeakRate:
    """The most events within any one second (a half-open window ending at an event)."""

    def __init__(self) -> None:
        self._recent: deque[float] = deque()
        self.peak = 0
        self.count = 0

    def add(self, at_s: float) -> None:
        """One event at monotonic time `at_s` (not earlier than the last one)."""
        while self._recent and self._recent[0] <= at_s - 1.0:
            self._recent.popleft()
        self._recent.append(at_s)
        self.count += 1
        self.peak = max(self.peak, len(self._recent))


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
    consumer registration, no checkpoints, so the stream's other readers are undisturbed
    beyond the share of each shard's reads the budget lets it take."""

    def __init__(
        self, client: Any, stream: dict[str, str], limit: int, budget: ReadBudget = UNPACED
    ) -> None:
        """`client`: a kinesis or dynamodbstreams client; `stream`: the parameter naming the
        stream in its calls ({"StreamName": ...} or {"StreamArn": ...}); `limit`: GetRecords';
        `budget`: how often it may call GetRecords on one shard."""
        self._client = client
        self._stream = stream
        self._limit = limit
        self.service: str = client.meta.service_model.service_name
        self._interval_s = budget.interval_s(self.service)
        self._allowance_per_s = SHARD_ALLOWANCE_PER_S[self.service]
        self._iterators: dict[str, str] = {}
        """Open shards being read: shard -> next iterator."""
        self._finished: set[str] = set()
        self._discovered_at = -REDISCOVER_S
        self._last_call: dict[str, float] = {}
        """shard -> monotonic time its last GetRecords call was made"""
        self.calls: dict[str, PeakRate] = {}
        """shard -> its GetRecords calls: how many, and the most within one second"""

    def due_in_s(self) -> float:
        """Seconds until an open shard may be read again within the budget (0: one is due,
        none is open yet, or nothing is paced)."""
        if not self._interval_s or not self._iterators:
            return 0.0
        now = time.monotonic()
        return max(
            0.0,
            min(
                self._last_call.get(s, -self._interval_s) + self._interval_s - now
                for s in self._iterators
            ),
        )

    def read(self) -> list[ShardBatch]:
        """One GetRecords call per shard still open and due (listing shards again when due)."""
        if time.monotonic() - self._discovered_at >= REDISCOVER_S:
            self._discover()
        batches = []
        for shard_id, iterator in list(self._iterators.items()):
            called_at = time.monotonic()
            last = self._last_call.get(shard_id)
            if last is not None and called_at - last < self._interval_s:
                continue  # read again once its interval has passed
            self._last_call[shard_id] = called_at
            self.calls.setdefault(shard_id, PeakRate()).add(called_at)
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

    def read_share(self) -> float:
        """The most GetRecords calls made on one shard within one second, as a share of what
        the shard allows all its readers together (0.0 before the first call)."""
        peak = max((calls.peak for calls in self.calls.values()), default=0)
        return read_share(peak, self._allowance_per_s)

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
