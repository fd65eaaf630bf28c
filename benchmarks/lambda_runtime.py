"""The local Lambda runtime's throughput and its own latency per hop, against a bare reader.

On a moto server of its own, with every poll cadence set to zero (the runtime's own cost,
not AWS's cadence), for a Kinesis stream (1 shard) and an SQS queue:

- hop latency: records put one at a time; the trivial handler notes when it started, and
  a bare reader (GetRecords / ReceiveMessage in a loop in this process, at once after the
  previous call) notes when it saw each record. Overhead = the handler's latency from the
  put - the bare reader's, at p50 and at p99, in the same run.
- throughput: a burst of records, events/s until the handler has seen them all, against
  the bare reader's events/s on the same burst.

    .venv/bin/python benchmarks/lambda_runtime.py [--hops 300] [--burst 3000]

Last line: `lambda_hop_overhead_p99_ms: <x>` (Kinesis mapping).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from hdrh.histogram import HdrHistogram

from harness.aws import AwsAccess
from harness.local.lambda_runtime.runtime import LambdaRuntime
from harness.local.lambda_runtime.timing import LambdaTiming
from harness.local.moto_server import MotoServer

from bench_util import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' function helper
from tests.lambda_support import create_function

_console = Console("lambda_runtime")
log = _console.log

# The trivial handler: one line per invocation with its start time and the records' ids.
_HANDLER = r"""
import base64, json, os, time

def handler(event, context):
    started = time.time_ns()
    ids = []
    for record in event["Records"]:
        if "kinesis" in record:
            ids.append(base64.b64decode(record["kinesis"]["data"]).decode())
        else:
            ids.append(record["body"])
    with open(os.environ["SEEN_FILE"], "a") as out:
        out.write(json.dumps([started, ids]) + "\n")
"""


class _Seen:
    """When the handler first saw each record id (read from the handler's file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.at: dict[str, int] = {}
        self._offset = 0

    def refresh(self) -> int:
        if self.path.exists():
            with self.path.open() as lines:
                lines.seek(self._offset)
                for line in lines:
                    started, ids = json.loads(line)
                    for record_id in ids:
                        self.at.setdefault(record_id, started)
                self._offset = lines.tell()
        return len(self.at)

    def wait_for(self, count: int, timeout_s: float = 120) -> float:
        """Seconds until `count` records were seen."""
        started = time.monotonic()
        while self.refresh() < count:
            if time.monotonic() - started > timeout_s:
                _console.fail(f"the handler saw {len(self.at)} of {count} records")
            time.sleep(0.005)
        return time.monotonic() - started


class _BareReader(threading.Thread):
    """Reads a source at once after each call and notes when each record id first showed."""

    def __init__(self, read: Callable[[], list[str]]) -> None:
        super().__init__(daemon=True)
        self.read = read
        self.at: dict[str, int] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            for record_id in self.read():
                self.at.setdefault(record_id, time.time_ns())


def _kinesis_reader(aws: AwsAccess, stream: str) -> Callable[[], list[str]]:
    kinesis = aws.client("kinesis")
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard, ShardIteratorType="LATEST"
    )["ShardIterator"]

    def read() -> list[str]:
        nonlocal iterator
        response = kinesis.get_records(ShardIterator=iterator, Limit=1000)
        iterator = response["NextShardIterator"]
        return [r["Data"].decode() for r in response["Records"]]

    return read


class _Hops:
    """Latency from put, in µs: to the handler's start, and to the bare reader's sighting."""

    def __init__(self) -> None:
        self.mapping = HdrHistogram(1, 60_000_000, 3)
        self.bare = HdrHistogram(1, 60_000_000, 3)

    def overhead_ms(self, percentile: float) -> float:
        """What the runtime adds at this percentile: mapping latency - bare latency."""
        added = self.mapping.get_value_at_percentile(percentile)
        return (added - self.bare.get_value_at_percentile(percentile)) / 1000


