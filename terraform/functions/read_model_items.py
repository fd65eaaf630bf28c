"""How cdcbench's projector functions write a DynamoDB read model. Each function folder that
needs it holds a link to this file, so its package carries a copy (stdlib and boto3 only).

It restates the item layout every cdcbench read-model writer shares (the harness's own is
`harness/read_model.py`): `pk` = "<table>#<id>", `version`, then every column of the row
(NULL columns left out); a deleted row leaves a tombstone (`pk`, `version` = deleted version
+ 1, `tombstone` = true). Writes that may arrive out of order or twice go in only over an
older version (`NEWER_ONLY`), so a late or repeated change can neither roll a row back nor
resurrect a deleted one.
"""

import functools
from collections.abc import Mapping
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
"""The source schema's numeric columns (carried as text so no precision is lost). Columns of
other tables keep the JSON type their message gives them."""

_serializer = TypeSerializer()


class MessageError(ValueError):
    """A record that is not a usable row change (the text names the record)."""


@functools.cache
def dynamodb() -> Any:
    """The DynamoDB client, made on first use (the SDK reads region and endpoint from the
    environment) and kept for later invocations."""
    return boto3.client("dynamodb")


def row_item(table: str, key: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A row image as a low-level read-model item."""
    return _item(table, key, row)


def tombstone_item(table: str, key: str, deleted_version: int) -> dict[str, Any]:
    """The item a delete leaves: version = the deleted version + 1."""
    return _item(table, key, {VERSION_ATTRIBUTE: deleted_version + 1, TOMBSTONE_ATTRIBUTE: True})


def put_newer(client: Any, table: str, item: dict[str, Any]) -> bool:
    """Write `item` unless the table holds its version or a newer one (False)."""
    try:
        client.put_item(
            TableName=table,
            Item=item,
            ConditionExpression=NEWER_ONLY,
            ExpressionAttributeNames={"#v": VERSION_ATTRIBUTE},
            ExpressionAttributeValues={":v": item[VERSION_ATTRIBUTE]},
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def row_version(value: Any, deleted: bool, where: str) -> int:
    """The row's version column as a whole number; MessageError naming `where` if absent or
    not a whole number (a delete carries it only with REPLICA IDENTITY FULL on the source)."""
    if value is None or value == "":
        hint = " (deletes carry the row only with REPLICA IDENTITY FULL on the source)"
        raise MessageError(f"{where} carries no {VERSION_COLUMN}{hint * deleted}")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise MessageError(f"{where}: {VERSION_COLUMN} {value!r} is not a whole number")


def exact_numerics(table: str, row: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The row with its numeric columns as Decimal (DynamoDB numbers)."""
    exact = dict(row)
    for column in NUMERIC_COLUMNS.get(table, ()):
        if exact.get(column) is not None:
            exact[column] = _number(exact[column], f"{where} {column}")
    return exact


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
