"""DMS's Apache Kafka target: DMS JSON messages produced with confluent-kafka.

Written by hand because DMS itself is what is emulated. Messages come from
`messages.MessageBuilder`; the message key is the partition key, so Kafka's
default partitioner keeps one key in one partition. The producer uses acks=all
and idempotence (no reordering or duplicates from its own retries); `flush()`
waits for every delivery report and raises if any message was not delivered,
which is what lets the runner confirm the source position. The topic is
KafkaSettings.Topic (default `kafka-default-topic`) unless the table's
object-mapping rule names a `kafka-target-topic`.
"""

from collections.abc import Iterable

from confluent_kafka import KafkaError, Producer
from confluent_kafka import Message as KafkaMessage

from harness import kafka_logs
from harness.local.dms.changes import Row, SchemaChange, Table, Transaction
from harness.local.dms.context import TaskContext
from harness.local.dms.targets.base import DmsTarget
from harness.local.dms.targets.messages import Message, MessageBuilder

DEFAULT_TOPIC = "kafka-default-topic"
DEFAULT_MESSAGE_MAX_BYTES = 1_000_000
DUE_MESSAGES = 500
_FLUSH_WAIT_S = 1.0
_DELIVERY_TIMEOUT_MS = 120_000


class KafkaDeliveryError(RuntimeError):
    """Kafka did not take (all) messages: the task must not confirm its source position."""


class KafkaTarget(DmsTarget):
    def __init__(self, ctx: TaskContext) -> None:
        super().__init__(ctx)
        settings = ctx.endpoint["KafkaSettings"]
        self.topic = str(settings.get("Topic") or DEFAULT_TOPIC)
        self.builder = MessageBuilder(ctx, settings)
        max_bytes = int(settings.get("MessageMaxBytes") or DEFAULT_MESSAGE_MAX_BYTES)
        self.producer = Producer(
            {
                "bootstrap.servers": str(settings["Broker"]),
                "acks": "all",
                "enable.idempotence": True,
                "message.max.bytes": max_bytes,
                "linger.ms": 5,
                "delivery.timeout.ms": _DELIVERY_TIMEOUT_MS,
                "logger": kafka_logs.LOGGER,
            }
        )
        self.unflushed = 0
        self.errors: list[str] = []

    def topic_for(self, table: Table) -> str:
        rule = self.ctx.mapping.object_mapping(table)
        return str((rule or {}).get("kafka-target-topic") or self.topic)

    def load_rows(self, table: Table, rows: Iterable[Row]) -> int:
        self._produce(self.builder.create_table(table))
        count = 0
        for row in rows:
            self._produce(self.builder.load(table, row))
            count += 1
        return count

    def apply(self, txn: Transaction) -> None:
        for message in self.builder.transaction(txn):
            self._produce(message)

    def schema_change(self, change: SchemaChange) -> None:
        message = self.builder.schema_change(change)
        if message is not None:
            self._produce(message)

    def due(self, now: float) -> bool:
        return self.unflushed >= DUE_MESSAGES

    def flush(self) -> None:
        while self.producer.flush(_FLUSH_WAIT_S) > 0:
            if self.errors:
                break
        self.unflushed = 0
        if self.errors:
            first, count = self.errors[0], len(self.errors)
            self.errors = []
            raise KafkaDeliveryError(f"{count} Kafka messages not delivered, first: {first}")

    def close(self) -> None:
        self.producer.purge()
        self.producer.flush(0)

    def _produce(self, message: Message) -> None:
        topic = self.topic_for(message.table)
        while True:
            try:
                self.producer.produce(
                    topic, value=message.body, key=message.key.encode(), on_delivery=self._report
                )
                break
            except BufferError:  # local queue full: let deliveries drain
                self.producer.poll(0.1)
        self.producer.poll(0)
        self.unflushed += 1

    def _report(self, error: KafkaError | None, message: KafkaMessage) -> None:
        if error is not None:
            self.errors.append(f"{message.topic()}: {error.str()}")
