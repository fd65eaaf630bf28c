"""Kafka event-source mapping (Amazon MSK and self-managed Apache Kafka): consumes the topic
in the mapping's consumer group and invokes the function with batches in Lambda's Kafka
event shape.

Hand-written: Lambda's Kafka poller runs only inside AWS, and no library reproduces it.

AWS semantics kept:
- The consumer group is the mapping's ConsumerGroupId (its UUID when none is given); offsets
  are committed only after the function handled a batch, so a new poller resumes where the
  last one left off. StartingPosition (LATEST, TRIM_HORIZON, AT_TIMESTAMP) applies only to
  partitions the group has no committed offset for.
- Batches of up to BatchSize (default 100) gathered within MaximumBatchingWindowInSeconds
  (default 500 ms for Kafka), never over Lambda's 6 MB payload; records of a partition in
  offset order, several partitions per batch.
- A failed batch is retried, with backoff, until it succeeds: its partitions do not move past
  it. MaximumRetryAttempts, when set, bounds the retries; the batch is then discarded.

Not emulated: on-failure destinations (a discarded batch is reported as a limit when one is
configured), and for Kafka ReportBatchItemFailures, BisectBatchOnFunctionError and
MaximumRecordAgeInSeconds.

The librdkafka mock broker keeps about 5 MB per partition and drops older records. A
partition whose next record is past a drop (its first offset after the gap is above the log
start the broker reports) is reported through `ctx.limit`: an emulator limit, not a defect
of the pattern. Reading continues from the earliest record still there.
"""

from __future__ import annotations

import base64
import contextlib
import time
from datetime import datetime
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    TIMESTAMP_CREATE_TIME,
    TIMESTAMP_LOG_APPEND_TIME,
    Consumer,
    KafkaException,
    Message,
    TopicPartition,
)

from harness import kafka_logs
from harness.local.lambda_runtime.pollers.base import (
    PAYLOAD_LIMIT,
    MappingContext,
    Poller,
    payload_size,
)

DEFAULT_WINDOW_S = 0.5
"""Lambda's batching window for Kafka sources when MaximumBatchingWindowInSeconds is unset."""
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 30.0
"""Backoff between attempts at a failed batch: doubling from the first to the max."""
_BROKER_TIMEOUT_S = 10.0
_TIMESTAMP_TYPES = {
    TIMESTAMP_CREATE_TIME: "CREATE_TIME",
    TIMESTAMP_LOG_APPEND_TIME: "LOG_APPEND_TIME",
}
_BOOTSTRAP_KEYS = (
    "BootstrapBrokerString",
    "BootstrapBrokerStringTls",
    "BootstrapBrokerStringSaslScram",
    "BootstrapBrokerStringSaslIam",
)


