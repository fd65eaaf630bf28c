"""Observe a Kinesis data stream of DMS messages (an event log: every change, no snapshot)."""

from collections.abc import Callable
from pathlib import Path

from harness.aws import AwsAccess
from harness.observe.base import Observation, Observer
from harness.observe.formats import Decoded
from harness.observe.formats.dms_json import decode_message
from harness.observe.shards import ShardFollower

_READ_LIMIT = 10_000
"""GetRecords' largest Limit on Kinesis."""


FORMATS: dict[str, Callable[[bytes, str], Decoded | None]] = {"dms_json": decode_message}
"""Message format -> decoder of one message body (`source` names it in errors)."""


class MessageDecoder:
    """Message bodies of one format as observations of one projection."""

    def __init__(self, projection: str, format: str) -> None:
        if format not in FORMATS:
            raise ValueError(f"unknown message format {format!r}: use one of {sorted(FORMATS)}")
        self.projection = projection
        self._decode = FORMATS[format]

    def observe(self, body: bytes, position: str, seen_ns: int) -> Observation | None:
        """The row change `body` carries; None for other records (control records, tables
        outside the source schema). ValueError naming `position` if it cannot be decoded."""
        decoded = self._decode(body, position)
        if decoded is None:
            return None
        return decoded.observation(self.projection, seen_ns, position)


class KinesisStreamObserver(Observer):
    """An extra reader of every shard of the stream, from TRIM_HORIZON, with its own
    iterators (GetRecords only: no consumer registration, no checkpoints), so the pattern's
    consumers are undisturbed. On AWS it shares each shard's 5 reads/s and 2 MB/s with them;
    an enhanced fan-out consumer would get its own throughput instead.

    Positions are `<shardId>:<SequenceNumber>`; `behind_ms` is the largest MillisBehindLatest
    of the last poll (None before the first), to tell when the observer falls behind.
    """

    def __init__(
        self,
        projection: str,
        log_path: Path,
        aws: AwsAccess,
        stream_name: str,
        format: str = "dms_json",
    ) -> None:
        super().__init__(projection, log_path)
        self.stream_name = stream_name
        self.behind_ms: int | None = None
        self._decoder = MessageDecoder(projection, format)
        self._shards = ShardFollower(
            aws.client("kinesis"), {"StreamName": stream_name}, _READ_LIMIT
        )

    def poll(self) -> list[Observation]:
        seen: list[Observation] = []
        behind: list[int] = []
        batches = self._shards.read()
        self.lagging = any(batch.more for batch in batches)
        for batch in batches:
            if batch.millis_behind_latest is not None:
                behind.append(batch.millis_behind_latest)
            for record in batch.records:
                position = f"{batch.shard_id}:{record['SequenceNumber']}"
                observation = self._decoder.observe(record["Data"], position, batch.seen_ns)
                if observation is not None:
                    seen.append(observation)
        self.behind_ms = max(behind, default=None)
        return seen
