"""The Firehose engine's control loop: delivers the records of delivery streams with an S3
or ExtendedS3 destination, buffered as AWS buffers them (`buffers`), as objects written
through the S3 API (`s3_objects` for keys and content).

Each step takes what moto captured since the last one (a long poll, at most `poll_s` or until
the next buffer is due), adds it to the streams' buffers, which deliver when full, and then
delivers the buffers whose interval has passed. A deleted stream's buffer is delivered at
once (AWS makes no promise there). A delivery that fails (e.g. the bucket is gone) is
retried every few seconds and shown in `failures()` until it succeeds. At stop, buffered
records are dropped: moto's S3 objects go with its process too.

The objects are written with the harness's credentials, not the stream's RoleARN (the
local API checks no IAM). moto hands over DirectPut records only: it does not read a
KinesisStreamAsSource stream's Kinesis stream at all. `kinesis_source` does, as one more
producer of `Batch`es in this loop (each shard read once per `shard_read_s`); the buffers
and the delivery are the same. A source that cannot be read is shown in `failures()` too.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from harness.aws import AwsAccess
from harness.local.control_loop import ControlLoop
from harness.local.firehose.api import Deleted, FirehoseApi
from harness.local.firehose.buffers import Buffer, Buffers
from harness.local.firehose.kinesis_source import SHARD_READ_S, KinesisSources
from harness.local.firehose.s3_objects import body, bucket, object_key

log = logging.getLogger("harness.local.firehose")

POLL_S = 0.5


class FirehoseEngine(ControlLoop):
    title = "Firehose engine"
    serves = "firehose"
    subject = "Firehose delivery stream"
    """Failures: delivery stream name -> one line: why its S3 delivery is failing, and why
    its Kinesis stream source cannot be read."""

    def __init__(
        self, aws: AwsAccess, poll_s: float = POLL_S, shard_read_s: float = SHARD_READ_S
    ) -> None:
        super().__init__("firehose-engine", poll_s)
        self.aws = aws
        self.shard_read_s = shard_read_s
        self._buffers = Buffers(self._write)
        self._api: FirehoseApi | None = None
        self._sources: KinesisSources | None = None
        self._s3: Any = None

    def connect(self) -> None:
        self._api = FirehoseApi(self.aws)
        firehose, kinesis = self.aws.client("firehose"), self.aws.client("kinesis")
        self._sources = KinesisSources(firehose, kinesis, self.shard_read_s)
        self._s3 = self.aws.client("s3")

    def wait_s(self) -> float:
        """No wait between steps: each waits in its long poll."""
        return 0.0

    def step(self) -> None:
        assert self._api is not None and self._sources is not None, "connect() first"
        due = min(self._buffers.next_deadline() or math.inf, self._sources.next_read())
        wait = min(self.poll_s, max(0.0, due - time.time()))
        for item in self._api.take(wait):
            if isinstance(item, Deleted):
                self._sources.forget(item.stream)
                self._buffers.flush(item.stream, time.time())
            else:
                self._buffers.add(item, time.time())
        for batch in self._sources.read(time.time()):
            self._buffers.add(batch, time.time())
        self._buffers.deliver_due(time.time())

    def failures(self) -> dict[str, str]:
        failing = super().failures()
        reading = dict(self._sources.failures) if self._sources is not None else {}
        for stream, why in reading.items():
            name = f"{self.subject} {stream}"
            failing[name] = f"{failing[name]}; {why}" if name in failing else why
        return failing

    def stopped(self) -> None:
        held = self._buffers.held()
        if any(held.values()):
            log.info("Firehose engine stopped with records buffered: %s", held)

    def _write(self, buffer: Buffer) -> None:
        destination = buffer.destination
        key = object_key(destination, buffer.stream, buffer.version, buffer.first_arrival)
        try:
            self._s3.put_object(
                Bucket=bucket(destination), Key=key, Body=body(destination, buffer.records)
            )
        except Exception as exc:
            self._failures[buffer.stream] = (
                f"S3 delivery to {bucket(destination)} failing, retrying: {exc}"
            )
            raise
        self._failures.pop(buffer.stream, None)
