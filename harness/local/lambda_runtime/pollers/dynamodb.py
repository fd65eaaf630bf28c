"""Lambda's DynamoDB Streams mapping: the stream's shards (rolled over as DynamoDB closes
them), each record delivered in the documented DynamoDB Streams event shape."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

from harness.local.lambda_runtime.pollers.shards import (
    Position,
    Shard,
    StreamPoller,
    StreamRecord,
)

_STREAM_RECORD_FIELDS = (
    "ApproximateCreationDateTime",
    "Keys",
    "NewImage",
    "OldImage",
    "SequenceNumber",
    "SizeBytes",
    "StreamViewType",
)


def _wire(value: Any) -> Any:
    """An attribute value (or map of them) as JSON carries it: boto3 hands binary values
    over as bytes, Lambda events carry them base64-encoded."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def dynamodb_event_record(record: dict[str, Any], *, source_arn: str) -> dict[str, Any]:
    """A DynamoDB Streams GetRecords record (as boto3 returns it) as Lambda puts it in an
    event: the record plus eventSourceARN, with epoch-second creation times, the mapping's
    region and the current record format version (moto reports "1.0" and us-east-1)."""
    stream_record = record["dynamodb"]
    body = {k: _wire(stream_record[k]) for k in _STREAM_RECORD_FIELDS if k in stream_record}
    created = stream_record.get("ApproximateCreationDateTime")
    if created is not None:
        body["ApproximateCreationDateTime"] = float(math.floor(created.timestamp()))
    event = {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": source_arn.split(":")[3],
        "dynamodb": body,
        "eventSourceARN": source_arn,
    }
    if "userIdentity" in record:  # deletions by Time to Live
        identity = record["userIdentity"]
        event["userIdentity"] = {"type": identity["Type"], "principalId": identity["PrincipalId"]}
    return event


class DynamoDBStreamPoller(StreamPoller):
    service = "dynamodbstreams"
    batch_info_key = "DDBStreamBatchInfo"
    arrival_timespec = "seconds"
    starting_positions = frozenset({"TRIM_HORIZON", "LATEST"})
    max_read = 1000

    def poll_interval(self) -> float:
        return self.ctx.timing.dynamodb_poll_s

    def list_shards(self) -> list[Shard]:
        client = self.client(self.service)
        shards: list[Shard] = []
        args: dict[str, Any] = {"StreamArn": self.source_arn}
        while True:
            description = client.describe_stream(**args)["StreamDescription"]
            shards += (
                Shard(
                    shard["ShardId"],
                    (shard["ParentShardId"],) if shard.get("ParentShardId") else (),
                )
                for shard in description["Shards"]
            )
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            args["ExclusiveStartShardId"] = last

    def shard_iterator(self, shard_id: str, position: Position) -> str:
        args: dict[str, Any] = {
            "StreamArn": self.source_arn,
            "ShardId": shard_id,
            "ShardIteratorType": position.kind,
        }
        if position.sequence_number is not None:
            args["SequenceNumber"] = position.sequence_number
        return str(self.client(self.service).get_shard_iterator(**args)["ShardIterator"])

    def get_records(
        self, shard_id: str, iterator: str, limit: int
    ) -> tuple[list[StreamRecord], str | None]:
        response = self.client(self.service).get_records(ShardIterator=iterator, Limit=limit)
        records = []
        for record in response["Records"]:
            event = dynamodb_event_record(record, source_arn=self.source_arn)
            body = event["dynamodb"]
            records.append(
                StreamRecord(
                    sequence_number=body["SequenceNumber"],
                    arrival=body["ApproximateCreationDateTime"],
                    key=json.dumps(body["Keys"], sort_keys=True),
                    event=event,
                )
            )
        return records, response.get("NextShardIterator")
