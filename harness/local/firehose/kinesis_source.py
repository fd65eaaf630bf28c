"""KinesisStreamAsSource delivery streams: their Kinesis data streams read into `Batch`es, as
Firehose reads them, for the engine's buffers (which deliver them as DirectPut records).

What AWS documents:
- "Writing to Amazon Data Firehose Using Kinesis Data Streams" (Firehose Developer Guide):
  Firehose starts reading at the LATEST position of the Kinesis stream, so records put before
  the delivery stream existed are not delivered; it calls GetRecords once per second for each
  shard (`SHARD_READ_S`); PutRecord and PutRecordBatch are disabled on such a delivery stream
  (enforcing that is the API's part, not this module's).
- API reference, KinesisStreamSourceDescription: `DeliveryStartTimestamp`, "Firehose starts
  retrieving records from the Kinesis data stream starting with this timestamp". moto does
  not return it; the delivery stream's CreateTimestamp stands for it. Each shard starts
  AT_TIMESTAMP there: LATEST at creation, however late the engine first lists the stream.
- "Troubleshooting Amazon Data Firehose": with a Kinesis data stream source, Firehose retries
  DescribeStream, GetRecords and GetShardIterator indefinitely. Here a stream that cannot be
  read is one line in `failures` and is retried at the next listing (`LIST_S`), each shard
  from its checkpoint.
- "Amazon Data Firehose Data Delivery": records are concatenated without delimiters unless
  configured; each Kinesis record's Data is one Firehose record, bytes as they are (AWS
  de-aggregates KPL-aggregated records: not emulated, they are delivered as written).
- "Complete the resharding action" (Kinesis Data Streams Developer Guide): a parent shard
  keeps its records after a reshard.

Where the Firehose docs are silent, what is done here:
- resharding: a shard's children start once each parent still listed is read to its end
  (GetRecords gives no NextShardIterator, or, as moto never ends an iterator, a read of a
  shard already listed as closed returns nothing and is not behind), from their start;
- checkpoints: per shard, in memory (the last sequence number handed to the buffers); an
  engine restart reads again from the start timestamp;
- arrival time (buffer interval, object key times): when the records were read, as a DirectPut
  record's is when its put arrived (AWS's transformation events carry Firehose's own
  approximateArrivalTimestamp beside the Kinesis record's);
- only S3 and ExtendedS3 destinations are delivered, as for DirectPut.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from harness.local.firehose.buffers import Batch

log = logging.getLogger("harness.local.firehose")

SHARD_READ_S = 1.0
"""Least time between two GetRecords calls on one shard (AWS: once per second per shard)."""
LIST_S = 2.0
"""How often the delivery streams and their shards are listed (not documented by AWS)."""
READ_LIMIT = 10_000
"""GetRecords' largest Limit."""
_DESTINATIONS = ("ExtendedS3DestinationDescription", "S3DestinationDescription")


@dataclass
class _Shard:
    """One shard's reader: where it is, and whether it is done."""

    parents: tuple[str, ...]
    checkpoint: str | None = None
    iterator: str | None = None
    closed: bool = False
    """Listed as closed (EndingSequenceNumber) before the last read."""
    finished: bool = False
    next_read: float = 0.0


@dataclass
class _Source:
    """A delivery stream with a Kinesis stream source, as last described."""

    stream_arn: str
    start: datetime
    version: str
    destination: dict[str, Any]
    shards: dict[str, _Shard] = field(default_factory=dict)


