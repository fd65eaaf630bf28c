"""DMS's DynamoDB target: one DynamoDB table per source table, rows as items.

Written by hand because DMS itself is what is emulated. Following the DMS user
guide (CHAP_Target.DynamoDB):

- The target table is the object-mapping rule's `target-table-name`, else the
  table's name. DMS creates it when missing (here: on-demand billing).
- With a `map-record-to-record` rule the item is every column not in
  `exclude-columns` plus the `attribute-mappings` (scalar string `${col}`
  templates, `dynamodb-map` / `dynamodb-list` documents with templates inside);
  `partition-key-name` / `sort-key-name` name the key attributes. Without a rule
  every column is an attribute and the source primary key is the key (a second
  key column becomes the sort key).
- Integer, float and NUMERIC columns are N, BOOLEAN is BOOL, everything else S;
  NULL columns are left out of the item.
- Inserts, updates and full-load rows put the whole item; deletes delete by key.
  A primary-key update puts the new item and leaves the old one (the guide warns
  that DMS does not handle key updates).

Writes go out with BatchWriteItem, 25 at most, never two writes to one key in a
batch, batches in order, UnprocessedItems retried before the next batch, so
per-key order holds. A throttled batch (ThrottlingException and the like) is retried with
backoff as an AWS SDK retries it. Writes refused for longer than those retries (about 17 s)
fail the task with an environmental error, so it restarts from its checkpoint: the guide
documents no DynamoDB-specific reaction, and a DMS task restarts after environmental errors
(ErrorBehavior's RecoverableError settings).
"""

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from harness.aws import backoff_s, throttled
from harness.local.dms.changes import (
    FLOAT_TYPES,
    INTEGER_TYPES,
    Column,
    Row,
    RowChange,
    SchemaChange,
    Table,
    Transaction,
    typed,
)
from harness.local.dms.context import TaskContext
from harness.local.dms.mapping import MappingError
from harness.local.dms.targets.base import DmsTarget
from harness.local.dms.targets.messages import excluded, fill, substitute

BATCH_SIZE = 25
DUE_WRITES = 500
MAX_ATTEMPTS = 20
NUMBER_TYPES = INTEGER_TYPES | FLOAT_TYPES | {"NUMERIC"}

Item = dict[str, dict[str, Any]]


class DynamoDbWriteError(RuntimeError):
    """BatchWriteItem kept leaving items unprocessed or being throttled: the table refuses
    writes for now, an environmental error (the task restarts from its checkpoint)."""


def attribute(column: Column, value: str) -> dict[str, Any]:
    """A non-NULL canonical value as a DynamoDB attribute value."""
    if column.dms_type in NUMBER_TYPES:
        return {"N": value}
    if column.dms_type == "BOOLEAN":
        return {"BOOL": typed(column, value)}
    return {"S": value}


@dataclass(frozen=True)
class Layout:
    """Where and how one source table's rows land: table name, key attributes, mapping."""

    table_name: str
    hash_key: str
    range_key: str | None
    params: Mapping[str, Any]

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)


@dataclass(frozen=True)
class Write:
    table_name: str
    key_id: str
    request: dict[str, Any]


def layout_for(table: Table, rule: Mapping[str, Any] | None) -> Layout:
    name = str((rule or {}).get("target-table-name") or table.name)
    params = (rule or {}).get("mapping-parameters") or {}
    if rule and rule.get("rule-action") != "map-record-to-record":
        raise MappingError(
            f"DynamoDB target: rule-action {rule.get('rule-action')!r} not supported"
        )
    if "partition-key-name" in params:
        return Layout(name, str(params["partition-key-name"]), params.get("sort-key-name"), params)
    pk = table.primary_key
    if not 1 <= len(pk) <= 2:
        raise MappingError(
            f"{table.schema}.{table.name}: a DynamoDB key needs one or two primary-key "
            "columns, or an object mapping with partition-key-name"
        )
    return Layout(name, pk[0], pk[1] if len(pk) == 2 else None, params)


