"""DMS's JSON stream messages, shared by the Kinesis and Kafka targets.

Hand-written because no library produces DMS's stream format. Every row change
becomes `{"data": {...}, "metadata": {...}}` and every DDL change a control record
`{"control": {...}, "metadata": {...}}`, following the DMS user guide
(CHAP_Target.Kinesis, CHAP_Target.Kafka) and its literal examples:

- metadata keys in the order of the guide's Kafka example: timestamp (DMS clock,
  ISO 8601 with microseconds and Z), record-type, operation, partition-key-type,
  partition-key-value (IncludePartitionValue, not for schema-table), schema-name,
  table-name, then with IncludeTransactionDetails transaction-id,
  transaction-record-id, prev-transaction-id, prev-transaction-record-id,
  commit-timestamp and stream-position (the source position of the commit).
- Partition key: `schema.table` (type schema-table) by default, the primary key
  (type primary-key) with ParallelApplyThreads > 0 or `partition-key-type:
  primary-key`, an attribute of the mapped record for `attribute-name`, or a
  `partition-key.value` (constant or `${col}` template). PartitionIncludeSchemaTable
  prefixes `schema.table.` to primary-key values. Control records use the task id
  (type task-id).
- IncludeNullAndEmpty (default false): NULL and empty-string columns are left out.
- MessageFormat: json (the default, tab-indented) or json-unformatted (one line).
- Control records: create-table always; the other DDL operations only with
  IncludeTableAlterOperations; the `control.table-def` section only with
  IncludeControlDetails.
- BeforeImageSettings: update messages carry the old row under FieldName,
  filtered by ColumnFilter (pk-only, non-lob, all).
"""

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from harness.local.dms.changes import (
    LOB_TYPES,
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

_TEMPLATE = re.compile(r"\$\{([^}]*)\}")


def iso(ts: datetime) -> str:
    """DMS's timestamp form: `2019-10-31T22:53:59.721201Z`."""
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def lookup(row: Mapping[str, Any], name: str) -> Any:
    """A column of `row` by name: exact, else case-insensitive (the guide's mappings mix cases)."""
    if name in row:
        return row[name]
    folded = name.casefold()
    for key, value in row.items():
        if key.casefold() == folded:
            return value
    raise MappingError(f"object mapping refers to column {name!r}, which the row does not have")


def substitute(template: str, row: Row) -> str:
    """A `${column}` template of an object mapping filled from a row (NULL as empty text)."""
    return _TEMPLATE.sub(lambda m: lookup(row, m.group(1)) or "", template)


def fill(value: Any, row: Row) -> Any:
    """A mapping value (text, or a JSON document of texts) with every template filled."""
    if isinstance(value, str):
        return substitute(value, row)
    if isinstance(value, dict):
        return {k: fill(v, row) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, row) for v in value]
    return value


def excluded(params: Mapping[str, Any]) -> set[str]:
    """The case-folded `exclude-columns` of an object mapping's parameters."""
    return {str(c).casefold() for c in params.get("exclude-columns") or ()}


