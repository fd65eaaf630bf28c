"""The item layout of DynamoDB read models: `pk` = "<table>#<key>", `version`, then the columns.

A writer whose changes can arrive out of order keeps deleted rows as tombstones
(`pk`, `version` = deleted version + 1, `tombstone` = true) and writes only over an
older version, so a late write can neither resurrect a row nor roll it back.
Writers (the `direct` pattern's application, projector functions) and the observer share
it.
"""

from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeSerializer

KEY_ATTRIBUTE = "pk"
VERSION_ATTRIBUTE = "version"
TOMBSTONE_ATTRIBUTE = "tombstone"
NEWER_ONLY = "attribute_not_exists(#v) OR #v < :v"
"""Condition for a versioned write (names `#v` = version, values `:v` = the new version)."""

_serializer = TypeSerializer()


def item_key(table: str, key: str) -> str:
    return f"{table}#{key}"


def entity_of(pk: str) -> tuple[str, str]:
    """(table, key) of a read-model partition key."""
    table, _, key = pk.partition("#")
    return table, key


def to_item(table: str, key: str, row: dict[str, Any]) -> dict[str, Any]:
    """A row image as a low-level DynamoDB item: NULL columns are left out, timestamps
    become ISO-8601 strings, numerics stay exact (DynamoDB numbers)."""
    item = {KEY_ATTRIBUTE: item_key(table, key), **row}
    return {
        name: _serializer.serialize(value.isoformat() if isinstance(value, datetime) else value)
        for name, value in item.items()
        if value is not None
    }


def tombstone(table: str, key: str, version: int) -> dict[str, Any]:
    """The item left for a deleted row; `version` is the delete's (deleted version + 1)."""
    return to_item(table, key, {VERSION_ATTRIBUTE: version, TOMBSTONE_ATTRIBUTE: True})


def is_tombstone(item: dict[str, Any]) -> bool:
    return bool(item.get(TOMBSTONE_ATTRIBUTE, {}).get("BOOL"))
