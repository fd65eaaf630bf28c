"""The Firehose engine's Kinesis stream sources on their own, against a Kinesis that keeps
AWS's resharding rules (moto 5.2.5 does not: see the integration tests): start at the
delivery stream's creation, one GetRecords per shard per interval, a parent read to its end
before its children, a checkpoint per shard to resume from after a failure."""

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness.local.firehose.buffers import Batch
from harness.local.firehose.kinesis_source import LIST_S, KinesisSources

ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/src"
DESTINATION = {"BucketARN": "arn:aws:s3:::b", "BufferingHints": {"IntervalInSeconds": 1}}
CREATED = 100.0


class _Firehose:
    """One KinesisStreamAsSource delivery stream "fh", created at CREATED."""

    def __init__(self) -> None:
        self.streams = ["fh"]

    def list_delivery_streams(self, **_: Any) -> dict[str, Any]:
        return {"DeliveryStreamNames": list(self.streams), "HasMoreDeliveryStreams": False}

    def describe_delivery_stream(self, DeliveryStreamName: str) -> dict[str, Any]:
        return {
            "DeliveryStreamDescription": {
                "DeliveryStreamName": DeliveryStreamName,
                "VersionId": "1",
                "CreateTimestamp": datetime.fromtimestamp(CREATED, UTC),
                "Source": {"KinesisStreamSourceDescription": {"KinesisStreamARN": ARN}},
                "Destinations": [{"S3DestinationDescription": DESTINATION}],
            }
        }


class _Kinesis:
    """Shards as AWS keeps them: a closed shard keeps its records and, read to its end, gives
    no NextShardIterator (unless `ends_iterators` is False, as in moto). GetRecords returns at
    most `page` records."""

    def __init__(self, ends_iterators: bool = True, page: int = 100) -> None:
        self.ends_iterators = ends_iterators
        self.page = page
        self.shards: dict[str, dict[str, Any]] = {}
        self.reads: list[str] = []
        self.iterator_types: list[str] = []
        self.failing: ClientError | None = None
        self._seq = 0

    def add_shard(self, shard_id: str, *parents: str) -> None:
        self.shards[shard_id] = {"parents": parents, "records": [], "closed": False}

    def put(self, shard_id: str, data: bytes, at: float) -> None:
        self._seq += 1
        self.shards[shard_id]["records"].append((f"{self._seq:030d}", data, at))

    def describe_stream(self, StreamARN: str, **_: Any) -> dict[str, Any]:
        self._check()
        shards = []
        for shard_id, shard in self.shards.items():
            listed: dict[str, Any] = {"ShardId": shard_id, "SequenceNumberRange": {}}
            listed.update(
                zip(("ParentShardId", "AdjacentParentShardId"), shard["parents"], strict=False)
            )
            if shard["closed"]:
                listed["SequenceNumberRange"]["EndingSequenceNumber"] = "9" * 30
            shards.append(listed)
        return {"StreamDescription": {"Shards": shards, "HasMoreShards": False}}

    def get_shard_iterator(self, **args: Any) -> dict[str, str]:
        self._check()
        records = self.shards[args["ShardId"]]["records"]
        self.iterator_types.append(args["ShardIteratorType"])
        if args["ShardIteratorType"] == "AT_TIMESTAMP":
            at = args["Timestamp"].timestamp()
            position = next((i for i, r in enumerate(records) if r[2] >= at), len(records))
        else:
            after = args["StartingSequenceNumber"]
            position = next((i for i, r in enumerate(records) if r[0] > after), len(records))
        return {"ShardIterator": f"{args['ShardId']}@{position}"}

    def get_records(self, ShardIterator: str, **_: Any) -> dict[str, Any]:
        self._check()
        shard_id, position = ShardIterator.split("@")
        self.reads.append(shard_id)
        shard = self.shards[shard_id]
        start = int(position)
        records = shard["records"][start : start + self.page]
        following = start + len(records)
        answer: dict[str, Any] = {
            "Records": [{"SequenceNumber": s, "Data": d} for s, d, _ in records],
            "MillisBehindLatest": 1000 * (len(shard["records"]) - following),
            "NextShardIterator": f"{shard_id}@{following}",
        }
        if shard["closed"] and following == len(shard["records"]) and self.ends_iterators:
            del answer["NextShardIterator"]
        return answer

    def _check(self) -> None:
        if self.failing is not None:
            raise self.failing


