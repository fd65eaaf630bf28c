"""The correct projector: DMS row changes from MSK into the DynamoDB read model.

Every change is a conditional PutItem (one per record, in order) that goes in only over an
older version: a row image for load/insert/update, a tombstone for a delete. A late or
duplicated message is thus superseded (ConditionalCheckFailed: skipped, not an error) and can
neither roll a row back nor resurrect a deleted one, so retrying a failed batch is safe.
Anything else that fails (a message that is not a DMS row change with its key and version, a
DynamoDB error) is raised for the Lambda runtime to retry and report.

Environment: READ_MODEL_TABLE (required), TABLES (default "widgets,orders").
"""

from typing import Any

from dms_changes import Settings, changes, dynamodb, record_count
from read_model_items import put_newer


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Project the event's changes; how many records it had, wrote and found superseded."""
    settings = Settings.from_env()
    client = dynamodb()
    written = superseded = 0
    for change in changes(event, settings.tables):
        item = change.tombstone() if change.deleted else change.row_item()
        if put_newer(client, settings.read_model_table, item):
            written += 1
        else:
            superseded += 1
    return {"records": record_count(event), "written": written, "superseded": superseded}
