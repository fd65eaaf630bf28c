"""The naive projector of the seed's sample: every DMS data message is an unconditional
PutItem of its row image (control records are skipped so it does not crash).

Defects it shows in the read model:
- resurrected rows: a delete is put back as the deleted row's image, so deleted rows stay
  (and a late update of a deleted row writes it again);
- stale rows: with no version guard, a late or duplicated message of an older version
  (a redelivered batch, a retry) overwrites the newer row.

Environment: READ_MODEL_TABLE (required), TABLES (default "widgets,orders").
"""

from typing import Any

from dms_changes import Settings, changes, dynamodb, record_count


def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    """Put every change's row image; how many records the event had and how many it wrote."""
    settings = Settings.from_env()
    client = dynamodb()
    written = 0
    for change in changes(event, settings.tables):
        client.put_item(TableName=settings.read_model_table, Item=change.row_item())
        written += 1
    return {"records": record_count(event), "written": written}
