"""One connector's Confluent S3 sink: consumes its topics and writes their records to S3.

The consumer is in the connector's group (`connect-<name>`) and starts from the group's
committed offsets, or the earliest ones (Kafka Connect's default for sink consumers). Each
assigned partition has a `TopicPartitionWriter`; each object it commits is put to S3, and the
offsets after the objects written are committed to the group as Kafka Connect's worker
does: asynchronously every offset.flush.interval.ms, and synchronously when partitions are
revoked and when the sink stops (at-least-once: after a crash the records since the last
commit are read again and the same object keys are written again). One consumer serves all
of `tasks.max`. A record the sink cannot write (a null value with behavior.on.null.values=fail,
a value JsonConverter cannot parse) or an S3 error stops the sink with `failure` set, as it
fails the connector's task on AWS.
"""

import logging
import threading
import time
from collections import defaultdict
from dataclasses import replace
from typing import Any

from botocore.exceptions import ClientError
from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from harness import kafka_logs
from harness.aws import AwsAccess
from harness.local.mskconnect.config import SinkConfig
from harness.local.mskconnect.json_format import render
from harness.local.mskconnect.partition_writer import S3Object, TopicPartitionWriter

log = logging.getLogger("harness.local.mskconnect")

POLL_S = 0.2
BATCH = 500


class SinkFailure(Exception):
    """Why the sink stopped; one line."""


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class S3Sink(threading.Thread):
    def __init__(self, config: SinkConfig, aws: AwsAccess) -> None:
        super().__init__(name=f"s3-sink-{config.name}", daemon=True)
        self.config = config
        self.aws = replace(aws, region=config.region) if config.region else aws
        self.failure: str | None = None
        self._stop_event = threading.Event()
        self._writers: dict[tuple[str, int], TopicPartitionWriter] = {}
        self._written: dict[tuple[str, int], int] = {}
        """Partition -> the offset after its last object written, not committed yet."""
        self._commit_at_ms = _now_ms() + config.offset_flush_interval_ms

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        consumer = Consumer(
            {
                "bootstrap.servers": self.config.bootstrap_servers,
                "group.id": self.config.group_id,
                "client.id": f"connector-consumer-{self.config.name}-0",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                # Like Kafka Connect's Java consumer, subscribing creates a missing topic where
                # the broker allows it (MSK's auto.create.topics.enable).
                "allow.auto.create.topics": True,
                # The mock broker holds a rejoining group for session.timeout.ms - 1 s.
                "session.timeout.ms": 3000,
                "heartbeat.interval.ms": 1000,
                "log.connection.close": False,
                "logger": kafka_logs.LOGGER,
            }
        )
        try:
            s3 = self.aws.client("s3")
            self._check_bucket(s3)
            topics = list(self.config.topics) or [f"^({self.config.topics_regex})$"]
            consumer.subscribe(topics, on_assign=self._assigned, on_revoke=self._revoked)
            while not self._stop_event.is_set():
                self._step(consumer, s3)
            self._commit(consumer, list(self._written), asynchronous=False)
        except SinkFailure as failure:
            self.failure = str(failure)
        except Exception as error:  # a broken sink must say why, not vanish
            log.exception("S3 sink %s failed", self.config.name)
            self.failure = f"{type(error).__name__}: {error}"
        finally:
            consumer.close()

    def _check_bucket(self, s3: Any) -> None:
        try:
            s3.head_bucket(Bucket=self.config.bucket)
        except ClientError:
            raise SinkFailure(f"S3 bucket {self.config.bucket} does not exist") from None

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        opened = _now_ms()
        for tp in partitions:
            key = (tp.topic, tp.partition)
            self._writers[key] = TopicPartitionWriter(self.config, tp.topic, tp.partition, opened)

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Records not yet in S3 are read again from the committed offset by the next owner.
        # The commit is not waited for: revoked because the group's coordinator cannot be
        # reached (the brokers are down), it could only fail; what it misses is read again.
        revoked = [(tp.topic, tp.partition) for tp in partitions]
        self._commit(consumer, revoked, asynchronous=True)
        for key in revoked:
            self._writers.pop(key, None)

    def _step(self, consumer: Consumer, s3: Any) -> None:
        records: dict[tuple[str, int], list[tuple[int, bytes]]] = defaultdict(list)
        for message in consumer.consume(BATCH, timeout=POLL_S):
            line = self._line(message)
            if line is not None:
                records[(message.topic(), message.partition())].append((message.offset(), line))
        now = _now_ms()
        for (topic, partition), writer in list(self._writers.items()):
            for done in writer.write(records.get((topic, partition), []), now):
                self._put(s3, done)
                self._written[(topic, partition)] = done.commit_offset
        if now >= self._commit_at_ms:
            self._commit(consumer, list(self._written), asynchronous=True)
            self._commit_at_ms = now + self.config.offset_flush_interval_ms

    def _commit(
        self, consumer: Consumer, partitions: list[tuple[str, int]], asynchronous: bool
    ) -> None:
        """Commit the written offsets of those of `partitions` that have any waiting."""
        commit = [
            TopicPartition(topic, partition, self._written.pop((topic, partition)))
            for topic, partition in partitions
            if (topic, partition) in self._written
        ]
        if commit:
            consumer.commit(offsets=commit, asynchronous=asynchronous)

    def _line(self, message: Message) -> bytes | None:
        error = message.error()
        if error is not None:
            if error.fatal():
                raise SinkFailure(f"Kafka consumer failed: {error.str()}")
            # a topic not created yet is read once it exists, as by Kafka Connect
            if error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                log.debug("S3 sink %s: %s", self.config.name, error.str())
            elif error.code() != KafkaError._PARTITION_EOF:
                log.warning("S3 sink %s: %s", self.config.name, error.str())
            return None
        where = f"{message.topic()}/{message.partition()}/{message.offset()}"
        value = message.value()
        if value is None:
            if self.config.ignore_null_values:
                return None
            raise SinkFailure(
                f"null value at {where} with behavior.on.null.values=fail "
                "(set it to ignore to skip tombstones)"
            )
        try:
            return render(value, self.config.value_converter)
        except ValueError:
            raise SinkFailure(
                f"value at {where} is not JSON, which {self.config.value_converter} needs"
            ) from None

    def _put(self, s3: Any, done: S3Object) -> None:
        try:
            s3.put_object(Bucket=self.config.bucket, Key=done.key, Body=done.body)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "error")
            raise SinkFailure(
                f"cannot write s3://{self.config.bucket}/{done.key}: {code}"
            ) from None
