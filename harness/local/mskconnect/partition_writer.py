"""One Kafka partition's open S3 object and when it is committed, as the Confluent S3 sink's
TopicPartitionWriter decides with the DefaultPartitioner.

Pure logic (no I/O, the clock is passed in). An object is committed when it holds
`flush.size` records, or when `rotate.schedule.interval.ms` is set and the wall clock reaches
the next scheduled rotation: multiples of the interval counted from midnight in `timezone`,
with the day's end as the last one. The schedule is set when the writer opens and again after
each scheduled rotation (not after a size rotation), and is checked before each record and
once more when a batch is done, so a partial object is committed without new records.
`rotate.interval.ms` needs a time-based partitioner and is ignored here, as by the connector.
Object keys: `<topics.dir>/<topic>/partition=<p>/<topic>+<p>+<start offset, zero-padded>.json`.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from harness.local.mskconnect.config import SinkConfig


@dataclass(frozen=True)
class S3Object:
    key: str
    body: bytes
    commit_offset: int
    """The partition's offset to commit once this object is written (last offset + 1)."""


def object_key(config: SinkConfig, topic: str, partition: int, start_offset: int) -> str:
    offset = str(start_offset).zfill(config.zero_pad_width)
    return f"{config.topics_dir}/{topic}/partition={partition}/{topic}+{partition}+{offset}.json"


def next_scheduled_rotation(config: SinkConfig, now_ms: int) -> int:
    """The next multiple of the interval after `now_ms`, counted from midnight in the
    configured time zone, and at most the next midnight."""
    interval = config.rotate_schedule_interval_ms
    midnight = datetime.fromtimestamp(now_ms / 1000, config.timezone).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    start_ms = int(midnight.timestamp()) * 1000
    day_ms = int((midnight + timedelta(days=1)).timestamp()) * 1000 - start_ms
    return start_ms + min(((now_ms - start_ms) // interval + 1) * interval, day_ms)


@dataclass
class TopicPartitionWriter:
    config: SinkConfig
    topic: str
    partition: int
    opened_ms: int
    _lines: list[bytes] = field(default_factory=list)
    _start_offset: int = 0
    _last_offset: int = 0
    _next_rotation: int = 0

    def __post_init__(self) -> None:
        self._reschedule(self.opened_ms)

    def write(self, records: list[tuple[int, bytes]], now_ms: int) -> list[S3Object]:
        """Add (offset, line) records; returns the objects committed on the way, in order."""
        committed = []
        for offset, line in records:
            if self._scheduled(now_ms):
                committed.append(self._commit(now_ms))
            if not self._lines:
                self._start_offset = offset
            self._lines.append(line)
            self._last_offset = offset
            if len(self._lines) >= self.config.flush_size:
                committed.append(self._commit())
        if self._scheduled(now_ms):
            committed.append(self._commit(now_ms))
        return committed

    def _scheduled(self, now_ms: int) -> bool:
        due = self.config.rotate_schedule_interval_ms > 0 and now_ms >= self._next_rotation
        return due and bool(self._lines)

    def _reschedule(self, now_ms: int) -> None:
        if self.config.rotate_schedule_interval_ms > 0:
            self._next_rotation = next_scheduled_rotation(self.config, now_ms)

    def _commit(self, rescheduled_at: int | None = None) -> S3Object:
        if rescheduled_at is not None:
            self._reschedule(rescheduled_at)
        key = object_key(self.config, self.topic, self.partition, self._start_offset)
        done = S3Object(key, b"".join(self._lines), self._last_offset + 1)
        self._lines = []
        return done
