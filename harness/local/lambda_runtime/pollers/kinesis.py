"""Lambda's Kinesis mapping: the stream's shards read with standard iterators (GetRecords),
each record delivered in the documented Kinesis event shape."""

from __future__ import annotations

import base64
from typing import Any

from harness.local.lambda_runtime.pollers.shards import (
    Position,
    Shard,
    StreamPoller,
    StreamRecord,
)


def kinesis_event_record(
    record: dict[str, Any], shard_id: str, *, source_arn: str, identity_arn: str
) -> dict[str, Any]:
    """A GetRecords record (as boto3 returns it) as Lambda puts it in a Kinesis event."""
    sequence_number = record["SequenceNumber"]
    return {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": record["PartitionKey"],
            "sequenceNumber": sequence_number,
            "data": base64.b64encode(record["Data"]).decode(),
            "approximateArrivalTimestamp": round(
                record["ApproximateArrivalTimestamp"].timestamp(), 3
            ),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"{shard_id}:{sequence_number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": identity_arn,
        "awsRegion": source_arn.split(":")[3],
        "eventSourceARN": source_arn,
    }


class KinesisPoller(StreamPoller):
    service = "kinesis"
    batch_info_key = "KinesisBatchInfo"
    arrival_timespec = "milliseconds"
    starting_positions = frozenset({"TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"})
    max_read = 10_000

    _identity_arn: str = ""

    def poll_interval(self) -> float:
        return self.ctx.timing.kinesis_poll_s

    def prepare(self) -> None:
        """Events name the function's execution role (invokeIdentityArn)."""
        lambda_client = self.client("lambda")
        function = self.mapping["FunctionArn"]
        self._identity_arn = lambda_client.get_function_configuration(FunctionName=function)["Role"]

    def list_shards(self) -> list[Shard]:
        pages = self.client(self.service).get_paginator("list_shards")
        return [
            Shard(
                shard["ShardId"],
                tuple(shard[k] for k in ("ParentShardId", "AdjacentParentShardId") if k in shard),
            )
            for page in pages.paginate(StreamARN=self.source_arn)
            for shard in page["Shards"]
        ]

    def shard_iterator(self, shard_id: str, position: Position) -> str:
        args: dict[str, Any] = {
            "StreamARN": self.source_arn,
            "ShardId": shard_id,
            "ShardIteratorType": position.kind,
        }
        if position.sequence_number is not None:
            args["StartingSequenceNumber"] = position.sequence_number
        if position.timestamp is not None:
            args["Timestamp"] = position.timestamp
        return str(self.client(self.service).get_shard_iterator(**args)["ShardIterator"])

    def get_records(
        self, shard_id: str, iterator: str, limit: int
    ) -> tuple[list[StreamRecord], str | None]:
        response = self.client(self.service).get_records(
            ShardIterator=iterator, Limit=limit, StreamARN=self.source_arn
        )
        records = [
            StreamRecord(
                sequence_number=record["SequenceNumber"],
                arrival=record["ApproximateArrivalTimestamp"].timestamp(),
                key=record["PartitionKey"],
                event=kinesis_event_record(
                    record, shard_id, source_arn=self.source_arn, identity_arn=self._identity_arn
                ),
            )
            for record in response["Records"]
        ]
        return records, response.get("NextShardIterator")
