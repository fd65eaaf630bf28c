"""Items of an event store table in the article's layout (Ippon's `event` table): `RequestId`
(the source transaction), `Timestamp`, `Id` (the row's key), `Type` (INSERT, UPDATE,
DELETE), `Source` (the table) and `Data` (the row, a map: typed values, or strings where the
writer stringified them). A delete's `Data` holds the deleted row's id and version."""

from dataclasses import dataclass
from typing import Any

from harness.load.row_image import row_digest
from harness.load.schema import VERSION_COLUMN
from harness.observe.base import RETRACTED, Observation
from harness.observe.dynamodb_items import deserialize

UNREADABLE = "unreadable"
"""The digest of a row image the item holds that its columns' kinds cannot read: it matches
no ledger digest, so the checker names it divergent."""


@dataclass(frozen=True, slots=True)
class Event:
    table: str
    key: str
    version: int
    """The change's ledger version (a delete's: the deleted version + 1)."""
    op: str
    digest: str
    txid: int

    def observation(
        self, projection: str, seen_ns: int, position: str, op: str = ""
    ) -> Observation:
        """Its sighting (or, with `op`, e.g. a retraction, that of another operation)."""
        return Observation(
            projection,
            self.table,
            self.key,
            self.version,
            op or self.op,
            seen_ns,
            position,
            self.digest,
            self.txid,
        )


def read_event(item: dict[str, Any]) -> Event:
    """The change an event item stands for (a low-level DynamoDB item)."""
    table, key, kind = item["Source"]["S"], item["Id"]["S"], item["Type"]["S"]
    data = deserialize(item.get("Data", {}).get("M", {}))
    deleted = kind == "DELETE"
    version = int(data.get(VERSION_COLUMN, 0)) + (1 if deleted else 0)
    if deleted:
        digest = ""
    else:
        try:
            digest = row_digest(table, data)
        except ValueError:
            digest = UNREADABLE
    txid = int(item["RequestId"]["S"]) if item["RequestId"]["S"].isdigit() else 0
    return Event(table, key, version, "delete" if deleted else "upsert", digest, txid)


def sightings(
    before: Event | None, after: Event | None, projection: str, seen_ns: int, position: str
) -> list[Observation]:
    """What a write of one item shows: nothing when it holds the same event as before (a
    rewrite), else the retraction of the event written over, if any, and the new one."""
    if before == after:
        return []
    gone = [] if before is None else [before.observation(projection, seen_ns, position, RETRACTED)]
    return gone + ([] if after is None else [after.observation(projection, seen_ns, position)])
