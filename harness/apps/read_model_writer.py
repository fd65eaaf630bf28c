"""The application writes its DynamoDB read model itself after each commit (the `direct`
pattern: the measurement floor).

Concurrent writers finish their post-commit writes in any order, so each write is
conditional on the item's version being older, and deletes leave tombstones
(`harness.read_model`).
"""

import contextlib
from typing import Any

from harness.apps import PostCommit
from harness.aws import AwsAccess
from harness.load.ledger import Change
from harness.read_model import NEWER_ONLY, VERSION_ATTRIBUTE, to_item, tombstone


def post_commit(outputs: dict[str, Any], aws: AwsAccess) -> PostCommit:
    """Writes to the root module's `read_model_table`."""
    table_name = outputs["read_model_table"]
    dynamodb = aws.client("dynamodb")

    def write(change: Change, row: dict[str, Any] | None) -> None:
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

    return write
