"""The ledger: every change the load generator made, committed or aborted.

Each key's versions only grow. A delete takes the next version (a tombstone), and
an aborted change consumes its version too, so (table, key, version) names
exactly one change.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.records import RecordWriter, read_records

Entity = tuple[str, str]
"""(table, primary key as text)."""

COMMITTED = "committed"
ABORTED = "aborted"


@dataclass(frozen=True, slots=True)
class Change:
    table: str
    key: str
    version: int
    op: str
    """insert | update | delete"""
    status: str
    """committed | aborted"""
    intended_ns: int
    """When the schedule meant the change to start (coordinated-omission-free reference)."""
    acked_ns: int
    """When the database acknowledged the commit (or the rollback)."""
    txid: int
    digest: str
    """Digest of the row image written ("" for deletes)."""

    @property
    def entity(self) -> Entity:
        return (self.table, self.key)


def row_digest(row: dict[str, Any]) -> str:
    """A short digest of a row image, independent of column order and value types' repr."""
    canonical = json.dumps(row, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def ledger_writer(path: Path) -> RecordWriter[Change]:
    return RecordWriter(path, Change)


def read_ledger(path: Path) -> list[Change]:
    return list(read_records(path, Change))


def final_state(changes: list[Change]) -> dict[Entity, Change]:
    """The last committed change of every entity the ledger touched."""
    last: dict[Entity, Change] = {}
    for change in changes:
        if change.status != COMMITTED:
            continue
        seen = last.get(change.entity)
        if seen is None or change.version > seen.version:
            last[change.entity] = change
    return last
