"""The change events this pattern puts on its Kinesis stream: one JSON object per row change
of any source table, made from a DynamoDB Streams record of that table's copy. Both the
fan-in functions (which write them) and the projector (which reads them) link this file.

    {"table": "widgets", "op": "insert" | "update" | "delete",
     "keys": {"id": 7}, "old": {...} | null, "new": {...} | null,
     "event_id": ..., "sequence_number": ..., "approximate_creation_time": 1764662400}

`old` and `new` are the item images as plain JSON (NEW_AND_OLD_IMAGES): a column DMS adds
to the items appears in them without any change here. Whole numbers are JSON numbers;
other numbers are their exact decimal text (as DMS's own JSON carries NUMERIC), binary
values base64 text, sets sorted lists.
"""

import base64
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer

OPERATIONS = {"INSERT": "insert", "MODIFY": "update", "REMOVE": "delete"}
"""DynamoDB Streams eventName -> the change event's op."""

_deserializer = TypeDeserializer()


class ChangeEventError(ValueError):
    """A record that cannot be (or does not hold) a change event; the text names it."""


def table_of(stream_arn: str) -> str:
    """The DynamoDB table a stream ARN belongs to (arn:...:table/<name>/stream/<label>)."""
    resource = stream_arn.split(":", 5)[-1]
    parts = resource.split("/")
    if len(parts) < 2 or parts[0] != "table":
        raise ChangeEventError(f"{stream_arn!r} is not a DynamoDB stream ARN")
    return parts[1]


def change_event(record: Mapping[str, Any], source_tables: Mapping[str, str]) -> dict[str, Any]:
    """The change event of one DynamoDB Streams record (as Lambda delivers it);
    `source_tables` maps each DynamoDB table name to its source table."""
    stream = record.get("dynamodb") or {}
    where = f"stream record {record.get('eventID')}"
    copy = table_of(str(record.get("eventSourceARN", "")))
    if copy not in source_tables:
        raise ChangeEventError(f"{where}: table {copy!r} is not in SOURCE_TABLES")
    op = OPERATIONS.get(str(record.get("eventName")))
    if op is None:
        raise ChangeEventError(f"{where}: unknown eventName {record.get('eventName')!r}")
    return {
        "table": source_tables[copy],
        "op": op,
        "keys": plain(stream.get("Keys") or {}),
        "old": plain(stream["OldImage"]) if "OldImage" in stream else None,
        "new": plain(stream["NewImage"]) if "NewImage" in stream else None,
        "event_id": record.get("eventID"),
        "sequence_number": stream.get("SequenceNumber"),
        "approximate_creation_time": stream.get("ApproximateCreationDateTime"),
    }


def partition_key(event: Mapping[str, Any]) -> str:
    """ "<table>#<key values>": every change of one row goes to one shard, in order."""
    keys = event["keys"]
    return "#".join([event["table"], *(str(keys[name]) for name in sorted(keys))])


def encode(event: Mapping[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def decode(data: bytes | str, source: str) -> dict[str, Any]:
    """A change event from its JSON text; ChangeEventError naming `source` otherwise."""
    try:
        event = json.loads(data, parse_float=Decimal)
    except ValueError as exc:
        raise ChangeEventError(f"{source}: not a JSON document: {exc}") from None
    if not isinstance(event, dict) or event.get("op") not in OPERATIONS.values():
        raise ChangeEventError(f"{source}: not a change event (an object with op)")
    image = event.get("old" if event["op"] == "delete" else "new")
    if not isinstance(event.get("table"), str) or not isinstance(image, dict):
        raise ChangeEventError(f"{source}: a change event without its table or row image")
    return event


def plain(image: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB-typed item image as plain JSON values."""
    return {name: _plain(_deserializer.deserialize(value)) for name, value in image.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, Binary):
        return base64.b64encode(bytes(value.value)).decode()
    return value