class KinesisSources:
    """Every KinesisStreamAsSource delivery stream of the account and region, read one shard
    GetRecords at a time. Not thread-safe: the engine's thread calls it."""

    def __init__(self, firehose: Any, kinesis: Any, shard_read_s: float = SHARD_READ_S) -> None:
        self._firehose = firehose
        self._kinesis = kinesis
        self._shard_read_s = shard_read_s
        self._sources: dict[str, _Source] = {}
        self._next_list = 0.0
        self.failures: dict[str, str] = {}
        """Delivery stream name -> one line: why its Kinesis stream cannot be read."""

    def next_read(self) -> float:
        """When `read` has something to do next (epoch seconds)."""
        reads = [s.next_read for src in self._sources.values() for _, s in _readable(src)]
        return min([self._next_list, *reads])

    def forget(self, stream: str) -> None:
        """A deleted delivery stream: stop reading its source."""
        self._sources.pop(stream, None)
        self.failures.pop(stream, None)

    def read(self, now: float) -> list[Batch]:
        """List the sources when due, then one GetRecords for each shard whose turn has come."""
        if now >= self._next_list:
            self._next_list = now + LIST_S
            self._list()
        batches: list[Batch] = []
        for name, source in list(self._sources.items()):
            batches += self._read_source(name, source, now)
        return batches

    def _list(self) -> None:
        names: list[str] = []
        start: dict[str, str] = {}
        while True:
            page = self._firehose.list_delivery_streams(
                DeliveryStreamType="KinesisStreamAsSource", **start
            )
            names += page["DeliveryStreamNames"]
            if not page.get("HasMoreDeliveryStreams") or not page["DeliveryStreamNames"]:
                break
            start = {"ExclusiveStartDeliveryStreamName": names[-1]}
        for gone in set(self._sources) - set(names):
            self.forget(gone)
        for name in names:
            try:
                self._describe(name)
            except ClientError as exc:  # deleted meanwhile: the next listing drops it
                log.debug("Firehose %s: not described: %s", name, exc)
                continue
            source = self._sources.get(name)
            if source is None:
                continue
            try:
                self._list_shards(source)
            except Exception as exc:
                self._fail(name, source, exc)

    def _describe(self, name: str) -> None:
        described = self._firehose.describe_delivery_stream(DeliveryStreamName=name)
        description = described["DeliveryStreamDescription"]
        kinesis = description.get("Source", {}).get("KinesisStreamSourceDescription", {})
        destinations = description.get("Destinations") or [{}]
        destination = next(
            (destinations[0][k] for k in _DESTINATIONS if k in destinations[0]), None
        )
        if not kinesis.get("KinesisStreamARN") or destination is None:
            self.forget(name)  # another destination: not this engine's
            return
        arn = kinesis["KinesisStreamARN"]
        start = kinesis.get("DeliveryStartTimestamp") or description["CreateTimestamp"]
        source = self._sources.get(name)
        if source is None or (source.stream_arn, source.start) != (arn, start):
            source = _Source(arn, start, "", {})  # new, or deleted and created again
            self._sources[name] = source
        source.version = description["VersionId"]
        source.destination = destination

    def _list_shards(self, source: _Source) -> None:
        """DescribeStream's pages: new shards get a reader; closed ones are noted."""
        start: dict[str, str] = {}
        while True:
            page = self._kinesis.describe_stream(StreamARN=source.stream_arn, **start)
            description = page["StreamDescription"]
            for shard in description["Shards"]:
                shard_id = shard["ShardId"]
                parents = tuple(
                    shard[k] for k in ("ParentShardId", "AdjacentParentShardId") if k in shard
                )
                reader = source.shards.setdefault(shard_id, _Shard(parents))
                if "EndingSequenceNumber" in shard["SequenceNumberRange"]:
                    reader.closed = True
            if not description.get("HasMoreShards") or not description["Shards"]:
                return
            start = {"ExclusiveStartShardId": description["Shards"][-1]["ShardId"]}

    def _read_source(self, name: str, source: _Source, now: float) -> list[Batch]:
        batches = []
        for shard_id, shard in _readable(source):
            if now < shard.next_read:
                continue
            shard.next_read = now + self._shard_read_s
            try:
                records = self._get_records(source, shard_id, shard)
            except Exception as exc:  # the stream is gone, throttled...: AWS retries
                self._fail(name, source, exc)
                break
            self.failures.pop(name, None)
            if records:
                batches.append(Batch(name, source.version, source.destination, now, records))
            if shard.finished:
                self._next_list = now  # its children may start: list again at once
        return batches

    def _get_records(self, source: _Source, shard_id: str, shard: _Shard) -> list[bytes]:
        """One GetRecords call on the shard; its records' Data, in order."""
        closed = shard.closed  # as listed before this read
        if shard.iterator is None:
            shard.iterator = self._iterator(source, shard_id, shard)
        try:
            response = self._kinesis.get_records(
                ShardIterator=shard.iterator, Limit=READ_LIMIT, StreamARN=source.stream_arn
            )
        except ClientError as exc:
            shard.iterator = None  # the next read starts again from the checkpoint
            if exc.response.get("Error", {}).get("Code") == "ExpiredIteratorException":
                return []
            raise
        records = response["Records"]
        if records:
            shard.checkpoint = records[-1]["SequenceNumber"]
        shard.iterator = response.get("NextShardIterator")
        at_end = not records and closed and not response.get("MillisBehindLatest")
        if shard.iterator is None or at_end:
            shard.finished = True
        return [record["Data"] for record in records]

    def _iterator(self, source: _Source, shard_id: str, shard: _Shard) -> str:
        where: dict[str, Any] = {"ShardIteratorType": "AT_TIMESTAMP", "Timestamp": source.start}
        if shard.checkpoint is not None:
            where = {
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "StartingSequenceNumber": shard.checkpoint,
            }
        answer = self._kinesis.get_shard_iterator(
            StreamARN=source.stream_arn, ShardId=shard_id, **where
        )
        return str(answer["ShardIterator"])

    def _fail(self, name: str, source: _Source, exc: Exception) -> None:
        why = f"reading Kinesis stream {source.stream_arn} failing, retrying: {exc}"
        if self.failures.get(name) != why:
            log.warning("Firehose %s: %s", name, why)
        self.failures[name] = why
        for shard in source.shards.values():
            shard.iterator = None
            shard.next_read = self._next_list  # retried at the next listing


def _readable(source: _Source) -> list[tuple[str, _Shard]]:
    """Shards not finished and not waiting: a child waits until each parent still listed is
    read to its end."""
    shards = source.shards
    return [
        (shard_id, shard)
        for shard_id, shard in shards.items()
        if not shard.finished
        and not any(p in shards and not shards[p].finished for p in shard.parents)
    ]