def build_item(table: Table, row: Row, layout: Layout) -> Item:
    """The item a row becomes under the table's layout."""
    drop = excluded(layout.params)
    item: Item = {
        c.name: attribute(c, row[c.name])
        for c in table.columns
        if row.get(c.name) is not None and c.name.casefold() not in drop
    }
    for entry in layout.params.get("attribute-mappings") or ():
        name, value = str(entry["target-attribute-name"]), entry.get("value")
        kind, sub = entry.get("attribute-type"), entry.get("attribute-sub-type")
        if kind == "scalar" and sub in (None, "string"):
            item[name] = {"S": substitute(str(value), row)}
        elif kind == "scalar" and sub == "number":
            item[name] = {"N": substitute(str(value), row)}
        elif kind == "document" and sub in ("dynamodb-map", "dynamodb-list"):
            item[name] = fill(value, row)
        else:
            raise MappingError(f"attribute mapping {name!r}: {kind}/{sub} is not supported")
    return item


def item_key(item: Item, layout: Layout) -> Item:
    try:
        return {k: item[k] for k in layout.keys}
    except KeyError as exc:
        raise MappingError(
            f"DynamoDB table {layout.table_name}: the row gives no value for key {exc}"
        ) from None


class DynamoDbTarget(DmsTarget):
    def __init__(self, ctx: TaskContext) -> None:
        super().__init__(ctx)
        self.client: Any = ctx.aws.client("dynamodb")
        self.pending: list[Write] = []
        self.layouts: dict[tuple[str, str], Layout] = {}
        self.ready: set[str] = set()

    def load_rows(self, table: Table, rows: Iterable[Row]) -> int:
        count = 0
        for row in rows:
            self._enqueue(RowChange("load", table, row))
            count += 1
            if len(self.pending) >= DUE_WRITES:
                self.flush()
        return count

    def apply(self, txn: Transaction) -> None:
        for change in txn.changes:
            self._enqueue(change)

    def schema_change(self, change: SchemaChange) -> None:
        """Nothing to do: items are schemaless and a new table is created on its first write."""

    def due(self, now: float) -> bool:
        return len(self.pending) >= DUE_WRITES

    def flush(self) -> None:
        batch: list[Write] = []
        seen: set[tuple[str, str]] = set()
        for write in self.pending:
            ident = (write.table_name, write.key_id)
            if len(batch) == BATCH_SIZE or ident in seen:
                self._write(batch)
                batch, seen = [], set()
            batch.append(write)
            seen.add(ident)
        if batch:
            self._write(batch)
        self.pending = []

    def close(self) -> None:
        self.pending = []
        self.client.close()

    def _layout(self, table: Table) -> Layout:
        ident = (table.schema, table.name)
        if ident not in self.layouts:
            self.layouts[ident] = layout_for(table, self.ctx.mapping.object_mapping(table))
        return self.layouts[ident]

    def _enqueue(self, change: RowChange) -> None:
        layout = self._layout(change.table)
        item = build_item(change.table, change.row, layout)
        key = item_key(item, layout)
        self._ensure_table(layout, key)
        if change.op == "delete":
            request = {"DeleteRequest": {"Key": key}}
        else:
            request = {"PutRequest": {"Item": item}}
        key_id = json.dumps(key, sort_keys=True)
        self.pending.append(Write(layout.table_name, key_id, request))

    def _ensure_table(self, layout: Layout, key: Item) -> None:
        if layout.table_name in self.ready:
            return
        try:
            self.client.describe_table(TableName=layout.table_name)
        except self.client.exceptions.ResourceNotFoundException:
            kinds = ("HASH", "RANGE")
            self.client.create_table(
                TableName=layout.table_name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    {"AttributeName": k, "AttributeType": next(iter(key[k]))} for k in layout.keys
                ],
                KeySchema=[
                    {"AttributeName": k, "KeyType": kind}
                    for k, kind in zip(layout.keys, kinds, strict=False)
                ],
            )
            waiter = self.client.get_waiter("table_exists")
            waiter.wait(TableName=layout.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        self.ready.add(layout.table_name)

    def _write(self, batch: list[Write]) -> None:
        requests: dict[str, list[dict[str, Any]]] = {}
        for write in batch:
            requests.setdefault(write.table_name, []).append(write.request)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                response = self.client.batch_write_item(RequestItems=requests)
            except botocore.exceptions.ClientError as exc:
                if not throttled(exc):
                    raise
            else:
                requests = response.get("UnprocessedItems") or {}
                if not requests:
                    return
            time.sleep(backoff_s(attempt))
        raise DynamoDbWriteError(
            f"BatchWriteItem left items unprocessed {MAX_ATTEMPTS} times in a row"
        )
