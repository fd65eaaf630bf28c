"""`direct`: the application writes the read model itself after commit — the measurement floor."""

from typing import Any

from harness.load.ledger import Change
from harness.patterns.base import Pattern, PostCommit, Projection
from harness.patterns.read_model import KEY_ATTRIBUTE, item_key, to_item
from harness.targets.base import AwsAccess


def _write_read_model(outputs: dict[str, Any], aws: AwsAccess) -> PostCommit:
    table_name = outputs["read_model_table"]
    dynamodb = aws.client("dynamodb")

    def write(change: Change, row: dict[str, Any] | None) -> None:
        if row is None:
            key = {KEY_ATTRIBUTE: {"S": item_key(change.table, change.key)}}
            dynamodb.delete_item(TableName=table_name, Key=key)
        else:
            dynamodb.put_item(TableName=table_name, Item=to_item(change.table, change.key, row))

    return write


PATTERN = Pattern(
    name="direct",
    summary="the load generator commits, then writes the DynamoDB read model itself (the floor)",
    module="direct",
    projections=(
        Projection(
            name="read_model",
            kind="state",
            observer="dynamodb_stream",
            resources={"table": "read_model_table", "stream_arn": "read_model_stream_arn"},
        ),
    ),
    post_commit=_write_read_model,
)
