"""The application writes its DynamoDB read model itself after each commit (the `direct`
pattern: the measurement floor).

Concurrent writers finish their post-commit writes in any order, so each write is
conditional on the item's version being older, and deletes leave tombstones
(`harness.read_model`).
"""

import contextlib
from pathlib import Path
from typing import Any

from harness.apps import Hooks
from harness.aws import AwsAccess
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
                dynamodb.put_item(
                    TableName=table_name,
                    Item=item,
                    ConditionExpression=NEWER_ONLY,
                    ExpressionAttributeNames={"#v": VERSION_ATTRIBUTE},
                    ExpressionAttributeValues={":v": {"N": str(change.version)}},
                )

    return Hooks(after_commit=write)
