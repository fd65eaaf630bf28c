"""The application writes its DynamoDB read model itself after each commit (the `direct`
pattern: the measurement floor).

Concurrent writers finish their post-commit writes in any order, so each write is
conditional on the item's version being older, and deletes leave tombstones
(`harness.read_model`). A throttled write is retried until accepted: the transaction that
made it waits.
"""

import contextlib
import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.exceptions

from harness.apps import Hooks
from harness.aws import AwsAccess, backoff_s, throttled
from harness.load.ledger import Change
from harness.load.transactions import Image
from harness.read_model import NEWER_ONLY, VERSION_ATTRIBUTE, to_item, tombstone


def hooks(outputs: dict[str, Any], aws: AwsAccess, ledger_dir: Path) -> Hooks:
    """Writes to the root module's `read_model_table` after each commit."""
    table_name = outputs["read_model_table"]
    dynamodb = aws.client("dynamodb")

    def write(changes: list[Change], images: list[Image]) -> None:
        for change, row in zip(changes, images, strict=True):
            if row is None:
                item = tombstone(change.table, change.key, change.version)
            else:
                item = to_item(change.table, change.key, row)
            # a later version already there means this one was superseded: nothing to write
            with contextlib.suppress(dynamodb.exceptions.ConditionalCheckFailedException):
                _until_accepted(
                    dynamodb.put_item,
                    TableName=table_name,
                    Item=item,
                    ConditionExpression=NEWER_ONLY,
                    ExpressionAttributeNames={"#v": VERSION_ATTRIBUTE},
                    ExpressionAttributeValues={":v": {"N": str(change.version)}},
                )

    return Hooks(after_commit=write)


def _until_accepted(write: Callable[..., Any], **request: Any) -> None:
    """`write(**request)`, again after a backoff for as long as it is throttled, as DynamoDB
    asks of its writers."""
    for attempt in itertools.count():
        try:
            write(**request)
            return
        except botocore.exceptions.ClientError as exc:
            if not throttled(exc):
                raise
            time.sleep(backoff_s(attempt))
