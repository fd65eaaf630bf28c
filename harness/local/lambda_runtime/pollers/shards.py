"""What Lambda's Kinesis and DynamoDB Streams mappings share: a reader per shard, batching,
retries, bisection, partial batch responses, on-failure records and checkpoints.

Hand-written: this is the Lambda service's own event-source-mapping behaviour, which no
library reproduces against a stream API. It follows the AWS Lambda developer guide ("Using
Lambda with Kinesis", "... with DynamoDB", their "Error handling" and "Reporting batch item
failures" sections):

- one reader per shard; a closed shard's children start once it is finished; shards found
  at the mapping's first look start at its StartingPosition, later ones (children) at
  TRIM_HORIZON; each shard's GetRecords runs at most once per poll interval;
- a batch holds up to BatchSize records of one shard and at most 6 MB of event; with a
  batching window, records gather until the batch is full or the window passes;
- one batch per shard at a time, or with ParallelizationFactor N up to N concurrent
  batches, records spread by partition key (item key for DynamoDB) so each key keeps its
  order. Concurrent batches are dispatched in rounds: a round ends when its slowest batch
  does (AWS runs them independently), which only matters while one of them is retrying;
- a function error retries the batch (MaximumRetryAttempts, -1 = until the records
  expire) with a short backoff; BisectBatchOnFunctionError splits a failing batch in two
  first; a throttled batch is retried without using the quota; records older than
  MaximumRecordAgeInSeconds are never sent; given-up records go to the OnFailure
  destination (SQS queue or SNS topic) as a documented invocation record, and the shard
  moves on;
- with ReportBatchItemFailures the lowest reported sequence number is where the batch
  resumes (records before it are done); an empty or unknown identifier fails the batch.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
import zlib
from abc import abstractmethod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from harness.local.lambda_runtime.invocation import Invocation
from harness.local.lambda_runtime.pollers.base import (
    PAYLOAD_LIMIT,
    THROTTLED,
    MappingContext,
    Poller,
    backoff,
    payload_size,
)

_ENVELOPE_BYTES = len('{"Records":[]}')
_DISCOVERY_S = 5.0
"""How often shards are listed (at once, too, when a shard has been read to its end)."""
_TICK_S = 0.2


@dataclass(frozen=True)
class Shard:
    """A shard as listed, with the shards it was split or merged from."""

    shard_id: str
    parents: tuple[str, ...]


@dataclass(frozen=True)
class Position:
    """Where a shard iterator starts: a ShardIteratorType and what it needs."""

    kind: str
    """TRIM_HORIZON, LATEST, AT_TIMESTAMP or AFTER_SEQUENCE_NUMBER."""
    sequence_number: str | None = None
    timestamp: datetime | None = None


@dataclass(frozen=True)
class StreamRecord:
    """One stream record, as Lambda delivers it and as the poller needs to know it."""

    sequence_number: str
    arrival: float
    """When the record entered the stream (epoch seconds)."""
    key: str
    """What orders records across concurrent batches (partition key, or item key)."""
    event: dict[str, Any]
    """The record as it appears in the event's Records list."""
    size: int = field(init=False)

    def __post_init__(self) -> None:
        size = payload_size(self.event)
        object.__setattr__(self, "size", size)


@dataclass(frozen=True)
class Rules:
    """The mapping's batching and error-handling settings, AWS defaults filled in."""

    batch_size: int
    window_s: float
    max_retries: int
    max_age_s: int
    bisect: bool
    partial: bool
    parallel: int
    destination: str | None

    @classmethod
    def of(cls, mapping: dict[str, Any]) -> Rules:
        on_failure = (mapping.get("DestinationConfig") or {}).get("OnFailure") or {}
        return cls(
            batch_size=int(mapping.get("BatchSize") or 100),
            window_s=float(mapping.get("MaximumBatchingWindowInSeconds") or 0),
            max_retries=int(mapping.get("MaximumRetryAttempts", -1)),
            max_age_s=int(mapping.get("MaximumRecordAgeInSeconds", -1)),
            bisect=bool(mapping.get("BisectBatchOnFunctionError")),
            partial="ReportBatchItemFailures" in (mapping.get("FunctionResponseTypes") or ()),
            parallel=max(1, int(mapping.get("ParallelizationFactor") or 1)),
            destination=on_failure.get("Destination") or None,
        )


