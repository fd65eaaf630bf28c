"""Where the publisher sends each net change: a Kinesis stream (one change event per
record) or a DynamoDB table (the row itself, as cdcbench's read models lay it out).

The change event (JSON): `{"table", "op": insert|update|delete, "keys", "new", "old",
"columns", "change_version"}`. `new` is the current row as PostgreSQL's `to_jsonb` gives it
(None for a delete), `old` the deleted row's last image (deletes only), `columns` the
table's column SQL types in order, so a subscriber can create and extend its tables.
"""

import json
import time
from collections.abc import Callable
from typing import Protocol

import boto3
from change_tracking import Change
from read_model_items import put_newer, row_item, tombstone_item

PUT_RECORDS_LIMIT = 500
"""Kinesis PutRecords takes at most 500 records per call."""
_OPS = {"I": "insert", "U": "update", "D": "delete"}


class Sink(Protocol):
    def send(self, changes: list[Change]) -> int:
        """Send every change (retrying what is refused); how many refusals it retried."""


def change_event(change: Change) -> bytes:
    """The change event's JSON, its row images as PostgreSQL wrote them (exact numbers)."""
    image = change.row or change.deleted or {}
    key_column = next(iter(change.columns))
    head = {
        "table": change.table,
        "op": _OPS[change.operation],
        "keys": {key_column: image.get(key_column, change.key)},
        "columns": change.columns,
        "change_version": change.version,
    }
    new, old = change.row_json or "null", change.deleted_json or "null"
    return f'{json.dumps(head, ensure_ascii=False)[:-1]}, "new": {new}, "old": {old}}}'.encode()


class KinesisSink:
    """PutRecords, partition key `<table>#<key>` (each key's changes stay on one shard, in
    order: a poll holds one change per key); records the API refuses are sent again, with a
    growing pause, before the next poll."""

    def __init__(self, stream_name: str, retry: Callable[[int], None]) -> None:
        self.stream_name = stream_name
        self.client = boto3.client("kinesis")
        self.retry = retry

    def send(self, changes: list[Change]) -> int:
        refused = 0
        for start in range(0, len(changes), PUT_RECORDS_LIMIT):
            pending = [
                {"Data": change_event(c), "PartitionKey": f"{c.table}#{c.key}"}
                for c in changes[start : start + PUT_RECORDS_LIMIT]
            ]
            attempt = 0
            while pending:
                if attempt:
                    self.retry(attempt)
                answer = self.client.put_records(StreamName=self.stream_name, Records=pending)
                failed = [
                    r for r, a in zip(pending, answer["Records"], strict=True) if "ErrorCode" in a
                ]
                refused += len(failed)
                pending, attempt = failed, attempt + 1
        return refused


class DynamoDBSink:
    """One conditional write per change, over an older version only (a tombstone for a
    delete): the table never goes back, whatever arrives twice."""

    def __init__(self, table_name: str, retry: Callable[[int], None]) -> None:
        self.table_name = table_name
        self.client = boto3.client("dynamodb")
        self.retry = retry

    def send(self, changes: list[Change]) -> int:
        for change in changes:
            if change.row is None:
                version = int((change.deleted or {}).get("version", 0))
                item = tombstone_item(change.table, change.key, version)
            else:
                item = row_item(change.table, change.key, change.row)
            put_newer(self.client, self.table_name, item)
        return 0


def pause(attempt: int) -> None:
    """Back off before retry `attempt` (50 ms doubling, at most 2 s)."""
    time.sleep(min(2.0, 0.05 * 2 ** (attempt - 1)))
