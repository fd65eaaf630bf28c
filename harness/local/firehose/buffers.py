"""Per-stream buffers, delivered as AWS delivers them: when a buffer reaches the destination's
`BufferingHints.SizeInMBs` or when `IntervalInSeconds` has passed since its first record
arrived, whichever comes first (see `s3_objects.hints`).

A failed delivery keeps the records buffered and is retried every `RETRY_S` (AWS retries
for up to 24 hours); records that arrive meanwhile join the same buffer. Times are epoch
seconds, given by the caller. Not thread-safe: the engine's one thread owns the buffers, so a
stream's objects are written in the order its records arrived.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.local.firehose.s3_objects import delimiter, hints

log = logging.getLogger("harness.local.firehose")

RETRY_S = 5.0


@dataclass(frozen=True)
class Batch:
    """Records that arrived together for one delivery stream (one PutRecordBatch, or one
    GetRecords on a shard of its Kinesis stream source)."""

    stream: str
    version: str
    """The stream's VersionId when they arrived (part of the object keys)."""
    destination: dict[str, Any]
    """The S3 destination configuration they were put under."""
    arrival: float
    records: list[bytes]


@dataclass
class Buffer:
    """Records a stream holds for its next object (each with its delimiter appended)."""

    stream: str
    version: str
    destination: dict[str, Any]
    first_arrival: float
    deadline: float
    """When the buffer is delivered whatever its size."""
    records: list[bytes] = field(default_factory=list)
    size: int = 0
    failing: bool = False
    """The last delivery failed: only `deliver_due` retries it, at `deadline`."""


class Buffers:
    def __init__(self, write: Callable[[Buffer], None], retry_s: float = RETRY_S) -> None:
        """`write(buffer)` writes one object; it raises when the write failed."""
        self._write = write
        self._retry_s = retry_s
        self._open: dict[str, Buffer] = {}

    def add(self, batch: Batch, now: float) -> None:
        """Buffer a batch; deliver each time the buffer fills, and at once when the stream's
        interval is 0 (each put is then one object)."""
        limit, interval = hints(batch.destination)
        after = delimiter(batch.destination)
        for data in batch.records:
            buffer = self._open.get(batch.stream)
            if buffer is None:
                buffer = Buffer(
                    batch.stream,
                    batch.version,
                    batch.destination,
                    batch.arrival,
                    batch.arrival + interval,
                )
                self._open[batch.stream] = buffer
            buffer.records.append(data + after)
            buffer.size += len(data) + len(after)
            if buffer.size >= limit and not buffer.failing:
                self._deliver(batch.stream, now)
        buffer = self._open.get(batch.stream)
        if interval == 0 and buffer is not None and not buffer.failing:
            self._deliver(batch.stream, now)

    def flush(self, stream: str, now: float) -> None:
        """Deliver what `stream` holds now (a deleted stream)."""
        if stream in self._open:
            self._deliver(stream, now)

    def deliver_due(self, now: float) -> None:
        """Deliver every buffer whose interval (or retry time) has come."""
        due = sorted((b for b in self._open.values() if b.deadline <= now), key=_deadline)
        for buffer in due:
            self._deliver(buffer.stream, now)

    def next_deadline(self) -> float | None:
        return min((b.deadline for b in self._open.values()), default=None)

    def held(self) -> dict[str, int]:
        """Records held per stream."""
        return {stream: len(b.records) for stream, b in self._open.items()}

    def _deliver(self, stream: str, now: float) -> None:
        buffer = self._open[stream]
        try:
            self._write(buffer)
        except Exception as exc:  # e.g. the bucket is gone: AWS keeps retrying
            log.warning("Firehose %s: S3 delivery failed, retrying: %s", stream, exc)
            buffer.deadline = now + self._retry_s
            buffer.failing = True
            return
        del self._open[stream]


def _deadline(buffer: Buffer) -> float:
    return buffer.deadline
