"""The persisting functions' environment and DynamoDB client.

The application sends one JSON message per changed row of a source transaction:

    {"requestId": "<source transaction id>", "timestamp": "2026-12-02T07:00:00Z",
     "id": "<the row's primary key>", "type": "INSERT" | "UPDATE" | "DELETE",
     "source": "widgets" | "orders", "data": {"id": 7, "version": 3, ...}}

`data` is the row, flat: numbers as JSON numbers, timestamps ISO-8601 text, jsonb columns
their JSON text, NULL as null; a DELETE's is {"id", "version"} of the deleted row.
"""

import functools
import os
from typing import Any

import boto3


def table_name() -> str:
    """EVENT_TABLE: the DynamoDB table events are persisted into."""
    name = os.environ.get("EVENT_TABLE")
    if not name:
        raise RuntimeError("EVENT_TABLE (the DynamoDB table to persist events into) is not set")
    return name


@functools.cache
def dynamodb() -> Any:
    """The DynamoDB client, made on first use and kept for later invocations."""
    return boto3.client("dynamodb")
