"""The emulated AWS API's data-plane throughput: moto as one process, against moto split into
a process per group of services (`harness.local.moto_groups`), in the same run.

For each layout, a fresh moto (`MotoServer`, as the local target starts it) holds a DynamoDB
table with a NEW_AND_OLD_IMAGES stream, an S3 bucket, an SQS queue and a Kinesis stream of
2 shards. --threads threads (each bound to one of the four services in turn, each with its
own clients) then send, for --seconds, the request shapes the patterns make, back to back:

- DynamoDB: PutItem of a read-model item, then in turn GetRecords of the table's stream
  (following its iterator, as the stream observer and Lambda's poller do) and Scan (100);
- S3: PutObject of a small CSV object, then ListObjectsV2 after the last key listed;
- SQS: SendMessage, then ReceiveMessage (10) and DeleteMessageBatch of what came;
- Kinesis: PutRecord, then GetRecords of one shard (following its iterator).

The layouts alternate, --repeat times each, the best kept. Printed per layout: requests/s
per service and in all, and the share of a core each moto process and this (the client)
process used.

    .venv/bin/python benchmarks/moto_processes.py [--seconds 15] [--threads 16] [--repeat 2]
        [--split dynamodb+dynamodbstreams,s3+kafkaconnect,sqs,kinesis+firehose]

Last line: `moto_processes_ratio: <split requests/s / single-process requests/s>`.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.aws import AwsAccess
from harness.errors import UserError
from harness.local.moto_groups import DEFAULT_SPLIT, Split, describe_split, parse_split
from harness.local.moto_server import MotoServer

from bench_util import Console, proc_cpu_s

_console = Console("moto_processes")
log = _console.log
SERVICES = ("dynamodb", "s3", "sqs", "kinesis")
_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
_ROW = "1,widget,4.20,2026-01-01 00:00:00.000000," + "x" * 200
_NAME = "bench"


@dataclass
class Layout:
    """One measured layout: requests per service, seconds, CPU seconds per process."""

    name: str
    requests: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    cpu_s: dict[str, float] = field(default_factory=dict)

    @property
    def per_s(self) -> float:
        return sum(self.requests.values()) / self.seconds


def _create(aws: AwsAccess) -> dict[str, Any]:
    """The four resources; what the drivers need to reach them."""
    dynamodb = aws.client("dynamodb")
    table = dynamodb.create_table(
        TableName=_NAME,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    aws.client("s3").create_bucket(Bucket=_NAME)
    queue = aws.client("sqs").create_queue(QueueName=_NAME)["QueueUrl"]
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName=_NAME, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=_NAME, WaiterConfig={"Delay": 0.2})
    shards = [s["ShardId"] for s in kinesis.list_shards(StreamName=_NAME)["Shards"]]
    stream_arn = table["TableDescription"]["LatestStreamArn"]
    return {"stream_arn": stream_arn, "queue": queue, "shards": shards}


def _dynamodb(aws: AwsAccess, where: dict[str, Any], n: int) -> Iterator[None]:
    dynamodb, streams = aws.client("dynamodb"), aws.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=where["stream_arn"])["StreamDescription"]
    iterator = streams.get_shard_iterator(
        StreamArn=where["stream_arn"],
        ShardId=shard["Shards"][0]["ShardId"],
        ShardIteratorType="LATEST",
    )["ShardIterator"]
    yield
    for i in itertools.count():
        item = {"pk": {"S": f"widgets#{n}-{i % 500}"}, "row": {"S": _ROW}, "v": {"N": str(i)}}
        dynamodb.put_item(TableName=_NAME, Item=item)
        yield
        if i % 2:
            dynamodb.scan(TableName=_NAME, Limit=100)
        else:
            iterator = streams.get_records(ShardIterator=iterator)["NextShardIterator"]
        yield


def _s3(aws: AwsAccess, where: dict[str, Any], n: int) -> Iterator[None]:
    s3 = aws.client("s3")
    after = ""
    yield
    for i in itertools.count():
        key = f"cdc/public/widgets/{n:02d}/{i:09d}.csv"
        s3.put_object(Bucket=_NAME, Key=key, Body=f"I,{_ROW}\n".encode())
        yield
        listed = s3.list_objects_v2(
            Bucket=_NAME, Prefix=f"cdc/public/widgets/{n:02d}/", StartAfter=after
        )
        after = listed.get("Contents", [{"Key": after}])[-1]["Key"]
        yield


def _sqs(aws: AwsAccess, where: dict[str, Any], n: int) -> Iterator[None]:
    sqs, queue = aws.client("sqs"), where["queue"]
    yield
    while True:
        sqs.send_message(QueueUrl=queue, MessageBody=_ROW)
        yield
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        yield
        if got:
            entries = [
                {"Id": str(j), "ReceiptHandle": m["ReceiptHandle"]} for j, m in enumerate(got)
            ]
            sqs.delete_message_batch(QueueUrl=queue, Entries=entries)
            yield


def _kinesis(aws: AwsAccess, where: dict[str, Any], n: int) -> Iterator[None]:
    kinesis = aws.client("kinesis")
    shard = where["shards"][n % len(where["shards"])]
    iterator = kinesis.get_shard_iterator(
        StreamName=_NAME, ShardId=shard, ShardIteratorType="LATEST"
    )["ShardIterator"]
    yield
    for i in itertools.count():
        kinesis.put_record(StreamName=_NAME, Data=_ROW.encode(), PartitionKey=f"{n}-{i % 500}")
        yield
        iterator = kinesis.get_records(ShardIterator=iterator, Limit=1000)["NextShardIterator"]
        yield


DRIVERS: dict[str, Callable[[AwsAccess, dict[str, Any], int], Iterator[None]]] = {
    "dynamodb": _dynamodb,
    "s3": _s3,
    "sqs": _sqs,
    "kinesis": _kinesis,
}
"""Each service's request stream: a generator yielding once ready (its clients made), then
after each request."""


def _cpu(moto: MotoServer) -> dict[str, float]:
    """CPU seconds so far of each moto process and of this one (its own threads only)."""
    used = {name: proc_cpu_s(pid) for name, pid in moto.processes().items()}
    return used | {"client": proc_cpu_s(os.getpid()) - sum(used.values())}


def measure(name: str, split: Split, seconds: float, threads: int, workdir: Path) -> Layout:
    """One layout: a fresh moto, the resources, `threads` drivers for `seconds`."""
    moto = MotoServer(workdir / name / uuid.uuid4().hex[:6], split=split)
    try:
        moto.start()
        aws = AwsAccess("us-east-1", moto.endpoint_url, _CREDENTIALS, max_attempts=1)
        aws = aws.routed(moto.endpoints)
        where = _create(aws)
        layout, lock = Layout(name), threading.Lock()
        go, stop = threading.Barrier(threads + 1), threading.Event()
        errors: list[Exception] = []

        def drive(n: int) -> None:
            service, count = SERVICES[n % len(SERVICES)], 0
            try:
                stream = DRIVERS[service](aws, where, n // len(SERVICES))
                next(stream)
                go.wait()
                while not stop.is_set():
                    next(stream)
                    count += 1
            except threading.BrokenBarrierError:
                pass
            except Exception as exc:  # a failed request ends the measurement
                errors.append(exc)
                go.abort()
            with lock:
                layout.requests[service] += count

        workers = [threading.Thread(target=drive, args=(n,), daemon=True) for n in range(threads)]
        for worker in workers:
            worker.start()
        with contextlib.suppress(threading.BrokenBarrierError):
            go.wait()
        before, started = _cpu(moto), time.monotonic()
        stop.wait(0 if errors else seconds)
        stop.set()
        for worker in workers:
            worker.join()
        layout.seconds = time.monotonic() - started
        if errors:
            _console.fail(f"{name}: a request failed: {errors[0]}")
        after = _cpu(moto)
        layout.cpu_s = {p: after[p] - before[p] for p in after}
        return layout
    finally:
        moto.stop()


def report(layout: Layout) -> None:
    rates = "  ".join(f"{s} {layout.requests[s] / layout.seconds:7,.0f}" for s in SERVICES)
    busy = "  ".join(f"{p} {used / layout.seconds:4.0%}" for p, used in layout.cpu_s.items())
    print(f"{layout.name:6} {layout.per_s:8,.0f} requests/s   {rates}")
    print(f"{'':6} CPU (share of a core): {busy}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="per layout and repeat")
    parser.add_argument("--threads", type=int, default=16, help="client threads")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each layout (best kept)")
    parser.add_argument("--split", default=DEFAULT_SPLIT, help="the split measured")
    args = parser.parse_args()
    try:
        split = parse_split(args.split)
    except UserError as exc:
        _console.fail(str(exc))
    if not split:
        _console.fail("--split: give a split to compare with one process, e.g. " + DEFAULT_SPLIT)
    if args.threads < 1 or args.seconds <= 0 or args.repeat < 1:
        _console.fail("--threads and --repeat must be 1 or more, --seconds above 0")
    with _console.workspace("cdcbench-moto-processes-", "moto logs") as workdir:
        best: dict[str, Layout] = {}
        for round_ in range(args.repeat):
            for name, layout_split in (("single", ()), ("split", split)):
                log(f"{name} ({describe_split(layout_split)}), run {round_ + 1}/{args.repeat}")
                found = measure(name, layout_split, args.seconds, args.threads, workdir)
                if name not in best or found.per_s > best[name].per_s:
                    best[name] = found
    print(
        f"{os.cpu_count()} CPUs, {args.threads} client threads, {args.seconds:.0f} s per run, "
        f"best of {args.repeat}; split: {describe_split(split)}"
    )
    for layout in best.values():
        report(layout)
    print(f"moto_processes_ratio: {best['split'].per_s / best['single'].per_s:.2f}")


if __name__ == "__main__":
    main()
