"""Observe a DynamoDB read-model table without a stream: consistent-read sampling."""

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.aws import AwsAccess
from harness.load.ledger import Entity
from harness.observe.base import SnapshotRow
from harness.observe.dynamodb_items import READ_MODEL, ItemLayout, deserialize
from harness.observe.polling import POLL_INTERVAL_S, PollingObserver
from harness.read_model import (
    KEY_ATTRIBUTE,
    TOMBSTONE_ATTRIBUTE,
    VERSION_ATTRIBUTE,
    entity_of,
    is_tombstone,
    item_key,
)

BATCH_GET_KEYS = 100
"""BatchGetItem's limit of keys per call."""
_UNPROCESSED_RETRIES = 4
_UNPROCESSED_PAUSE_S = 0.05


def scan_versions(client: Any, table: str) -> dict[Entity, int]:
    """Every live item's version by a paginated consistent Scan; tombstones count as absent."""
    versions: dict[Entity, int] = {}
    pages = client.get_paginator("scan").paginate(
        TableName=table,
        ConsistentRead=True,
        ProjectionExpression="#k, #v, #t",
        ExpressionAttributeNames={
            "#k": KEY_ATTRIBUTE,
            "#v": VERSION_ATTRIBUTE,
            "#t": TOMBSTONE_ATTRIBUTE,
        },
    )
    for page in pages:
        for item in page["Items"]:
            if not is_tombstone(item):
                versions[entity_of(item[KEY_ATTRIBUTE]["S"])] = int(item[VERSION_ATTRIBUTE]["N"])
    return versions


def scan_rows(client: Any, table: str, layout: ItemLayout = READ_MODEL) -> list[SnapshotRow]:
    """Every item, tombstones included, by a paginated consistent Scan."""
    pages = client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    return [layout.snapshot_row(item) for page in pages for item in page["Items"]]


class DynamoDBScanObserver(PollingObserver):
    """Samples a read-model table by consistent Scan (versions) and BatchGetItem (rows)."""

    def __init__(
        self,
        projection: str,
        log_path: Path,
        aws: AwsAccess,
        table: str,
        interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        super().__init__(projection, log_path, interval_s)
        self.table = table
        self._dynamodb = aws.client("dynamodb")

    def read_versions(self) -> dict[Entity, int]:
        return scan_versions(self._dynamodb, self.table)

    def snapshot(self) -> list[SnapshotRow]:
        return scan_rows(self._dynamodb, self.table)

    def read_rows(self, entities: Iterable[Entity]) -> dict[Entity, dict[str, Any]]:
        keys = [{KEY_ATTRIBUTE: {"S": item_key(*entity)}} for entity in entities]
        rows: dict[Entity, dict[str, Any]] = {}
        for start in range(0, len(keys), BATCH_GET_KEYS):
            for item in self._batch_get(keys[start : start + BATCH_GET_KEYS]):
                if not is_tombstone(item):
                    rows[entity_of(item[KEY_ATTRIBUTE]["S"])] = deserialize(item)
        return rows

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items of up to 100 keys, retrying unprocessed keys with a growing pause; keys
        still unprocessed after that are left out (the next poll reads them again)."""
        items: list[dict[str, Any]] = []
        request = {self.table: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(_UNPROCESSED_RETRIES + 1):
            if attempt:
                time.sleep(_UNPROCESSED_PAUSE_S * 2 ** (attempt - 1))
            response = self._dynamodb.batch_get_item(RequestItems=request)
            items += response["Responses"].get(self.table, [])
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
        return items
