"""Observe a Kafka topic of DMS messages (an event log: every change, no snapshot)."""

import time
import uuid
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Message, TopicPartition

from harness import kafka_logs
from harness.aws import AwsAccess
from harness.observe.base import Observation, Observer
from harness.observe.formats.messages import MessageDecoder
from harness.observe.kafka_security import client_security

_BATCH = 1000
_WAIT_S = 0.1
"""Longest wait for a first message in one poll: how long `stop()` may take to be noticed."""
_BROKER_TIMEOUT_S = 10.0


class KafkaTopicObserver(Observer):
    """Reads every partition of the topic from its beginning with a consumer of its own:
    partitions are assigned, never subscribed, under a group id no pattern uses, and no
    offset is ever committed, so no consumer group of the pattern is touched.

    Positions are `<partition>:<offset>`. Every `refresh_s` the topic's partitions are
    listed again (new ones are read from their beginning) and `behind`, the records not
    yet read (sum over partitions of high watermark - next offset), is measured from the
    watermarks the consumer's last fetch responses carried.
    """

    refresh_s = 2.0

    def __init__(
        self,
        projection: str,
        log_path: Path,
        aws: AwsAccess,
        bootstrap: str,
        topic: str,
        format: str = "dms_json",
    ) -> None:
        """The topic is reached through `bootstrap` (TLS or IAM by its port, on `aws`'s
        region: `kafka_security`)."""
        super().__init__(projection, log_path)
        self.bootstrap = bootstrap
        self._security = client_security(bootstrap, aws.region)
        self.topic = topic
        self.group = f"cdcbench-observer-{uuid.uuid4().hex}"
        self.behind = 0
        """Records in the topic not yet read, as of the last refresh."""
        self._decoder = MessageDecoder(projection, format)
        self._consumer: Consumer | None = None
        self._next: dict[int, int] = {}
        """Assigned partition -> offset after the last record read."""
        self._refreshed_at = -self.refresh_s

    def control_records(self) -> dict[str, int]:
        return dict(self._decoder.messages.control)

    def poll(self) -> list[Observation]:
        if self._consumer is None:
            self._consumer = Consumer(
                {
                    "bootstrap.servers": self.bootstrap,
                    "group.id": self.group,
                    "enable.auto.commit": False,
                    # Only where the mock broker dropped records not yet read.
                    "auto.offset.reset": "earliest",
                    "log.connection.close": False,
                    "logger": kafka_logs.LOGGER,
                    **self._security,
                }
            )
        if time.monotonic() - self._refreshed_at >= self.refresh_s:
            self._refresh(self._consumer)
        # consume() waits its whole timeout unless the batch fills: wait for one message,
        # then take what has arrived with it, so records are stamped when they come.
        waiting = time.monotonic()
        first = self._consumer.poll(_WAIT_S)
        self.waited_s += time.monotonic() - waiting
        messages = [] if first is None else [first, *self._consumer.consume(_BATCH - 1, 0)]
        seen_ns = time.time_ns()
        self.lagging = len(messages) >= _BATCH
        return [o for m in messages if (o := self._observe(m, seen_ns)) is not None]

    def stop(self) -> None:
        """Stop polling, close the log and the consumer (idempotent)."""
        super().stop()
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    def _observe(self, message: Message, seen_ns: int) -> Observation | None:
        error = message.error()
        if error is not None:
            if error.fatal():
                raise KafkaException(error)
            return None  # transient: librdkafka retries on its own
        partition, offset = message.partition(), message.offset()
        self._next[partition] = offset + 1
        # A null value fails as an empty document.
        return self._decoder.observe(message.value() or b"", f"{partition}:{offset}", seen_ns)

    def _refresh(self, consumer: Consumer) -> None:
        """Assign partitions not yet read; measure `behind` (both left as they were while
        the brokers cannot be reached: librdkafka reconnects, the next refresh retries)."""
        self._refreshed_at = time.monotonic()
        try:
            self._assign_and_measure(consumer)
        except KafkaException as exc:
            if exc.args[0].fatal():
                raise

    def _assign_and_measure(self, consumer: Consumer) -> None:
        # All topics: a metadata request naming a missing topic could create it.
        topic = consumer.list_topics(timeout=_BROKER_TIMEOUT_S).topics.get(self.topic)
        new = [p for p in (topic.partitions if topic else ()) if p not in self._next]
        if new:
            consumer.incremental_assign(
                [TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in new]
            )
            self._next.update(dict.fromkeys(new, 0))
        behind = 0
        for partition, following in self._next.items():
            # The watermarks of the last fetch response: asking the broker instead would wait
            # behind the consumer's long-poll fetch (up to fetch.wait.max.ms, 500 ms).
            tp = TopicPartition(self.topic, partition)
            low, high = consumer.get_watermark_offsets(tp, cached=True)
            if high < 0:  # no fetch answered yet
                low, high = consumer.get_watermark_offsets(tp, _BROKER_TIMEOUT_S, cached=False)
            behind += max(0, high - max(following, low))
        self.behind = behind
