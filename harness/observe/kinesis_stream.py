"""Observe a Kinesis data stream of row-change messages (an event log: every change, no
snapshot): DMS messages, or another `formats.messages` format."""

from pathlib import Path

from harness.aws import AwsAccess
from harness.observe.base import Observation, Observer
from harness.observe.formats.messages import MessageDecoder
from harness.observe.shards import UNPACED, ReadBudget, ShardFollower

_READ_LIMIT = 10_000
"""GetRecords' largest Limit on Kinesis."""


class KinesisStreamObserver(Observer):
    """An extra reader of every shard of the stream, from TRIM_HORIZON, with its own
    iterators (GetRecords only: no consumer registration, no checkpoints). On AWS it shares
    each shard's 5 reads/s and 2 MB/s with the pattern's consumers, so `budget` paces its
    GetRecords calls on each shard (`observe.shards`: once a second there); an enhanced
    fan-out consumer would get its own throughput instead.

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
        budget: ReadBudget = UNPACED,
    ) -> None:
        super().__init__(projection, log_path)
        self.stream_name = stream_name
        self.behind_ms: int | None = None
        self._decoder = MessageDecoder(projection, format)
        self.shards = ShardFollower(
            aws.client("kinesis"), {"StreamName": stream_name}, _READ_LIMIT, budget
        )

    def control_records(self) -> dict[str, int]:
        return dict(self._decoder.messages.control)

    def read_share(self) -> float:
        return self.shards.read_share()

    def poll(self) -> list[Observation]:
        seen: list[Observation] = []
        behind: list[int] = []
        self.pause(self.shards.due_in_s())
        batches = self.shards.read()
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
