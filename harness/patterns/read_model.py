"""The item layout of DynamoDB read models: `pk` = "<table>#<key>", `version`, then the columns.

Writers (the `direct` pattern, projector functions) and the observer share it.
"""

from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeSerializer

KEY_ATTRIBUTE = "pk"
VERSION_ATTRIBUTE = "version"

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
