"""The article's glue function, as a short fan-in is usually written: each DynamoDB Streams
record is put on the Kinesis stream with its own PutRecord call, under a partition key that
is unique per record (the stream record's eventID), and a failed put is logged and skipped.

What it costs:
- order: a row's changes are spread over every shard, so a reader of the stream (the
  projector, Firehose, any consumer) may see a row's changes out of order;
- loss: a put Kinesis rejects (throttling, a stream being resharded) is dropped for good,
  as the batch still succeeds;
- one request per change instead of up to 500.

Environment: STREAM_NAME, SOURCE_TABLES (see `settings`).
"""

from typing import Any

from change_events import change_event, encode
from settings import Settings, kinesis


def handler(event: dict[str, Any], context: Any) -> None:
    settings = Settings.from_env()
    for record in event["Records"]:
        try:
            kinesis().put_record(
                StreamName=settings.stream_name,
                Data=encode(change_event(record, settings.source_tables)),
                PartitionKey=record["eventID"],
            )
        except Exception as exc:
            print(f"could not put {record.get('eventID')}: {exc}")
