"""`direct`: the application writes the read model itself after commit — the measurement floor.

Concurrent writers finish their post-commit writes in any order, so each write is
conditional on the item's version being older, and deletes leave tombstones.
"""

import contextlib
from typing import Any

from harness.aws import AwsAccess
from harness.load.ledger import Change
from harness.patterns.base import Pattern, PostCommit
from harness.patterns.read_model import (
    NEWER_ONLY,
    VERSION_ATTRIBUTE,
    read_model_projection,
    to_item,
    tombstone,
)


def _write_read_model(outputs: dict[str, Any], aws: AwsAccess) -> PostCommit:
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


PATTERN = Pattern(
    name="direct",
    summary="the load generator commits, then writes the DynamoDB read model itself (the floor)",
    module="direct",
    projections=(read_model_projection(),),
    post_commit=_write_read_model,
)
