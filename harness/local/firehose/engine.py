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
local API checks no IAM). Only DirectPut streams get records: moto does not read a
KinesisStreamAsSource stream's Kinesis stream at all. Such a source would be one more
producer of `Batch`es in this loop (listing those streams, reading their shards); the
buffers and the delivery are the same.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from harness.aws import AwsAccess
from harness.local.control_loop import ControlLoop
from harness.local.firehose.api import Deleted, FirehoseApi
from harness.local.firehose.buffers import Buffer, Buffers
from harness.local.firehose.s3_objects import body, bucket, object_key

log = logging.getLogger("harness.local.firehose")

POLL_S = 0.5


class FirehoseEngine(ControlLoop):
    title = "Firehose engine"
    subject = "Firehose delivery stream"
    """Failures: delivery stream name -> one line: why its S3 delivery is failing."""

    def __init__(self, aws: AwsAccess, poll_s: float = POLL_S) -> None:
        super().__init__("firehose-engine", poll_s)
        self.aws = aws
        self._buffers = Buffers(self._write)
        self._api: FirehoseApi | None = None
        self._s3: Any = None

    def connect(self) -> None:
        self._api = FirehoseApi(self.aws)
        self._s3 = self.aws.client("s3")

    def wait_s(self) -> float:
        """No wait between steps: each waits in its long poll."""
        return 0.0

    def step(self) -> None:
        assert self._api is not None, "connect() first"
        due = self._buffers.next_deadline()
        wait = self.poll_s if due is None else min(self.poll_s, max(0.0, due - time.time()))
        for item in self._api.take(wait):
            if isinstance(item, Deleted):
                self._buffers.flush(item.stream, time.time())
            else:
                self._buffers.add(item, time.time())
        self._buffers.deliver_due(time.time())

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
