"""The projector: change events from the Kinesis stream into the DynamoDB read model.

Every change is a conditional PutItem (one per record, in shard order) that goes in only
over an older version (`read_model_items`): the new row image for insert/update, a
tombstone for a delete. A late, duplicated or reordered event is superseded
(ConditionalCheckFailed: skipped, not an error), so retries and the naive fan-in's
reordering cannot roll a row back or resurrect it. Anything else that fails (a record that
is not a change event with its key and version, a DynamoDB error) is raised for Lambda to
retry and report.

Environment: READ_MODEL_TABLE (required).
"""

import base64
import binascii
import os
from typing import Any

from change_events import ChangeEventError, decode
from read_model_items import (
    KEY_COLUMN,
    VERSION_COLUMN,
    MessageError,
    dynamodb,
    exact_numerics,
    put_newer,
    row_item,
    row_version,
    tombstone_item,
)


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Project the event's changes; how many records it had, wrote and found superseded."""
    table = os.environ.get("READ_MODEL_TABLE")
    if not table:
        raise RuntimeError("READ_MODEL_TABLE (the read model's DynamoDB table) is not set")
    client = dynamodb()
    written = superseded = 0
    for record in event["Records"]:
        if put_newer(client, table, item_of(record)):
            written += 1
        else:
            superseded += 1
    return {"records": len(event["Records"]), "written": written, "superseded": superseded}


def item_of(record: dict[str, Any]) -> dict[str, Any]:
    """The read-model item a Kinesis record's change event leaves."""
    source = f"{record.get('eventID')}"
    try:
        data = base64.b64decode(record["kinesis"]["data"], validate=True)
        change = decode(data, source)
    except (KeyError, binascii.Error, ChangeEventError) as exc:
        raise MessageError(f"{source}: not a change event record: {exc}") from None
    deleted = change["op"] == "delete"
    table, row = change["table"], change["old" if deleted else "new"]
    key = row.get(KEY_COLUMN)
    if key is None or key == "":
        raise MessageError(f"{source}: a {table} row without its key column {KEY_COLUMN!r}")
    where = f"{source}: {table} {key}"
    version = row_version(row.get(VERSION_COLUMN), deleted, where)
    if deleted:
        return tombstone_item(table, str(key), version)
    return row_item(table, str(key), exact_numerics(table, row, where))