def _hops(
    put: Callable[[str], tuple[int, int]], seen: _Seen, bare: _BareReader, count: int, tag: str
) -> _Hops:
    """Records put one at a time at about 50/s; `put` says when the record went to the
    mapping's source and when to the bare reader's (the same source, or a twin queue)."""
    put_at: dict[str, tuple[int, int]] = {}
    for n in range(count):
        record_id = f"{tag}-hop-{n}"
        put_at[record_id] = put(record_id)
        time.sleep(0.02)
    deadline = time.monotonic() + 60
    while any(i not in seen.at or i not in bare.at for i in put_at):
        if time.monotonic() > deadline:
            _console.fail("hop records were not all seen within 60 s")
        seen.refresh()
        time.sleep(0.01)
    hops = _Hops()
    for record_id, (mapping_at, bare_at) in put_at.items():
        hops.mapping.record_value(max(1, (seen.at[record_id] - mapping_at) // 1000))
        hops.bare.record_value(max(1, (bare.at[record_id] - bare_at) // 1000))
    return hops


def _burst(
    put_many: Callable[[list[str]], None], seen: _Seen, bare: _BareReader, count: int, tag: str
) -> tuple[float, float]:
    """(events/s through the mapping, events/s of the bare reader) for one burst."""
    ids = [f"{tag}-{i}" for i in range(count)]
    started_ns = time.time_ns()
    put_many(ids)
    before = len(seen.at)
    seen.wait_for(before + count)
    deadline = time.monotonic() + 60
    while any(i not in bare.at for i in ids):
        if time.monotonic() > deadline:
            _console.fail("the bare reader did not see the whole burst within 60 s")
        time.sleep(0.01)
    mapping_s = (max(seen.at[i] for i in ids) - started_ns) / 1e9
    bare_s = (max(bare.at[i] for i in ids) - started_ns) / 1e9
    return count / mapping_s, count / bare_s


def _function(aws: AwsAccess, seen_file: Path) -> str:
    return create_function(
        aws, "bench-trivial", _HANDLER, {"SEEN_FILE": str(seen_file)}, timeout=30
    )


def _kinesis(aws: AwsAccess, function: str, seen: _Seen, args: argparse.Namespace) -> float:
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName="bench", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="bench")["StreamDescription"]["StreamARN"]
    bare = _BareReader(_kinesis_reader(aws, "bench"))
    bare.start()
    aws.client("lambda").create_event_source_mapping(
        FunctionName=function, EventSourceArn=arn, StartingPosition="LATEST", BatchSize=100
    )
    time.sleep(2)  # the runtime discovers the mapping and takes its LATEST iterator

    def put(record_id: str) -> tuple[int, int]:
        at = time.time_ns()
        kinesis.put_record(StreamName="bench", Data=record_id.encode(), PartitionKey="k")
        return at, at

    def put_many(ids: list[str]) -> None:
        for start in range(0, len(ids), 500):
            records = [{"Data": i.encode(), "PartitionKey": "k"} for i in ids[start : start + 500]]
            kinesis.put_records(StreamName="bench", Records=records)

    hops = _hops(put, seen, bare, args.hops, "kinesis")
    through, reference = _burst(put_many, seen, bare, args.burst, "kinesis")
    bare.stopping.set()
    _report("kinesis", hops, through, reference)
    return hops.overhead_ms(99)


def _sqs(aws: AwsAccess, function: str, seen: _Seen, args: argparse.Namespace) -> None:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="bench")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    # The bare reader of a queue would take messages from the mapping: it reads a twin
    # queue fed with the same messages at the same moment instead.
    twin = sqs.create_queue(QueueName="bench-twin")["QueueUrl"]
    reader_client = aws.client("sqs")

    received: list[dict[str, str]] = []

    def read() -> list[str]:
        """Deletes what the previous call received, then receives (the sighting is noted
        as soon as this returns, so the delete does not count against the reader)."""
        if received:
            entries = [
                {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(received)
            ]
            reader_client.delete_message_batch(QueueUrl=twin, Entries=entries)
        received[:] = reader_client.receive_message(
            QueueUrl=twin, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
        return [m["Body"] for m in received]

    bare = _BareReader(read)
    bare.start()
    aws.client("lambda").create_event_source_mapping(
        FunctionName=function, EventSourceArn=arn, BatchSize=10
    )
    time.sleep(2)

    def put(record_id: str) -> tuple[int, int]:
        mapping_at = time.time_ns()
        sqs.send_message(QueueUrl=url, MessageBody=record_id)
        bare_at = time.time_ns()
        sqs.send_message(QueueUrl=twin, MessageBody=record_id)
        return mapping_at, bare_at

    def put_many(ids: list[str]) -> None:
        for start in range(0, len(ids), 10):
            entries = [
                {"Id": str(n), "MessageBody": i} for n, i in enumerate(ids[start : start + 10])
            ]
            sqs.send_message_batch(QueueUrl=url, Entries=entries)
            sqs.send_message_batch(QueueUrl=twin, Entries=entries)

    hops = _hops(put, seen, bare, args.hops, "sqs")
    through, reference = _burst(put_many, seen, bare, args.burst, "sqs")
    bare.stopping.set()
    _report("sqs", hops, through, reference)


def _report(kind: str, hops: _Hops, through: float, reference: float) -> None:
    for name, histogram in (("mapping", hops.mapping), ("bare reader", hops.bare)):
        p50, p99 = (histogram.get_value_at_percentile(p) / 1000 for p in (50, 99))
        print(f"{kind}_hop_ms, {name}: p50 {p50:.2f}, p99 {p99:.2f}")
    print(f"{kind}_hop_overhead_ms: p50 {hops.overhead_ms(50):.2f}, p99 {hops.overhead_ms(99):.2f}")
    ratio = through / reference
    print(f"{kind}_events_per_s: {through:.0f} (bare reader {reference:.0f}, ratio {ratio:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hops", type=int, default=300, help="records put one at a time")
    parser.add_argument("--burst", type=int, default=3000, help="records per burst")
    args = parser.parse_args()
    if args.hops < 10 or args.burst < 10:
        _console.fail("--hops and --burst must be at least 10")
    with _console.workspace("cdcbench-bench-lambda-", "moto and runtime logs") as workdir:
        moto = MotoServer(workdir)
        moto.start()
        aws = AwsAccess(
            "us-east-1",
            moto.endpoint_url,
            {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
            max_attempts=1,
        )
        zero = LambdaTiming(kinesis_poll_s=0, dynamodb_poll_s=0, sqs_wait_s=20, kafka_poll_s=0)
        runtime = LambdaRuntime(aws, workdir / "lambda", zero)
        runtime.start()
        try:
            seen = _Seen(workdir / "seen.jsonl")
            function = _function(aws, seen.path)
            log("SQS mapping")
            _sqs(aws, function, seen, args)
            log("Kinesis mapping")
            p99 = _kinesis(aws, function, seen, args)
            if failures := runtime.failures():
                _console.fail("; ".join(f"{k}: {v}" for k, v in failures.items()))
        finally:
            runtime.stop()
            moto.stop()
    print(f"lambda_hop_overhead_p99_ms: {p99:.2f}")


if __name__ == "__main__":
    main()