def attribute_mappings(params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(attribute name, value) of each `attribute-mappings` entry, in order."""
    out = []
    for entry in params.get("attribute-mappings") or ():
        name = entry.get("target-attribute-name") or entry.get("attribute-name")
        out.append((str(name), entry.get("value")))
    return out


@dataclass(frozen=True)
class Message:
    """One record for the stream: its table (to pick a Kafka topic), partition key and body."""

    table: Table
    key: str
    body: bytes


@dataclass(frozen=True)
class StreamSettings:
    """The message-shaping part of KinesisSettings / KafkaSettings (all flags default false)."""

    unformatted: bool = False
    include_transaction_details: bool = False
    include_partition_value: bool = False
    partition_include_schema_table: bool = False
    include_table_alter_operations: bool = False
    include_control_details: bool = False
    include_null_and_empty: bool = False

    @classmethod
    def from_endpoint(cls, settings: Mapping[str, Any]) -> "StreamSettings":
        fmt = str(settings.get("MessageFormat") or "json").lower().replace("_", "-")
        if fmt not in ("json", "json-unformatted"):
            raise ValueError(f"MessageFormat {settings.get('MessageFormat')!r} is not supported")
        return cls(
            unformatted=fmt == "json-unformatted",
            include_transaction_details=bool(settings.get("IncludeTransactionDetails")),
            include_partition_value=bool(settings.get("IncludePartitionValue")),
            partition_include_schema_table=bool(settings.get("PartitionIncludeSchemaTable")),
            include_table_alter_operations=bool(settings.get("IncludeTableAlterOperations")),
            include_control_details=bool(settings.get("IncludeControlDetails")),
            include_null_and_empty=bool(settings.get("IncludeNullAndEmpty")),
        )


def table_def(table: Table) -> dict[str, Any]:
    """The `table-def` of a control record: columns with type/length/nullable, primary key."""
    columns = {}
    for c in table.columns:
        col: dict[str, Any] = {"type": c.dms_type}
        for attr in ("length", "precision", "scale"):
            if getattr(c, attr) is not None:
                col[attr] = getattr(c, attr)
        col["nullable"] = c.nullable
        columns[c.name] = col
    return {"columns": columns, "primary-key": list(table.primary_key)}


class MessageBuilder:
    """Builds a task's stream messages; keeps the previous transaction for its metadata."""

    def __init__(
        self,
        ctx: TaskContext,
        endpoint_settings: Mapping[str, Any],
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.ctx = ctx
        self.settings = StreamSettings.from_endpoint(endpoint_settings)
        self.clock = clock
        before = ctx.settings.get("BeforeImageSettings") or {}
        self.before_image = bool(before.get("EnableBeforeImage"))
        self.before_field = str(before.get("FieldName") or "before-image")
        self.before_filter = str(before.get("ColumnFilter") or "pk-only")
        apply = ctx.settings.get("TargetMetadata") or {}
        self.parallel_apply = int(apply.get("ParallelApplyThreads") or 0) > 0
        self._prev_txn = (0, 0)

    def load(self, table: Table, row: Row) -> Message:
        return self._data(RowChange("load", table, row), None, 0)

    def transaction(self, txn: Transaction) -> list[Message]:
        out = [self._data(ch, txn, i) for i, ch in enumerate(txn.changes, start=1)]
        self._prev_txn = (txn.xid, len(txn.changes))
        return out

    def create_table(self, table: Table) -> Message:
        return self._control("create-table", table)

    def schema_change(self, change: SchemaChange) -> Message | None:
        """A control record, or None when the settings leave this DDL out."""
        if change.operation != "create-table" and not self.settings.include_table_alter_operations:
            return None
        return self._control(change.operation, change.table)

    # -- data records -------------------------------------------------------

    def _data(self, change: RowChange, txn: Transaction | None, record_id: int) -> Message:
        table, rule = change.table, self.ctx.mapping.object_mapping(change.table)
        record = self._record(table, change.row, rule)
        key_type, key = self._partition(table, change.row, record, rule)
        body: dict[str, Any] = {"data": record}
        if rule and rule.get("rule-action") == "map-record-to-document":
            body = {"data": {"_doc": record}}
        before = self._before(change)
        if before is not None:
            body[self.before_field] = before
        meta: dict[str, Any] = {
            "timestamp": iso(self.clock()),
            "record-type": "data",
            "operation": change.op,
            "partition-key-type": key_type,
        }
        if self.settings.include_partition_value and key_type != "schema-table":
            meta["partition-key-value"] = key
        meta["schema-name"] = table.schema
        meta["table-name"] = (rule or {}).get("target-table-name") or table.name
        if txn is not None and self.settings.include_transaction_details:
            meta["transaction-id"] = txn.xid
            meta["transaction-record-id"] = record_id
            meta["prev-transaction-id"], meta["prev-transaction-record-id"] = self._prev_txn
            meta["commit-timestamp"] = iso(txn.commit_ts)
            meta["stream-position"] = txn.position
        body["metadata"] = meta
        return Message(table, key, self._encode(body))

    def _values(self, columns: tuple[Column, ...], row: Row) -> dict[str, Any]:
        keep_all = self.settings.include_null_and_empty
        return {
            c.name: typed(c, row[c.name])
            for c in columns
            if c.name in row and (keep_all or row[c.name] not in (None, ""))
        }

    def _record(self, table: Table, row: Row, rule: Mapping[str, Any] | None) -> dict[str, Any]:
        params = (rule or {}).get("mapping-parameters") or {}
        drop = excluded(params)
        columns = tuple(c for c in table.columns if c.name.casefold() not in drop)
        record = self._values(columns, row)
        for name, value in attribute_mappings(params):
            record[name] = fill(value, row)
        return record

    def _partition(
        self, table: Table, row: Row, record: dict[str, Any], rule: Mapping[str, Any] | None
    ) -> tuple[str, str]:
        params = (rule or {}).get("mapping-parameters") or {}
        constant = params.get("partition-key") or (rule or {}).get("partition-key")
        if constant:
            return "constant", substitute(str(constant["value"]), row)
        kind = params.get("partition-key-type")
        if kind == "attribute-name":
            return kind, str(lookup(record, str(params["partition-key-name"])))
        wants_pk = kind == "primary-key" or (kind is None and self.parallel_apply)
        if wants_pk and table.primary_key:
            value = ".".join(str(lookup(row, k)) for k in table.primary_key)
            if self.settings.partition_include_schema_table:
                value = f"{table.schema}.{table.name}.{value}"
            return "primary-key", value
        if kind not in (None, "schema-table", "primary-key"):
            raise MappingError(f"partition-key-type {kind!r} is not supported")
        return "schema-table", f"{table.schema}.{table.name}"

    def _before(self, change: RowChange) -> dict[str, Any] | None:
        if not self.before_image or change.op != "update":
            return None
        table = change.table
        before = change.before or {k: change.row[k] for k in table.primary_key if k in change.row}
        if self.before_filter == "pk-only":
            columns = tuple(table.column(k) for k in table.primary_key)
        elif self.before_filter == "non-lob":
            columns = tuple(c for c in table.columns if c.dms_type not in LOB_TYPES)
        else:
            columns = table.columns
        return self._values(columns, before)

    # -- control records ----------------------------------------------------

    def _control(self, operation: str, table: Table) -> Message:
        body: dict[str, Any] = {}
        if self.settings.include_control_details:
            body["control"] = {"table-def": table_def(table)}
        body["metadata"] = {
            "timestamp": iso(self.clock()),
            "record-type": "control",
            "operation": operation,
            "partition-key-type": "task-id",
            "schema-name": table.schema,
            "table-name": table.name,
        }
        return Message(table, self.ctx.task_id, self._encode(body))

    def _encode(self, body: dict[str, Any]) -> bytes:
        if self.settings.unformatted:
            text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        else:
            text = json.dumps(body, ensure_ascii=False, indent="\t")
        return text.encode()