def _data(batches: list[Batch]) -> list[bytes]:
    assert all(b.stream == "fh" and b.destination == DESTINATION for b in batches)
    return [record for batch in batches for record in batch.records]


@pytest.mark.parametrize("ends_iterators", [True, False], ids=["aws", "moto-iterators"])
def test_a_split_parent_is_read_to_its_end_before_its_children(ends_iterators: bool) -> None:
    kinesis = _Kinesis(ends_iterators, page=1)
    kinesis.add_shard("s0")
    kinesis.put("s0", b"before", CREATED - 1)  # LATEST at creation: never delivered
    kinesis.put("s0", b"p1", CREATED + 1)
    sources = KinesisSources(_Firehose(), kinesis, shard_read_s=1.0)
    now = 200.0
    assert _data(sources.read(now)) == [b"p1"]
    assert kinesis.iterator_types == ["AT_TIMESTAMP"]

    for data in (b"p2", b"p3", b"p4"):
        kinesis.put("s0", data, now)
    kinesis.shards["s0"]["closed"] = True  # split: the parent keeps its records
    kinesis.add_shard("s1", "s0")
    kinesis.add_shard("s2", "s0")
    kinesis.put("s1", b"c1", now)
    kinesis.put("s2", b"c2", now)
    assert sources.read(now + 0.5) == [], "one GetRecords per shard per second"
    assert kinesis.reads == ["s0"]

    read: list[bytes] = []
    now += 1
    while now < 200 + 4 * LIST_S:
        read += _data(sources.read(now))
        now += 0.25
    assert read[:3] == [b"p2", b"p3", b"p4"] and sorted(read[3:]) == [b"c1", b"c2"]
    last_parent_read = max(i for i, shard in enumerate(kinesis.reads) if shard == "s0")
    assert kinesis.reads.index("s1") > last_parent_read
    assert kinesis.reads.count("s0") == (4 if ends_iterators else 5), "then not read again"


def test_a_merged_child_waits_for_both_parents() -> None:
    kinesis = _Kinesis()
    for shard_id in ("s0", "s1"):
        kinesis.add_shard(shard_id)
        kinesis.shards[shard_id]["closed"] = True
    kinesis.add_shard("s2", "s0", "s1")
    kinesis.put("s0", b"a", CREATED + 1)
    kinesis.put("s1", b"b", CREATED + 1)
    kinesis.put("s2", b"c", CREATED + 2)
    sources = KinesisSources(_Firehose(), kinesis, shard_read_s=1.0)
    read = _data(sources.read(200.0))
    assert sorted(read) == [b"a", b"b"]
    assert _data(sources.read(200.1)) == [b"c"]


def test_an_unreadable_stream_is_one_failure_retried_from_its_checkpoint() -> None:
    kinesis = _Kinesis()
    kinesis.add_shard("s0")
    kinesis.put("s0", b"r1", CREATED + 1)
    sources = KinesisSources(_Firehose(), kinesis, shard_read_s=1.0)
    assert _data(sources.read(200.0)) == [b"r1"]

    error = {"Error": {"Code": "ResourceNotFoundException", "Message": "Stream src not found"}}
    kinesis.failing = ClientError(error, "GetRecords")
    kinesis.put("s0", b"r2", 200.5)
    assert sources.read(201.0) == []
    assert list(sources.failures) == ["fh"]
    assert sources.failures["fh"].startswith(f"reading Kinesis stream {ARN} failing, retrying: ")
    assert sources.read(201.0 + LIST_S) == []  # the listing fails too: still reported
    assert list(sources.failures) == ["fh"]

    kinesis.failing = None
    now = 201.0 + LIST_S
    read: list[bytes] = []
    while not read and now < 210:
        now += 0.25
        read = _data(sources.read(now))
    assert read == [b"r2"], "resumed after its checkpoint"
    assert kinesis.iterator_types[-1] == "AFTER_SEQUENCE_NUMBER"
    assert sources.failures == {}


def test_a_deleted_delivery_stream_stops_its_readers() -> None:
    kinesis = _Kinesis()
    kinesis.add_shard("s0")
    firehose = _Firehose()
    sources = KinesisSources(firehose, kinesis, shard_read_s=1.0)
    sources.read(200.0)
    sources.forget("fh")  # told by the engine
    firehose.streams = []
    kinesis.put("s0", b"late", 200.5)
    assert sources.read(200.0 + LIST_S) == []
    assert kinesis.reads == ["s0"]