class KafkaPoller(Poller):
    """Consumes one mapping's topic in its consumer group."""

    def __init__(self, ctx: MappingContext) -> None:
        super().__init__(ctx)
        mapping = self.mapping
        self.topic = str(mapping["Topics"][0])
        self.cluster_arn: str | None = mapping.get("EventSourceArn")
        self.batch_size = int(mapping.get("BatchSize") or 100)
        window = mapping.get("MaximumBatchingWindowInSeconds")
        self.window_s = DEFAULT_WINDOW_S if window is None else float(window)
        config = (
            mapping.get("AmazonManagedKafkaEventSourceConfig")
            or mapping.get("SelfManagedKafkaEventSourceConfig")
            or {}
        )
        self.group = str(config.get("ConsumerGroupId") or mapping["UUID"])
        self.max_retries = int(mapping.get("MaximumRetryAttempts", -1))
        self._pending: list[tuple[dict[str, Any], int]] = []
        """Records read but not yet handed to the function, in the order read, with the
        bytes each adds to the event."""
        self._pending_size = 0
        self._deadline = 0.0
        self.bootstrap = ""
        """The brokers' addresses, once the poller runs."""
        self._assign_error: Exception | None = None
        self._next: dict[tuple[str, int], int] = {}
        """The offset each partition should read next (to notice records the mock dropped)."""

    def run(self) -> None:
        self.bootstrap = self._bootstrap()
        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": self.group,
                "client.id": f"lambda-{self.mapping['UUID']}",
                "enable.auto.commit": False,
                # Reached only when a committed offset fell off the log (a drop, noticed
                # below); starting positions are set explicitly on assignment.
                "auto.offset.reset": "earliest",
                # Like the Java consumer AWS's poller uses, subscribing creates a missing topic
                # where the broker allows it (MSK's auto.create.topics.enable).
                "allow.auto.create.topics": True,
                # The mock broker holds a rejoining group for session.timeout.ms - 1 s.
                "session.timeout.ms": 3000,
                "heartbeat.interval.ms": 1000,
                # An invocation may run for the function's whole timeout, retries longer.
                "max.poll.interval.ms": 86_400_000,
                "log.connection.close": False,
                "logger": kafka_logs.LOGGER,
            }
        )
        try:
            consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
            while not self.stopping.is_set():
                batch = self._gather(consumer)
                if batch and not self._deliver(consumer, batch):
                    return
        finally:
            consumer.close()

    def _bootstrap(self) -> str:
        if self.cluster_arn:
            kafka = self.ctx.aws.client("kafka")
            brokers = kafka.get_bootstrap_brokers(ClusterArn=self.cluster_arn)
            return str(next(brokers[k] for k in _BOOTSTRAP_KEYS if brokers.get(k)))
        endpoints = self.mapping["SelfManagedEventSource"]["Endpoints"]
        return ",".join(endpoints["KAFKA_BOOTSTRAP_SERVERS"])

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Resume from committed offsets; partitions without one start at StartingPosition."""
        try:
            committed = consumer.committed(partitions, timeout=_BROKER_TIMEOUT_S)
            fresh = [tp for tp in committed if tp.offset < 0]
            for tp in committed:
                if tp.offset >= 0:
                    self._next[(tp.topic, tp.partition)] = tp.offset
            if fresh:
                self._start(fresh)
            consumer.assign(committed)
        except Exception as exc:  # confluent-kafka garbles what a callback raises: keep it
            self._assign_error = exc

    def _start(self, partitions: list[TopicPartition]) -> None:
        position = self.mapping.get("StartingPosition")
        if position == "AT_TIMESTAMP":
            at = self.mapping["StartingPositionTimestamp"]
            millis = int((at.timestamp() if isinstance(at, datetime) else float(at)) * 1000)
            self._find_times(partitions, millis)
        else:
            for tp in partitions:
                tp.offset = OFFSET_BEGINNING if position == "TRIM_HORIZON" else OFFSET_END

    def _find_times(self, partitions: list[TopicPartition], millis: int) -> None:
        """Set each partition's offset to its first record stamped at or after `millis` (its
        end when none is). The mock broker answers no timestamp lookup (ListOffsets gives -1),
        so the partitions are read; it keeps about 5 MB of each, which bounds the read."""
        scanner = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"{self.group}-timestamps",  # never joined: the scan only assigns
                "enable.auto.commit": False,
                "logger": kafka_logs.LOGGER,
            }
        )
        try:
            for tp in partitions:
                tp.offset = _first_at(scanner, tp, millis)
        finally:
            scanner.close()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # The next owner reads again from the committed offsets.
        self._pending.clear()
        self._pending_size = 0
        self._next.clear()

    def _gather(self, consumer: Consumer) -> list[dict[str, Any]]:
        """The next batch: once BatchSize records, the payload limit or the window's end (the
        window opens with the first record) is reached; [] when stopping."""
        while not self.stopping.is_set():
            now = time.monotonic()
            if self._pending and (
                len(self._pending) >= self.batch_size
                or self._pending_size >= PAYLOAD_LIMIT
                or now >= self._deadline
            ):
                return self._take()
            timeout = self.ctx.timing.kafka_poll_s
            if self._pending:
                timeout = min(timeout, self._deadline - now)
            wanted = max(1, self.batch_size - len(self._pending))
            messages = consumer.consume(num_messages=wanted, timeout=timeout)
            if self._assign_error:
                raise self._assign_error
            for message in messages:
                error = message.error()
                if error is None:
                    self._add(consumer, message)
                elif error.fatal():
                    raise KafkaException(error)
                # other errors are transient: librdkafka retries on its own
        return []

    def _add(self, consumer: Consumer, message: Message) -> None:
        record = _record(message)
        self._notice_drop(consumer, record["topic"], record["partition"], record["offset"])
        if not self._pending:
            self._deadline = time.monotonic() + self.window_s
        size = payload_size(record)
        self._pending.append((record, size))
        self._pending_size += size

    def _notice_drop(self, consumer: Consumer, topic: str, partition: int, offset: int) -> None:
        expected = self._next.get((topic, partition))
        self._next[(topic, partition)] = offset + 1
        if expected is None or offset <= expected:
            return
        # Offsets also skip over transaction markers and aborted records: only a log start
        # past the expected offset means records were dropped before they were read.
        tp = TopicPartition(topic, partition)
        low, _ = consumer.get_watermark_offsets(tp, timeout=_BROKER_TIMEOUT_S)
        if low > expected:
            self.ctx.limit(
                f"Kafka mock dropped records of {topic}-{partition} before offset {offset} "
                "(it keeps ~5 MB per partition): an emulator limit"
            )

    def _take(self) -> list[dict[str, Any]]:
        """Up to BatchSize pending records whose event fits the payload limit (at least one)."""
        batch: list[dict[str, Any]] = []
        taken = 0
        size = payload_size(self._event([]))
        partitions: set[str] = set()
        for record, record_size in self._pending[: self.batch_size]:
            key = f"{record['topic']}-{record['partition']}"
            size += record_size + (0 if key in partitions else payload_size(key) + 4)
            if batch and size > PAYLOAD_LIMIT:
                break
            partitions.add(key)
            batch.append(record)
            taken += record_size
        del self._pending[: len(batch)]
        self._pending_size -= taken
        self._deadline = time.monotonic() + self.window_s  # for records left over
        return batch

    def _event(self, batch: list[dict[str, Any]]) -> dict[str, Any]:
        records: dict[str, list[dict[str, Any]]] = {}
        for record in batch:
            records.setdefault(f"{record['topic']}-{record['partition']}", []).append(record)
        if self.cluster_arn:
            source = {"eventSource": "aws:kafka", "eventSourceArn": self.cluster_arn}
        else:
            source = {"eventSource": "SelfManagedKafka"}
        return {**source, "bootstrapServers": self.bootstrap, "records": records}

    def _deliver(self, consumer: Consumer, batch: list[dict[str, Any]]) -> bool:
        """Invoke until the batch succeeds (or its retries run out), then commit past it.
        False if the mapping failed for good; True otherwise, also when stopping first (the
        batch stays uncommitted for the next poller)."""
        event = self._event(batch)
        attempts = 0
        backoff_s = RETRY_FIRST_S
        while not self.stopping.is_set():
            invocation = self.invoke(event)
            if invocation is None:
                return False
            attempts += 1
            if invocation.ok:
                self.ctx.report("OK")
                self._commit(consumer, batch)
                return True
            self.ctx.report("PROBLEM: Function call failed")
            if 0 <= self.max_retries < attempts:
                self._discard(batch, attempts)
                self._commit(consumer, batch)
                return True
            self.stopping.wait(backoff_s)
            backoff_s = min(backoff_s * 2, RETRY_MAX_S)
        return True

    def _discard(self, batch: list[dict[str, Any]], attempts: int) -> None:
        destination = (self.mapping.get("DestinationConfig") or {}).get("OnFailure", {})
        if destination.get("Destination"):
            partitions = sorted({f"{r['topic']}-{r['partition']}" for r in batch})
            self.ctx.limit(
                f"on-failure destination {destination['Destination']} is not emulated: "
                f"{len(batch)} records of {', '.join(partitions)} were dropped after "
                f"{attempts} attempts"
            )

    def _commit(self, consumer: Consumer, batch: list[dict[str, Any]]) -> None:
        last: dict[tuple[str, int], int] = {}
        for record in batch:
            last[(record["topic"], record["partition"])] = record["offset"]
        offsets = [TopicPartition(t, p, offset + 1) for (t, p), offset in last.items()]
        # A partition that moved to another member meanwhile is read again from its last commit.
        with contextlib.suppress(KafkaException):
            consumer.commit(offsets=offsets, asynchronous=False)


def _first_at(scanner: Consumer, tp: TopicPartition, millis: int) -> int:
    """The offset of the partition's first record stamped at or after `millis` (read from
    its start by `scanner`), or its end offset when there is none."""
    low, high = scanner.get_watermark_offsets(tp, timeout=_BROKER_TIMEOUT_S)
    scanner.assign([TopicPartition(tp.topic, tp.partition, low)])
    deadline = time.monotonic() + _BROKER_TIMEOUT_S
    position = low
    while position < high and time.monotonic() < deadline:
        for message in scanner.consume(num_messages=500, timeout=0.5):
            if message.error() is None:
                if message.timestamp()[1] >= millis:
                    return int(message.offset())
                position = message.offset() + 1
    return int(high)


def _record(message: Message) -> dict[str, Any]:
    """One Kafka record as Lambda's event has it: key and value base64 (absent when null),
    header values as lists of byte values."""
    kind, timestamp = message.timestamp()
    record: dict[str, Any] = {
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "timestamp": timestamp,
        "timestampType": _TIMESTAMP_TYPES.get(kind, "NO_TIMESTAMP_TYPE"),
    }
    key, value = message.key(), message.value()
    if key is not None:
        record["key"] = base64.b64encode(key).decode()
    if value is not None:
        record["value"] = base64.b64encode(value).decode()
    record["headers"] = [{name: list(data or b"")} for name, data in message.headers() or ()]
    return record
