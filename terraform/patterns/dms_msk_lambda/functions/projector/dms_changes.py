"""What both projectors share: the DMS row changes an MSK event carries, as read-model items
(`read_model_items` holds the item layout and the versioned write every projector shares).

Values stay as DMS's JSON carries them, except that numbers are kept exact: integers are
JSON numbers already, `numeric` columns come as text (so DMS loses no precision) and become
Decimal (DynamoDB numbers). Timestamps stay DMS's ISO-8601 text (UTC); json/jsonb columns
stay their JSON text, as DMS's own DynamoDB target keeps them.
"""

import base64
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from read_model_items import (
    KEY_ATTRIBUTE,
    KEY_COLUMN,
    NEWER_ONLY,
    NUMERIC_COLUMNS,
    TOMBSTONE_ATTRIBUTE,
    VERSION_ATTRIBUTE,
    VERSION_COLUMN,
    MessageError,
    dynamodb,
    exact_numerics,
    row_item,
    row_version,
    tombstone_item,
)

__all__ = [
    "KEY_ATTRIBUTE",
    "NEWER_ONLY",
    "NUMERIC_COLUMNS",
    "TOMBSTONE_ATTRIBUTE",
    "VERSION_ATTRIBUTE",
    "Change",
    "MessageError",
    "Settings",
    "changes",
    "decode",
    "dynamodb",
    "record_count",
]

DEFAULT_TABLES = "widgets,orders"

_OPERATIONS = {"load": False, "insert": False, "update": False, "delete": True}
"""DMS data operations -> whether it deletes the row."""


@dataclass(frozen=True)
class Settings:
    """The function's environment: READ_MODEL_TABLE and TABLES (comma-separated)."""

    read_model_table: str
    tables: frozenset[str]

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Settings":
        table = env.get("READ_MODEL_TABLE")
        if not table:
            raise RuntimeError("READ_MODEL_TABLE (the read model's DynamoDB table) is not set")
        tables = frozenset(t.strip() for t in env.get("TABLES", DEFAULT_TABLES).split(",")) - {""}
        if not tables:
            raise RuntimeError("TABLES names no source table")
        return cls(table, tables)


@dataclass(frozen=True)
class Change:
    """One row change of a DMS data message."""

    source: str
    """The Kafka record: "<topic>-<partition>@<offset>"."""
    table: str
    key: str
    version: int
    """The row's version; for a delete, the deleted row's."""
    deleted: bool
    row: dict[str, Any]
    """The row image (for a delete, the deleted row), numerics as Decimal."""

    def row_item(self) -> dict[str, Any]:
        """The row image as a low-level DynamoDB item."""
        return row_item(self.table, self.key, self.row)

    def tombstone(self) -> dict[str, Any]:
        """The item a delete leaves: version = the deleted version + 1."""
        return tombstone_item(self.table, self.key, self.version)


def changes(event: Mapping[str, Any], tables: frozenset[str]) -> Iterator[Change]:
    """The row changes of an MSK (or self-managed Kafka) event, partition by partition in
    offset order; control records and rows of tables outside `tables` are left out."""
    partitions = event.get("records")
    if not isinstance(partitions, Mapping):
        raise MessageError("not a Kafka event: no records by topic-partition")
    for partition, records in partitions.items():
        for record in records:
            source = f"{partition}@{record.get('offset')}"
            change = decode(record.get("value"), tables, source)
            if change is not None:
                yield change


def record_count(event: Mapping[str, Any]) -> int:
    """How many Kafka records the event carries (row changes or not)."""
    return sum(len(records) for records in event["records"].values())


def decode(value: Any, tables: frozenset[str], source: str) -> Change | None:
    """One Kafka record's base64 value as a DMS row change; None for control records and
    tables outside `tables`. Raises MessageError for anything else that is not a row change
    with its key and version."""
    document = _document(value, source)
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        raise MessageError(f"{source}: not a DMS message (no metadata)")
    if metadata.get("record-type") != "data":
        return None
    table = metadata.get("table-name")
    if table not in tables:
        return None
    operation = metadata.get("operation")
    if operation not in _OPERATIONS:
        raise MessageError(f"{source}: unknown DMS operation {operation!r}")
    data = document.get("data")
    if not isinstance(data, dict):
        raise MessageError(f"{source}: a DMS {operation} of {table} without its data")
    deleted = _OPERATIONS[operation]
    key = data.get(KEY_COLUMN)
    if key is None or key == "":
        raise MessageError(f"{source}: a {table} row without its key column {KEY_COLUMN!r}")
    where = f"{source}: {table} {key}"
    version = row_version(data.get(VERSION_COLUMN), deleted, where)
    row = exact_numerics(table, {**data, VERSION_COLUMN: version}, where)
    return Change(source, table, str(key), version, deleted, row)


def _document(value: Any, source: str) -> dict[str, Any]:
    if value is None:
        raise MessageError(f"{source}: a record without a value")
    try:
        document = json.loads(base64.b64decode(value, validate=True), parse_float=Decimal)
    except (TypeError, ValueError) as exc:  # base64, UTF-8 and JSON errors are ValueErrors
        raise MessageError(f"{source}: not a base64 JSON document: {exc}") from None
    if not isinstance(document, dict):
        raise MessageError(f"{source}: not a DMS message (a JSON object)")
    return document
