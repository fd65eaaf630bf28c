"""The ledger: every change the load generator made, committed or aborted.

A key's committed versions are consecutive (1, 2, 3, ...) and a delete takes the
next one (a tombstone: the deleted row's version + 1), so any projection state or
event can be placed against the ledger, and a skipped version is a gap. An
aborted change carries the version it would have taken, which the key's next
committed change then takes: (table, key, version) names exactly one committed
change.

A key's version order is its commit order: each version is taken under the row
lock, so it commits after the one before it. The acknowledgement times are the
client's observations, not the database's order: concurrent users may see a key's
acknowledgements out of version order (see `Change.acked_ns`).
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from harness.load.clock import ClockOffset, read_offset
from harness.records import RecordWriter, process_writer, read_records

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
    """When the writing client saw the commit (or the rollback) acknowledged, on its host's
    wall clock: after the commit, by however long the answer took to reach the user. The
    database commits a key's versions in version order (each takes `version + 1` under
    the row lock), but concurrent users (or processes) each observe their own
    acknowledgement, so a key's later version may carry the earlier `acked_ns`, by up to
    the scheduling delay of the version before it (at most that change's own
    `acked_ns - intended_ns`). A key's changes are ordered by version, never by
    `acked_ns`."""
    txid: int
    digest: str
    """`row_image.row_digest` of the row image written ("" for deletes)."""
    added: bool = False
    """The row image holds a column the run added (`schema.register_added`), not NULL."""

    @property
    def entity(self) -> Entity:
        return (self.table, self.key)


def ledger_writer(directory: Path) -> RecordWriter[Change]:
    """A new ledger file for this process in `directory` (one per process and run)."""
    return process_writer(directory, "ledger", Change)


def read_ledger(directory: Path, reference: ClockOffset | None = None) -> list[Change]:
    """Every ledger file in `directory`, merged in commit-acknowledgement order (in which a
    key's versions may be out of version order: see `Change.acked_ns`). Given the harness
    host's offset `reference`, files written on other hosts are moved onto its clock by
    their own offsets."""
    changes: list[Change] = []
    for path in sorted(directory.glob("ledger-*.csv")):
        records = read_records(path, Change)
        writer = read_offset(path)
        if reference is None or writer is None or writer.host == reference.host:
            changes.extend(records)
            continue
        shift = writer.offset_ns - reference.offset_ns
        changes.extend(
            replace(c, intended_ns=c.intended_ns + shift, acked_ns=c.acked_ns + shift)
            for c in records
        )
    changes.sort(key=lambda c: c.acked_ns)
    return changes


def final_state(changes: Iterable[Change]) -> dict[Entity, Change]:
    """The last committed change of every entity the ledger touched."""
    last: dict[Entity, Change] = {}
    for change in changes:
        if change.status != COMMITTED:
            continue
        seen = last.get(change.entity)
        if seen is None or change.version > seen.version:
            last[change.entity] = change
    return last
