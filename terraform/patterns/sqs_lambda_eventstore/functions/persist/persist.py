"""The correct persisting function: each SQS message (one event of the application: one
changed row, see `event_table`) becomes one item of the event table, exactly once.

The item:

    RequestId  S  the event's requestId (the source transaction)
    Timestamp  S  "<timestamp>#<source>#<id>#<data.version>#<type>"
    Data       M  every column of `data`, typed: numbers N (exact: the body is parsed with
                  Decimal), text S, NULL NULL, booleans BOOL; none is dropped
    Id, Type, Source  S

- The sort key starts with the event's time, so a request's events (and each index's,
  which also sort by Timestamp) still come in time order; the row (source table and key) and
  its version and the operation after the time make it unique within a request (a delete's
  version is the deleted row's, so an update and a delete of one row in one transaction
  differ by the operation), where the article's bare second-resolution timestamp lets two
  events of one transaction in the same second overwrite each other.
  It is made only of the message, so a redelivered message maps to the same item.
- The put is conditional (attribute_not_exists): SQS delivers at least once, and a message
  received again finds its item and counts as persisted, without writing it twice.
- A message whose put fails otherwise, or that is not an event (not JSON, a field missing),
  is named in the partial batch response (ReportBatchItemFailures): only it returns to the
  queue, and after max_receive_count receives SQS moves it to the dead-letter queue. Should
  the mapping not read partial batch responses (REPORT_BATCH_ITEM_FAILURES = "false"), a
  failed message fails the whole invocation instead, so that no failed message is deleted;
  the batch's other messages are then received again and found persisted.

Environment: EVENT_TABLE, REPORT_BATCH_ITEM_FAILURES (default "true").
"""

import json
import os
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError
from event_table import dynamodb, table_name

TYPES = ("INSERT", "UPDATE", "DELETE")
FIELDS = ("requestId", "timestamp", "id", "type", "source")
"""The message's text fields, each required and non-empty."""
ALREADY_PERSISTED = "ConditionalCheckFailedException"

_serializer = TypeSerializer()


class NotAnEvent(ValueError):
    """A message body that is not an event; the text says why."""


class BatchFailed(RuntimeError):
    """Some messages failed and the mapping takes no partial batch response."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Persist each message of the batch; the partial batch response names those that
    failed (by messageId)."""
    table = table_name()
    failures = []
    for record in event["Records"]:
        message_id = record["messageId"]
        try:
            put(table, item(parse(record["body"])), message_id)
        except Exception as exc:
            print(f"message {message_id} not persisted: {exc}")
            failures.append({"itemIdentifier": message_id})
    if failures and os.environ.get("REPORT_BATCH_ITEM_FAILURES", "true") == "false":
        failed = ", ".join(f["itemIdentifier"] for f in failures)
        raise BatchFailed(f"{len(failures)} message(s) not persisted: {failed}")
    return {"batchItemFailures": failures}


def parse(body: str) -> dict[str, Any]:
    """The event a message body holds (numbers exact); NotAnEvent otherwise."""
    try:
        message = json.loads(body, parse_float=Decimal)
    except ValueError as exc:
        raise NotAnEvent(f"not a JSON document: {exc}") from None
    if not isinstance(message, dict):
        raise NotAnEvent("not a JSON object")
    for field in FIELDS:
        if not isinstance(message.get(field), str) or not message[field]:
            raise NotAnEvent(f"{field} must be non-empty text")
    if message["type"] not in TYPES:
        raise NotAnEvent(f"type must be one of {', '.join(TYPES)}, not {message['type']!r}")
    data = message.get("data")
    if not isinstance(data, dict):
        raise NotAnEvent("data must be an object")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise NotAnEvent("data.version must be a whole number")
    return message


def sort_key(message: dict[str, Any]) -> str:
    """ "<timestamp>#<source>#<id>#<version>#<type>": time first, unique per row change."""
    data, parts = message["data"], ("timestamp", "source", "id")
    return "#".join([*(message[p] for p in parts), str(data["version"]), message["type"]])


def item(message: dict[str, Any]) -> dict[str, Any]:
    """The event table's item (DynamoDB-typed) of an event."""
    return {
        "RequestId": {"S": message["requestId"]},
        "Timestamp": {"S": sort_key(message)},
        "Data": {"M": {k: _serializer.serialize(v) for k, v in message["data"].items()}},
        "Id": {"S": message["id"]},
        "Type": {"S": message["type"]},
        "Source": {"S": message["source"]},
    }


def put(table: str, new: dict[str, Any], message_id: str) -> None:
    """Put `new` unless its key is taken: then it was persisted before (a redelivery)."""
    try:
        dynamodb().put_item(
            TableName=table, Item=new, ConditionExpression="attribute_not_exists(RequestId)"
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != ALREADY_PERSISTED:
            raise
        print(f"message {message_id} was persisted before")
