"""DMS's Kinesis Data Streams target: DMS JSON messages written with PutRecords.

Written by hand because DMS itself is what is emulated. Messages come from
`messages.MessageBuilder`; they go out in PutRecords calls of at most 500
records and 5 MiB. A record PutRecords rejects (throttling, internal error) is
sent again, together with every later record of the same partition key from
that call, before anything newer: readers of a shard may then see a duplicate
but never an older image after a newer one (DMS is at-least-once anyway).
"""

import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from harness.local.dms.changes import Row, SchemaChange, Table, Transaction
from harness.local.dms.context import TaskContext
from harness.local.dms.targets.base import DmsTarget
from harness.local.dms.targets.messages import Message, MessageBuilder

MAX_RECORDS = 500
MAX_REQUEST_BYTES = 5 * 1024 * 1024
MAX_ATTEMPTS = 20


class KinesisWriteError(RuntimeError):
    """PutRecords kept rejecting records."""


class KinesisTarget(DmsTarget):
    def __init__(self, ctx: TaskContext) -> None:
        super().__init__(ctx)
        settings = ctx.endpoint["KinesisSettings"]
        self.stream_arn = str(settings["StreamArn"])
        self.builder = MessageBuilder(ctx, settings)
        self.client: Any = ctx.aws.client("kinesis")
        self.pending: deque[Message] = deque()

    def load_rows(self, table: Table, rows: Iterable[Row]) -> int:
        self.pending.append(self.builder.create_table(table))
        count = 0
        for row in rows:
            self.pending.append(self.builder.load(table, row))
            count += 1
            if len(self.pending) >= MAX_RECORDS:
                self._send(full_batches_only=True)
        return count

    def apply(self, txn: Transaction) -> None:
        self.pending.extend(self.builder.transaction(txn))

    def schema_change(self, change: SchemaChange) -> None:
        message = self.builder.schema_change(change)
        if message is not None:
            self.pending.append(message)

    def due(self, now: float) -> bool:
        return len(self.pending) >= MAX_RECORDS

    def flush(self) -> None:
        self._send(full_batches_only=False)

    def close(self) -> None:
        self.pending.clear()
        self.client.close()

    def _send(self, full_batches_only: bool) -> None:
        attempt = 0
        while self.pending and (not full_batches_only or len(self.pending) >= MAX_RECORDS):
            batch = self._take_batch()
            retry = self._put(batch)
            if not retry:
                attempt = 0
                continue
            attempt += 1
            if attempt >= MAX_ATTEMPTS:
                self.pending.extendleft(reversed(retry))
                raise KinesisWriteError(
                    f"PutRecords to {self.stream_arn} rejected {len(retry)} records "
                    f"{attempt} times in a row"
                )
            self.pending.extendleft(reversed(retry))
            time.sleep(min(1.0, 0.05 * 2**attempt))

    def _take_batch(self) -> list[Message]:
        batch: list[Message] = []
        size = 0
        while self.pending and len(batch) < MAX_RECORDS:
            message = self.pending[0]
            record_size = len(message.body) + len(message.key.encode())
            if batch and size + record_size > MAX_REQUEST_BYTES:
                break
            batch.append(self.pending.popleft())
            size += record_size
        return batch

    def _put(self, batch: list[Message]) -> list[Message]:
        """Send one batch; returns what must be sent again (failed records and their key's tail)."""
        records = [{"Data": m.body, "PartitionKey": m.key} for m in batch]
        response = self.client.put_records(StreamARN=self.stream_arn, Records=records)
        if not response.get("FailedRecordCount"):
            return []
        failed_keys: set[str] = set()
        retry = []
        for message, result in zip(batch, response["Records"], strict=True):
            if "ErrorCode" in result or message.key in failed_keys:
                failed_keys.add(message.key)
                retry.append(message)
        return retry
