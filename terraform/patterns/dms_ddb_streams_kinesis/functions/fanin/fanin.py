"""The correct fan-in: every DynamoDB Streams record of a batch onto the Kinesis stream, with
each row's changes in order.

- Partition key "<table>#<id>": one row's changes land on one shard.
- PutRecords, at most one record per partition key per request: the Kinesis API reference
  says PutRecords does not keep a request's records in order, so a row's next change waits
  for the request after the one carrying its previous change.
- Records Kinesis rejects (throttled, internal failure) are sent again, in their row's order,
  with a growing pause, for up to `ATTEMPTS` requests.
- What still fails is reported as a partial batch response (ReportBatchItemFailures): the
  first unsent record's sequence number, so Lambda retries the batch from there. Records
  after it that did go out are sent again then: duplicates on the stream, never a gap or a
  reordering of a row's changes.

Environment: STREAM_NAME, SOURCE_TABLES (see `settings`).
"""

import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from change_events import change_event, encode, partition_key
from settings import Settings, kinesis

MAX_RECORDS = 500
MAX_REQUEST_BYTES = 5 * 1024 * 1024
"""PutRecords' limits per request."""
ATTEMPTS = 8
PAUSE_S = 0.05
"""First pause before sending rejected records again (doubling each time)."""


@dataclass(frozen=True)
class Entry:
    sequence_number: str
    request: dict[str, Any]
    """The PutRecords entry: Data, PartitionKey."""

    @property
    def size(self) -> int:
        return len(self.request["Data"]) + len(self.request["PartitionKey"].encode())


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Put the batch's changes on the stream; a partial batch response names where Lambda
    must resume if some could not be put."""
    settings = Settings.from_env()
    entries = []
    for record in event["Records"]:
        change = change_event(record, settings.source_tables)
        request = {"Data": encode(change), "PartitionKey": partition_key(change)}
        entries.append(Entry(record["dynamodb"]["SequenceNumber"], request))
    unsent = put_in_order(kinesis(), settings.stream_name, entries)
    failures = [{"itemIdentifier": unsent[0].sequence_number}] if unsent else []
    return {"batchItemFailures": failures}


def put_in_order(client: Any, stream: str, entries: list[Entry]) -> list[Entry]:
    """Send `entries`, each row's in order; the entries still unsent once ATTEMPTS requests
    in a row were rejected in part or whole, in batch order (empty when all went out)."""
    pending, failures = list(entries), 0
    while pending:
        request = next_request(pending)
        rejected = send(client, stream, request)
        sent = {id(entry) for entry in request} - rejected
        pending = [entry for entry in pending if id(entry) not in sent]
        if not rejected:
            failures = 0
            continue
        failures += 1
        if failures == ATTEMPTS:
            break
        time.sleep(PAUSE_S * 2 ** (failures - 1))
    return pending


def send(client: Any, stream: str, request: list[Entry]) -> set[int]:
    """One PutRecords request; the ids of its entries Kinesis did not take (all of them if
    the request failed as a whole)."""
    try:
        response = client.put_records(StreamName=stream, Records=[e.request for e in request])
    except ClientError as exc:
        print(f"PutRecords of {len(request)} records failed: {exc}")
        return {id(entry) for entry in request}
    return {
        id(entry)
        for entry, result in zip(request, response["Records"], strict=True)
        if result.get("ErrorCode")
    }


def next_request(pending: list[Entry]) -> list[Entry]:
    """The next request: pending entries in order, skipping any whose row already has an
    earlier entry pending, within PutRecords' limits."""
    request: list[Entry] = []
    rows: set[str] = set()
    size = 0
    for entry in pending:
        key = entry.request["PartitionKey"]
        if key in rows:
            continue
        rows.add(key)
        if request and (len(request) == MAX_RECORDS or size + entry.size > MAX_REQUEST_BYTES):
            break
        request.append(entry)
        size += entry.size
    return request
