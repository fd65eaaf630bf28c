"""moto's cost per call and its memory as a queue or a stream fills, through a moto server
with its fixes (`MotoServer`, as the local target starts it).

For each of SQS, Kinesis and DynamoDB Streams, one queue or stream is filled to --records in
large batches, and the server's CPU time per round of what a consumer repeats is measured
(the best of three runs of --calls rounds) when it holds --early records and again when it
holds them all:
- SQS: SendMessageBatch (10), ReceiveMessage (10), DeleteMessageBatch, with every earlier
  message of the queue in flight (received, not deleted);
- Kinesis: PutRecords (10), then GetRecords from the tail of the stream's one shard (its
  iterator followed, as a consumer keeping up does);
- DynamoDB Streams: PutItem (an update of one of 1,000 items of 10 attributes), then
  GetRecords from the tail of the table's NEW_AND_OLD_IMAGES stream.
The server's resident memory is read before and after each fill: MB per 100k records held.

Memory bound, as measured here (--records 100000): Kinesis holds about 1 kB per record of
300 bytes and a DynamoDB stream 6.2 kB per record of a 10-attribute item with both images
(moto keeps images as nested dicts); both keep every record for their 24-hour retention. An
SQS queue holds 1.8 kB per message not yet deleted (300-byte body) and 0.4 kB per deleted
message (its receipt handles, so that deleting it again succeeds). So a 10-minute run at 200
changes/s (120,000 records) adds at most about 120 MB per Kinesis stream, 750 MB per such
DynamoDB stream and 50 MB per SQS queue kept drained; nothing else grows with the calls.

    .venv/bin/python benchmarks/moto_history.py [--records 100000] [--early 1000] [--calls 200]

Last line: `moto_history_ratio: <late/early cost of a round, the largest of the three>`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.aws import AwsAccess
from harness.local.moto_server import MotoServer

from bench_util import Console, proc_cpu_s

_console = Console("moto_history")
fail, log = _console.fail, _console.log
_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
_BODY = json.dumps({"id": 0, "name": "widget", "price": "4.20", "note": "x" * 240})
_ITEMS = 1000
"""The DynamoDB table's items: each write after the first thousand updates one."""
_TEN_MINUTES = 200 * 600
"""The records a 10-minute run at 200 changes/s adds."""


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Workload:
    """A queue or stream: `fill(n)` adds n records, `round()` is what a consumer repeats."""

    name: str
    fill: Callable[[int], None]
    round: Callable[[], None]


def _sqs(aws: AwsAccess) -> Workload:
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="history", Attributes={"VisibilityTimeout": "43200"})[
        "QueueUrl"
    ]

    def send(count: int) -> None:
        for start in range(0, count, 10):
            entries = [{"Id": str(n), "MessageBody": _BODY} for n in range(min(10, count - start))]
            sqs.send_message_batch(QueueUrl=url, Entries=entries)

    def fill(count: int) -> None:
        send(count)
        held = 0
        while held < count:  # all in flight
            held += len(
                sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            )

    def round_trip() -> None:
        send(10)
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)
        handles = [m["ReceiptHandle"] for m in got.get("Messages", [])]
        if len(handles) != 10:
            fail(f"SQS: received {len(handles)} of the 10 messages just sent")
        entries = [{"Id": str(n), "ReceiptHandle": h} for n, h in enumerate(handles)]
        sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    return Workload("sqs", fill, round_trip)


def _kinesis(aws: AwsAccess) -> Workload:
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName="history", ShardCount=1)
    shard = kinesis.list_shards(StreamName="history")["Shards"][0]["ShardId"]
    record = {"Data": _BODY.encode(), "PartitionKey": "k"}
    position: dict[str, str] = {}

    def fill(count: int) -> None:
        for start in range(0, count, 500):
            kinesis.put_records(StreamName="history", Records=[record] * min(500, count - start))
        position["iterator"] = kinesis.get_shard_iterator(
            StreamName="history", ShardId=shard, ShardIteratorType="LATEST"
        )["ShardIterator"]

    def round_trip() -> None:
        kinesis.put_records(StreamName="history", Records=[record] * 10)
        answer = kinesis.get_records(ShardIterator=position["iterator"], Limit=1000)
        if len(answer["Records"]) != 10:
            fail(f"Kinesis: read {len(answer['Records'])} of the 10 records just put")
        position["iterator"] = answer["NextShardIterator"]

    return Workload("kinesis", fill, round_trip)


