"""What both projectors share: the DMS row changes an MSK event carries, as read-model items.

The function runs alone in its Lambda package (stdlib and boto3 only), so this restates the
item layout every cdcbench read-model writer shares: `pk` = "<table>#<id>", `version`, then
every column of the row (NULL columns left out); a deleted row leaves a tombstone (`pk`,
`version` = deleted version + 1, `tombstone` = true). Writes that may arrive out of order go
in only over an older version (`NEWER_ONLY`).

Values stay as DMS's JSON carries them, except that numbers are kept exact: integers are
JSON numbers already, `numeric` columns come as text (so DMS loses no precision) and become
Decimal (DynamoDB numbers). Timestamps stay DMS's ISO-8601 text (UTC); json/jsonb columns
stay their JSON text, as DMS's own DynamoDB target keeps them.
"""

import base64
import functools
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import boto3
from boto3.dynamodb.types import TypeSerializer

KEY_ATTRIBUTE = "pk"
VERSION_ATTRIBUTE = "version"
TOMBSTONE_ATTRIBUTE = "tombstone"
NEWER_ONLY = "attribute_not_exists(#v) OR #v < :v"
"""Condition of a versioned write (names `#v` = version, values `:v` = the new version)."""

KEY_COLUMN = "id"
VERSION_COLUMN = "version"
"""Every source table's key and per-row version column."""
NUMERIC_COLUMNS = {"widgets": frozenset({"price"}), "orders": frozenset({"amount"})}
"""The source schema's numeric columns (DMS carries them as text). Columns of other tables
keep the JSON type DMS gives them."""
DEFAULT_TABLES = "widgets,orders"

_OPERATIONS = {"load": False, "insert": False, "update": False, "delete": True}
"""DMS data operations -> whether it deletes the row."""
_serializer = TypeSerializer()


class MessageError(ValueError):
    """A Kafka record that is not a usable DMS message (the text names the record)."""


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


@functools.cache
def dynamodb() -> Any:
    """The DynamoDB client, made on first use (the SDK reads region and endpoint from the
    environment) and kept for later invocations."""
    return boto3.client("dynamodb")


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
        return _item(self.table, self.key, self.row)

    def tombstone(self) -> dict[str, Any]:
        """The item a delete leaves: version = the deleted version + 1."""
        marker = {VERSION_ATTRIBUTE: self.version + 1, TOMBSTONE_ATTRIBUTE: True}
        return _item(self.table, self.key, marker)


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
    version = _version(data.get(VERSION_COLUMN), deleted, f"{source}: {table} {key}")
    row = {**data, VERSION_COLUMN: version}
    for column in NUMERIC_COLUMNS.get(table, ()):
        if row.get(column) is not None:
            row[column] = _number(row[column], f"{source}: {table} {key} {column}")
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


def _version(value: Any, deleted: bool, where: str) -> int:
    if value is None or value == "":
        hint = " (deletes carry the row only with REPLICA IDENTITY FULL on the source)"
        raise MessageError(f"{where} carries no {VERSION_COLUMN}{hint * deleted}")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise MessageError(f"{where}: {VERSION_COLUMN} {value!r} is not a whole number")


def _number(value: Any, where: str) -> Decimal:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise MessageError(f"{where}: {value!r} is not a number") from None
    if not number.is_finite():
        raise MessageError(f"{where}: {value!r} is not a finite number (DynamoDB has none)")
    return number


def _item(table: str, key: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
    item = {KEY_ATTRIBUTE: f"{table}#{key}", **attributes}
    return {name: _serializer.serialize(v) for name, v in item.items() if v is not None}
