"""The change events of the `dms_ddb_streams_kinesis` pattern's event bus, decoded: one JSON
object per row change, `{"table", "op": insert|update|delete, "keys", "old", "new", ...}`,
with the row images as plain JSON (its fan-in function's `change_events` module writes them).
A delete's `old` image carries the deleted row's version (REPLICA IDENTITY FULL on the
source, NEW_AND_OLD_IMAGES on the tables' streams)."""

from typing import Any

from harness.observe.formats import Decoded, decode_row, json_object

_DELETES = {"insert": False, "update": False, "delete": True}


def decode_change_event(message: bytes | str | dict[str, Any], source: str) -> Decoded | None:
    """One change event (its JSON text, or parsed); `source` names it in errors."""
    event = json_object(message, source, "a change event")
    if event.get("op") not in _DELETES:
        raise ValueError(f"{source}: not a change event (an object with op insert|update|delete)")
    deleted = _DELETES[event["op"]]
    table, row = event.get("table"), event.get("old" if deleted else "new")
    if not isinstance(table, str) or not isinstance(row, dict):
        image = "old" if deleted else "new"
        raise ValueError(f"{source}: a change event without its table or {image} image")
    return decode_row(table, row, deleted, source)
