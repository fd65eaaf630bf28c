"""DMS's Kinesis and Kafka message format, `{"data": {...}, "metadata": {...}}`, decoded.

`record-type` control messages are control records (their `operation` says what changed
in the table's definition, e.g. add-column); `operation` load, insert and update are
upserts, delete a delete (its `data` is the deleted row: with a PostgreSQL source
only the key unless REPLICA IDENTITY FULL). The same messages reach S3 through the
MSK Connect sink, one per line.
"""

from typing import Any

from harness.observe.formats import Control, Decoded, decode_row, json_object

_ROW_OPERATIONS = {"load": False, "insert": False, "update": False, "delete": True}


def decode_message(message: bytes | str | dict[str, Any], source: str) -> Decoded | Control | None:
    """One DMS message (its JSON text, or parsed); `source` names it in errors."""
    document = json_object(message, source, "a DMS message")
    metadata = document.get("metadata") or {}
    if metadata.get("record-type") == "control":
        return Control(str(metadata.get("table-name")), str(metadata.get("operation")))
    if metadata.get("record-type") != "data":
        return None
    operation = metadata.get("operation")
    if operation not in _ROW_OPERATIONS:
        raise ValueError(f"{source}: unknown DMS operation {operation!r}")
    table = metadata.get("table-name")
    data = document.get("data")
    if not isinstance(table, str) or not isinstance(data, dict):
        raise ValueError(f"{source}: a DMS data message without table-name or data")
    return decode_row(table, data, _ROW_OPERATIONS[operation], source)