def _dynamodb(aws: AwsAccess) -> Workload:
    dynamodb, streams = aws.client("dynamodb"), aws.client("dynamodbstreams")
    arn = dynamodb.create_table(
        TableName="history",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    written = [0]
    position: dict[str, str] = {}

    def item() -> dict[str, Any]:
        n = written[0]
        written[0] += 1
        columns = {f"c{c}": {"S": f"value {c} of write {n:08d}"} for c in range(8)}
        return {"pk": {"S": f"item-{n % _ITEMS:04d}"}, "version": {"N": str(n)}, **columns}

    def fill(count: int) -> None:
        for start in range(0, count, 25):
            requests = [{"PutRequest": {"Item": item()}} for _ in range(min(25, count - start))]
            dynamodb.batch_write_item(RequestItems={"history": requests})
        position["iterator"] = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST"
        )["ShardIterator"]

    def round_trip() -> None:
        dynamodb.put_item(TableName="history", Item=item())
        answer = streams.get_records(ShardIterator=position["iterator"], Limit=1000)
        if len(answer["Records"]) != 1:
            fail(f"DynamoDB Streams: read {len(answer['Records'])} records, not the one put")
        position["iterator"] = answer["NextShardIterator"]

    return Workload("dynamodbstreams", fill, round_trip)


def _cost_ms(pid: int, workload: Workload, rounds: int) -> tuple[float, float]:
    """The server's CPU ms and the wall ms of one round: the best of three runs of `rounds`
    rounds (the machine may be busy with something else for a while)."""
    runs = []
    for _ in range(3):
        cpu, wall = proc_cpu_s(pid), time.perf_counter()
        for _ in range(rounds):
            workload.round()
        runs.append(((proc_cpu_s(pid) - cpu) / rounds, (time.perf_counter() - wall) / rounds))
    return min(cpu for cpu, _ in runs) * 1000, min(wall for _, wall in runs) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="filled to (100000)")
    parser.add_argument("--early", type=int, default=1_000, help="first measured at (1000)")
    parser.add_argument("--calls", type=int, default=200, help="rounds per run (200)")
    args = parser.parse_args()
    if not 0 < args.early < args.records or args.calls < 1:
        fail("need 0 < --early < --records and --calls >= 1")

    rows = []
    with tempfile.TemporaryDirectory(prefix="moto-history-") as workdir:
        moto = MotoServer(Path(workdir))
        moto.start()
        try:
            aws = AwsAccess("us-east-1", moto.endpoint_url, _CREDENTIALS, max_attempts=1)
            pid = moto.pid
            assert pid is not None
            for make in (_sqs, _kinesis, _dynamodb):
                workload = make(aws)
                workload.fill(args.early)
                early = _cost_ms(pid, workload, args.calls)
                held_early = _rss_mb(pid)
                log(f"{workload.name}: {args.early:,} held, {early[0]:.2f} ms CPU per round")
                workload.fill(args.records - args.early)
                held = _rss_mb(pid)
                late = _cost_ms(pid, workload, args.calls)
                log(f"{workload.name}: {args.records:,} held, {late[0]:.2f} ms CPU per round")
                per_100k = (held - held_early) * 100_000 / (args.records - args.early)
                rows.append((workload.name, early, late, per_100k))
        finally:
            moto.stop()

    print(
        f"{'workload':16s} {'early CPU ms':>12s} {'late CPU ms':>12s} {'early wall ms':>13s} "
        f"{'late wall ms':>12s} {'ratio':>6s} {'MB/100k held':>12s} {'MB/10 min':>9s}"
    )
    for name, early, late, per_100k in rows:
        print(
            f"{name:16s} {early[0]:12.2f} {late[0]:12.2f} {early[1]:13.2f} {late[1]:12.2f} "
            f"{late[0] / early[0]:6.2f} {per_100k:12.1f} {per_100k * _TEN_MINUTES / 100_000:9.1f}"
        )
    print(f"moto_history_ratio: {max(late[0] / early[0] for _, early, late, _ in rows):.2f}")


if __name__ == "__main__":
    main()
