"""Kinesis: constant-time shard sequence bounds, reads that find their records by position,
and CloudWatch data points summed per second rather than kept per call."""

import bisect
import threading
from typing import Any

from harness.local.moto_fixes.guard import fix


@fix(
    "moto.kinesis.models.Shard.get_min_sequence_number",
    "moto.kinesis.models.Shard.get_max_sequence_number",
    "moto.kinesis.models.Shard().records",
)
def sequence_bounds() -> None:
    # moto copies every record key of the shard to find the first or last one, on every
    # put: O(n) per record, so a stream slows down as it fills. The records dict is ordered.
    from moto.kinesis.models import Shard

    def first(self: Any) -> int:
        return next(iter(self.records), 0)

    def last(self: Any) -> int:
        return next(reversed(self.records), 0)

    Shard.get_min_sequence_number = first
    Shard.get_max_sequence_number = last


def _numbered(records: dict[int, Any]) -> tuple[int, int] | None:
    """The first and last sequence numbers of a shard's records when they run without a
    gap (as moto numbers them: 1, 2, 3, ... in the order they arrive); None otherwise."""
    if not records:
        return None
    first, last = next(iter(records)), next(reversed(records))
    return (first, last) if last - first + 1 == len(records) else None


@fix(
    "moto.kinesis.models.Shard.get_records",
    "moto.kinesis.models.Shard.get_sequence_number_at",
    "moto.kinesis.models.Shard.put_record",
    "moto.kinesis.models.Shard().records",
    "moto.kinesis.models.Record().created_at",
)
def positioned_reads() -> None:
    # moto's GetRecords walks the shard from its first record up to the iterator's position,
    # so a consumer at the tail of a shard of 100,000 records walks all of them on every
    # call; an AT_TIMESTAMP iterator copies every record and walks back from the last. moto
    # numbers a shard's records 1, 2, 3, ... as they arrive (put_record), so a read goes
    # straight to its position, and a timestamp is found by bisection (records arrive in
    # time order, numbered under `kinesis.atomic_puts`' lock). A shard whose numbers have
    # gaps is still walked.
    from moto.kinesis.models import Shard

    walk = Shard.get_records
    walk_back = Shard.get_sequence_number_at

    def get_records(
        self: Any, last_sequence_id: str, limit: int | None
    ) -> tuple[list[Any], int, int]:
        records = self.records
        numbered = _numbered(records)
        if numbered is None or (limit is not None and limit < 1):
            return walk(self, last_sequence_id, limit)  # type: ignore[no-any-return]
        first, last = numbered
        after = int(last_sequence_id)
        start = max(after + 1, first)
        stop = last + 1 if limit is None else min(last + 1, start + limit)
        found = [records[n] for n in range(start, stop)]
        if not found:
            return [], after, 0
        behind = records[last].created_at - found[-1].created_at
        return found, found[-1].sequence_number, int(behind * 1000)

    def get_sequence_number_at(self: Any, at_timestamp: float) -> int:
        records = self.records
        numbered = _numbered(records)
        if numbered is None:
            return walk_back(self, at_timestamp)  # type: ignore[no-any-return]
        first, last = numbered
        if at_timestamp <= records[first].created_at:
            return 0
        numbers = range(first, last + 1)
        at = bisect.bisect_left(numbers, at_timestamp, key=lambda n: records[n].created_at)
        return numbers[at - 1]  # the last record that arrived before at_timestamp

    Shard.get_records = get_records
    Shard.get_sequence_number_at = get_sequence_number_at


@fix(
    "moto.kinesis.models.KinesisBackend._send_stream_metrics",
    "moto.kinesis.models.cloudwatch_backends",
    "moto.cloudwatch.models.MetricAggregatedDatum",
    "moto.cloudwatch.models.CloudWatchBackend().metric_data",
    "moto.core.utils.utcnow",
)
def metrics_per_second() -> None:
    # moto adds two CloudWatch data points (IncomingBytes, IncomingRecords) per PutRecord
    # or PutRecords call and keeps them all: about 0.7 kB per call, for the server's life.
    # They are now summed per stream and second, as one statistic set each (what
    # PutMetricData's StatisticValues stores): Sum, SampleCount, Minimum, Maximum and
    # Average read the same (moto rounds a query's start and end down to the second).
    import moto.kinesis.models
    from moto.cloudwatch.models import MetricAggregatedDatum
    from moto.core.utils import utcnow

    lock = threading.Lock()

    def send_stream_metrics(
        self: Any, stream_name: str, incoming_bytes: int, incoming_records: int
    ) -> None:
        cloudwatch = moto.kinesis.models.cloudwatch_backends[self.account_id][self.region_name]
        second = utcnow().replace(microsecond=0)
        dimensions = [{"Name": "StreamName", "Value": stream_name}]
        metrics = (
            ("IncomingBytes", incoming_bytes, "Bytes"),
            ("IncomingRecords", incoming_records, "Count"),
        )
        with lock:
            current = vars(cloudwatch).setdefault("_kinesis_seconds", {})
            for name, count, unit in metrics:
                value = float(count)
                datum = current.get((stream_name, name))
                if datum is None or datum.timestamp != second:
                    datum = MetricAggregatedDatum(
                        "AWS/Kinesis", name, value, value, 0, 0, dimensions, second, unit
                    )
                    cloudwatch.metric_data.append(datum)
                    current[(stream_name, name)] = datum
                datum.min, datum.max = min(datum.min, value), max(datum.max, value)
                datum.sample_count += 1
                datum.sum += value

    moto.kinesis.models.KinesisBackend._send_stream_metrics = send_stream_metrics