@dataclass(frozen=True)
class Pending:
    """Records of a batch still to deliver, and what their delivery has cost so far."""

    records: list[StreamRecord]
    retries: int = 0
    invokes: int = 0
    throttles: int = 0
    last: Invocation | None = None
    failing_since: float | None = None
    """When the function first failed these records (monotonic clock)."""


def iso_time(epoch: float, timespec: str) -> str:
    """`2019-11-14T00:38:04.835Z` (timespec "milliseconds") or `...T00:13:19Z` ("seconds")."""
    text = datetime.fromtimestamp(epoch, UTC).isoformat(timespec=timespec)
    return text.replace("+00:00", "Z")


class StreamPoller(Poller):
    """A Kinesis or DynamoDB Streams mapping. Subclasses know their API and event shape."""

    service: ClassVar[str]
    """The boto3 client reading the stream."""
    batch_info_key: ClassVar[str]
    """Where an on-failure invocation record describes the batch (KinesisBatchInfo...)."""
    arrival_timespec: ClassVar[str]
    """Precision of arrival times in on-failure records ("milliseconds" or "seconds")."""
    starting_positions: ClassVar[frozenset[str]]
    max_read: ClassVar[int]
    """GetRecords' largest Limit."""

    def __init__(self, ctx: MappingContext, *, resume: dict[str, str] | None = None) -> None:
        """`resume`: `checkpoints()` of the poller this one replaces (same mapping)."""
        super().__init__(ctx)
        self.rules = Rules.of(ctx.mapping)
        self.source_arn: str = ctx.mapping["EventSourceArn"]
        self._resumed = frozenset(resume or ())
        self._checkpoints: dict[str, str] = dict(resume or {})
        self._lock = threading.Lock()
        self._local = threading.local()
        self._readers: dict[str, _ShardReader] = {}
        self._initial: frozenset[str] | None = None
        """Shards seen at the first listing: they start at the mapping's StartingPosition."""
        self._shard_ended = threading.Event()
        self._stalled = False

    # -- what each kind of stream provides

    @abstractmethod
    def poll_interval(self) -> float:
        """Least time between two GetRecords calls on one shard."""

    def prepare(self) -> None:
        """Look up what events need before the first read (default: nothing)."""

    @abstractmethod
    def list_shards(self) -> list[Shard]: ...

    @abstractmethod
    def shard_iterator(self, shard_id: str, position: Position) -> str: ...

    @abstractmethod
    def get_records(
        self, shard_id: str, iterator: str, limit: int
    ) -> tuple[list[StreamRecord], str | None]:
        """One GetRecords call: the records and the next iterator (None: shard finished)."""

    # -- the mapping

    def checkpoints(self) -> dict[str, str]:
        """The last processed sequence number of each shard (give to a successor as `resume`)."""
        with self._lock:
            return dict(self._checkpoints)

    def client(self, service: str) -> Any:
        """This thread's boto3 client for `service`."""
        clients: dict[str, Any] = self._local.__dict__.setdefault("clients", {})
        if service not in clients:
            clients[service] = self.ctx.aws.client(service)
        return clients[service]

    def run(self) -> None:
        problem = self.configuration_problem()
        if problem:
            self.ctx.fail(problem)
            self.ctx.report(f"PROBLEM: {problem}")
            return
        self.prepare()
        try:
            self._discover_until_stopped()
        finally:
            self.stopping.set()
            for reader in list(self._readers.values()):
                reader.join()

    def configuration_problem(self) -> str | None:
        """One line saying what in the mapping the local runtime cannot honour, or None."""
        mapping = self.mapping
        position = mapping.get("StartingPosition") or "TRIM_HORIZON"
        if position not in self.starting_positions:
            allowed = ", ".join(sorted(self.starting_positions))
            return f"StartingPosition {position} is not valid for this stream: use {allowed}"
        if mapping.get("TumblingWindowInSeconds"):
            return (
                "TumblingWindowInSeconds is not supported by the local Lambda runtime: "
                "remove it from the mapping"
            )
        if (mapping.get("FilterCriteria") or {}).get("Filters"):
            return (
                "FilterCriteria on stream mappings is not supported by the local Lambda "
                "runtime: remove it from the mapping"
            )
        destination = self.rules.destination
        if destination and destination.split(":")[2:3] not in (["sqs"], ["sns"]):
            return (
                f"on-failure destination {destination} is not supported by the local Lambda "
                "runtime: use an SQS queue or SNS topic ARN"
            )
        return None

    def _discover_until_stopped(self) -> None:
        next_listing = 0.0
        while not self.stopping.is_set():
            if time.monotonic() >= next_listing or self._shard_ended.is_set():
                self._shard_ended.clear()
                self._discover()
                next_listing = time.monotonic() + _DISCOVERY_S
            self.stopping.wait(_TICK_S)

    def _discover(self) -> None:
        shards = {shard.shard_id: shard for shard in self.list_shards()}
        if self._initial is None:
            self._initial = frozenset(shards)
        for shard in shards.values():
            if shard.shard_id in self._readers:
                continue
            if any(p in shards and not self._finished(p) for p in shard.parents):
                continue  # resharding: a child waits until its parents are read to the end
            reader = _ShardReader(self, shard, self._position(shard))
            self._readers[shard.shard_id] = reader
            reader.start()

    def _finished(self, shard_id: str) -> bool:
        reader = self._readers.get(shard_id)
        return reader is not None and reader.finished

    def _position(self, shard: Shard) -> Position:
        checkpoint = self._checkpoints.get(shard.shard_id)
        if checkpoint is not None:
            return Position("AFTER_SEQUENCE_NUMBER", sequence_number=checkpoint)
        initial = self._initial is not None and shard.shard_id in self._initial
        if not initial or any(p in self._resumed for p in shard.parents):
            return Position("TRIM_HORIZON")  # created after the mapping started reading
        kind = self.mapping.get("StartingPosition") or "TRIM_HORIZON"
        return Position(kind, timestamp=self.mapping.get("StartingPositionTimestamp"))

    def _checkpoint(self, shard_id: str, sequence_number: str) -> None:
        with self._lock:
            self._checkpoints[shard_id] = sequence_number

    def _reader_ended(self) -> None:
        self._shard_ended.set()

    # -- delivering a batch

    def deliver(self, shard_id: str, records: list[StreamRecord]) -> int:
        """Invoke the function on `records` (one shard's, in order) until each is processed
        or given up. Returns how many leading records are done: all of them, unless the
        poller stopped first."""
        todo = [Pending(records)]

        def done() -> int:
            return len(records) - sum(len(p.records) for p in todo)

        while todo:
            pending = todo.pop(0)
            expired = self._expired(pending.records)
            if expired:
                self._discard(shard_id, pending.records[:expired], "RecordAgeExceeded", pending)
                pending = replace(pending, records=pending.records[expired:])
                if not pending.records:
                    continue
            invocation = self.invoke({"Records": [r.event for r in pending.records]})
            if invocation is None:  # the function cannot run: the mapping has stopped
                todo.insert(0, pending)
                return done()
            if invocation.error and invocation.error.error_type == THROTTLED:
                # The batch never reached the function: retried until the records expire,
                # without using the retry quota.
                self.ctx.report("PROBLEM: Function call failed")
                todo.insert(0, replace(pending, throttles=pending.throttles + 1))
                if self.stopping.wait(backoff(pending.throttles)):
                    return done()
                continue
            pending = replace(pending, invokes=pending.invokes + 1, last=invocation)
            failed = self._first_failed(pending.records, invocation)
            if failed is None:
                self.ctx.report("OK")
                self._moving()
                continue
            self.ctx.report("PROBLEM: Function call failed")
            since = pending.failing_since or time.monotonic()
            rest = replace(pending, records=pending.records[failed:], failing_since=since)
            self._check_stalled(rest)
            if invocation.error and self.rules.bisect and len(rest.records) > 1:
                # Splitting does not count towards the retry quota: each half starts with
                # the retries its batch had used, and is retried (or split again) alone.
                half = len(rest.records) // 2
                todo[:0] = [
                    replace(rest, records=rest.records[:half]),
                    replace(rest, records=rest.records[half:]),
                ]
            elif 0 <= self.rules.max_retries <= rest.retries:
                self._discard(shard_id, rest.records, "RetryAttemptsExhausted", rest)
            else:
                todo.insert(0, replace(rest, retries=rest.retries + 1))
                if self.stopping.wait(backoff(rest.retries)):
                    return done()
        return len(records)

    def _check_stalled(self, pending: Pending) -> None:
        """Report the mapping stalled once one batch has failed for `stalled_after_s`."""
        assert pending.failing_since is not None
        failing_s = time.monotonic() - pending.failing_since
        if self._stalled or failing_s < self.ctx.timing.stalled_after_s:
            return
        self._stalled = True
        error = pending.last.error if pending.last else None
        why = f"{error.error_type}: {error.message}" if error else "partial batch failures"
        self.ctx.stalled(
            f"{why} (one batch failed {pending.invokes} times in {failing_s:.0f} s; "
            "AWS retries it until its records expire)"
        )

    def _moving(self) -> None:
        if self._stalled:
            self._stalled = False
            self.ctx.stalled(None)

    def _expired(self, records: list[StreamRecord]) -> int:
        """How many leading records are older than MaximumRecordAgeInSeconds."""
        if self.rules.max_age_s < 0:
            return 0
        oldest = time.time() - self.rules.max_age_s
        count = 0
        while count < len(records) and records[count].arrival < oldest:
            count += 1
        return count

    def _first_failed(self, records: list[StreamRecord], invocation: Invocation) -> int | None:
        """Index of the first record to retry, None if the batch succeeded."""
        if invocation.error:
            return 0
        payload = invocation.payload
        if not self.rules.partial or payload is None:
            return None
        if not isinstance(payload, dict):
            return 0  # not a StreamsEventResponse
        failures = payload.get("batchItemFailures")
        if not failures:
            return None  # an empty or null list: complete success
        if not isinstance(failures, list):
            return 0
        index = {record.sequence_number: i for i, record in enumerate(records)}
        found = []
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if isinstance(identifier, int) and not isinstance(identifier, bool):
                identifier = str(identifier)
            if not isinstance(identifier, str) or identifier not in index:
                return 0  # empty, null or unknown identifier: the whole batch failed
            found.append(index[identifier])
        return min(found)

    def _discard(
        self, shard_id: str, records: list[StreamRecord], condition: str, pending: Pending
    ) -> None:
        """Give up `records`: tell the on-failure destination, if any, and move on."""
        destination = self.rules.destination
        if not destination:
            return
        body = json.dumps(self.failure_record(shard_id, records, condition, pending))
        arn = destination.split(":")
        if arn[2] == "sqs":
            sqs = self.client("sqs")
            url = sqs.get_queue_url(QueueName=arn[5], QueueOwnerAWSAccountId=arn[4])["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody=body)
        else:
            self.client("sns").publish(TopicArn=destination, Message=body)

    def failure_record(
        self, shard_id: str, records: list[StreamRecord], condition: str, pending: Pending
    ) -> dict[str, Any]:
        """The invocation record AWS sends to an on-failure destination for `records`."""
        last = pending.last
        document: dict[str, Any] = {
            "requestContext": {
                "requestId": last.request_id if last else str(uuid.uuid4()),
                "functionArn": self.mapping["FunctionArn"],
                "condition": condition,
                "approximateInvokeCount": pending.invokes,
            }
        }
        if last is not None:
            response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
            if last.error:
                response["functionError"] = "Unhandled"
            document["responseContext"] = response
        document["version"] = "1.0"
        document["timestamp"] = iso_time(time.time(), "milliseconds")
        document[self.batch_info_key] = {
            "shardId": shard_id,
            "startSequenceNumber": records[0].sequence_number,
            "endSequenceNumber": records[-1].sequence_number,
            "approximateArrivalOfFirstRecord": iso_time(records[0].arrival, self.arrival_timespec),
            "approximateArrivalOfLastRecord": iso_time(records[-1].arrival, self.arrival_timespec),
            "batchSize": len(records),
            "streamArn": self.source_arn,
        }
        return document


def take_batch(records: list[StreamRecord], batch_size: int) -> list[StreamRecord]:
    """The leading records that fit one invocation: at most `batch_size`, at most 6 MB of
    event (at least one record)."""
    total = _ENVELOPE_BYTES
    count = 0
    for record in records[:batch_size]:
        total += record.size
        if count and total > PAYLOAD_LIMIT:
            break
        count += 1
    return records[:count]


class _ShardReader:
    """Reads one shard in order and hands its records to the poller in batches."""

    def __init__(self, poller: StreamPoller, shard: Shard, position: Position) -> None:
        self.poller = poller
        self.shard = shard
        self.position = position
        self.finished = False
        """Read to its end and every record processed: its children may start."""
        self._buffer: list[StreamRecord] = []
        self._last_read: str | None = None
        name = f"esm-{poller.mapping['UUID'][:8]}-{shard.shard_id[-8:]}"
        parallel = poller.rules.parallel
        self._lanes = ThreadPoolExecutor(parallel, f"{name}-lane") if parallel > 1 else None
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()
        if self._lanes is not None:
            self._lanes.shutdown()

    def _main(self) -> None:
        poller = self.poller
        try:
            self._run()
        except Exception as exc:  # a shard that cannot be read stops the mapping, visibly
            poller.ctx.fail(f"{self.shard.shard_id}: {type(exc).__name__}: {exc}")
            poller.ctx.report(f"PROBLEM: {type(exc).__name__}: {exc}")
            poller.stopping.set()

    def _run(self) -> None:
        poller, rules = self.poller, self.poller.rules
        stopping = poller.stopping
        iterator: str | None = self._iterator(self.position)
        ended = False
        next_read = 0.0
        window_end = 0.0
        while not stopping.is_set():
            now = time.monotonic()
            if not ended and now >= next_read and self._wants_more():
                next_read = now + poller.poll_interval()
                records, iterator = self._read(iterator)
                if records and not self._buffer:
                    window_end = now + rules.window_s
                self._buffer += records
                ended = iterator is None  # a closed shard read to its end
            if self._buffer and (ended or self._full() or time.monotonic() >= window_end):
                if not self._round():
                    return
                window_end = time.monotonic() + rules.window_s
                continue
            if ended:
                self.finished = True
                poller._reader_ended()
                return
            wake = window_end if self._buffer else next_read
            if self._wants_more():
                wake = min(wake, next_read)
            stopping.wait(max(0.0, wake - time.monotonic()))

    def _wants_more(self) -> bool:
        """Whether the buffer is short of what one round can deliver."""
        rules = self.poller.rules
        if len(self._buffer) >= rules.batch_size * rules.parallel:
            return False
        return sum(r.size for r in self._buffer) < PAYLOAD_LIMIT * rules.parallel

    def _full(self) -> bool:
        rules = self.poller.rules
        batch = take_batch(self._buffer, rules.batch_size)
        return len(batch) == rules.batch_size or len(batch) < len(self._buffer)

    def _iterator(self, position: Position) -> str:
        return self.poller.shard_iterator(self.shard.shard_id, position)

    def _read(self, iterator: str | None) -> tuple[list[StreamRecord], str | None]:
        if iterator is None:
            return [], None
        poller = self.poller
        try:
            records, following = poller.get_records(self.shard.shard_id, iterator, poller.max_read)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExpiredIteratorException":
                raise
            resume = self._last_read or poller.checkpoints().get(self.shard.shard_id)
            position = Position("AFTER_SEQUENCE_NUMBER", resume) if resume else self.position
            return [], self._iterator(position)
        if records:
            self._last_read = records[-1].sequence_number
        return records, following

    def _round(self) -> bool:
        """Deliver the next batch (or, with ParallelizationFactor > 1, one batch per key
        lane, concurrently); checkpoint. False if the poller stopped meanwhile."""
        poller = self.poller
        shard_id = self.shard.shard_id
        batches = [take_batch(lane, poller.rules.batch_size) for lane in self._lanes_of_buffer()]
        if self._lanes is None:
            done = [poller.deliver(shard_id, batches[0])]
        else:
            done = list(self._lanes.map(lambda batch: poller.deliver(shard_id, batch), batches))
        handled = {r.sequence_number for b, n in zip(batches, done, strict=True) for r in b[:n]}
        checkpoint = None
        for record in self._buffer:
            if record.sequence_number not in handled:
                break
            checkpoint = record.sequence_number
        if checkpoint is not None:
            poller._checkpoint(shard_id, checkpoint)
        self._buffer = [r for r in self._buffer if r.sequence_number not in handled]
        return all(n == len(b) for b, n in zip(batches, done, strict=True))

    def _lanes_of_buffer(self) -> list[list[StreamRecord]]:
        parallel = self.poller.rules.parallel
        if parallel == 1:
            return [self._buffer]
        lanes: list[list[StreamRecord]] = [[] for _ in range(parallel)]
        for record in self._buffer:
            lanes[zlib.crc32(record.key.encode()) % parallel].append(record)
        return [lane for lane in lanes if lane]
