"""What a projection made of the source's schema change: did the added column arrive, from
which change on, and was anything lost or divergent around the DDL.

Judged by row digests, which cover an added column wherever it is not NULL
(`row_image`): a committed change whose image held the column (`Change.added`) and that
the projection showed with the ledger's digest carried the column; shown with another
digest, it arrived without it (or changed). Around the DDL (± `NEAR_DDL_S` of its
acknowledgement), a committed change is lost when the projection never showed it (an event
log) or showed neither it nor a later version of its row (a state projection, which may
skip versions, and need never hold a row the source deleted before it showed any of it),
and divergent when shown with another digest.
"""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from harness.check.divergent import SNAPSHOT_POSITION
from harness.check.protocol import Evidence
from harness.load.ledger import Change, Ledger
from harness.load.schema_change import SchemaChangeRecord
from harness.observe.base import Observations, SnapshotRows
from harness.records import Columns

NEAR_DDL_S = 5.0
ADD_COLUMN = "add-column"
"""DMS's control-record operation for a new column."""
_SLICE = 1 << 20
"""Images matched with the ledger at a time."""


class FirstCarried(BaseModel):
    table: str
    key: str
    version: int
    after_ddl_s: float
    """Its commit acknowledgement, in seconds after the DDL's."""
    position: str
    """Where the projection showed it first."""


class SchemaChangeOutcome(BaseModel):
    arrived: bool
    """Some change that held the column reached the projection with it."""
    carried: int
    """Changes that held the column and were shown with it."""
    stripped: int
    """Changes that held the column and were shown with another image (without it)."""
    first: FirstCarried | None = None
    lost_near_ddl: int
    divergent_near_ddl: int
    announced: bool | None = None
    """It carried an add-column control record (DMS stream messages); None where its format
    has no control records."""
    expected_arrival: bool = True
    """What the pattern's descriptor expects of this projection."""
    note: str = ""
    """The pattern's note on this projection: what AWS documents, or that it does not."""

    @property
    def as_expected(self) -> bool:
        return self.arrived == self.expected_arrival


def judge_schema_change(
    exact: bool,
    record: SchemaChangeRecord,
    evidence: Evidence,
    expected_arrival: bool = True,
    note: str = "",
    control_records: Mapping[str, int] | None = None,
) -> SchemaChangeOutcome:
    """`exact`: the projection shows each change itself (an event log of every change), so a
    change it skipped is lost even if a later version of its row shows. `control_records`:
    what the projection's observer counted, by operation (None where its format has no
    control records)."""
    ledger = Ledger.of(evidence.changes)
    images = (
        _Images(ledger, Observations.of(evidence.observations)),
        _Images(ledger, SnapshotRows.of(evidence.snapshot or ()), SNAPSHOT_POSITION),
    )
    committed = ledger.committed
    acked = ledger.numbers("acked_ns")
    holding = np.flatnonzero(committed & ledger.numbers("added"))
    near = np.flatnonzero(committed & (np.abs(acked - record.acked_ns) <= NEAR_DDL_S * 1e9))

    # a change that held the column: shown with the ledger's image (carried), or only with
    # others (stripped)
    shown = np.zeros(len(ledger), dtype=bool)
    carried = np.zeros(len(ledger), dtype=bool)
    for seen in images:
        shown[seen.change[seen.change >= 0]] = True
        carried[seen.change[seen.same]] = True
    holding_shown = shown[holding]
    holding_carried = holding[carried[holding]]
    first = None
    if len(holding_carried):
        change = int(holding_carried[np.argmin(acked[holding_carried])])  # the first of equals
        where = next(p for seen in images if (p := seen.first_position(change)) is not None)
        first = _first(ledger.records([change])[0], where, record)

    lost = divergent = 0
    digests = _digests(images, near)
    latest, skipped = ({}, set()) if exact else _latest(ledger, images, near)
    rows = ledger.entity[near].tolist()
    for index, row, change in zip(near.tolist(), rows, ledger.records(near), strict=True):
        if index not in digests:
            lost += row not in skipped and latest.get(row, 0) <= change.version
        elif change.op != "delete" and change.digest not in digests[index]:
            divergent += 1
    return SchemaChangeOutcome(
        arrived=first is not None,
        carried=len(holding_carried),
        stripped=int(np.count_nonzero(holding_shown & ~carried[holding])),
        first=first,
        lost_near_ddl=lost,
        divergent_near_ddl=divergent,
        expected_arrival=expected_arrival,
        note=note,
        announced=None if control_records is None else control_records.get(ADD_COLUMN, 0) > 0,
    )


class _Images:
    """The row images a log or a snapshot showed, placed against the ledger: the committed
    change each shows (`change`: its index, or -1; the ledger's rule: (table, key, version)
    names one) and whether with the ledger's image (`same`: the same digest)."""

    def __init__(self, ledger: Ledger, shown: Columns[Any], position: str | None = None) -> None:
        self.ledger, self.shown, self.position = ledger, shown, position
        self.entity = ledger.entity_of(shown)
        self.change = ledger.rows_of(self.entity, shown.numbers("version")).first
        self.same = np.zeros(len(shown), dtype=bool)
        digest = shown.texts("digest")
        for start in range(0, len(shown), _SLICE):  # a slice at a time: little held at once
            at = start + np.flatnonzero(self.change[start : start + _SLICE] >= 0)
            expected = ledger.texts("digest").take(pa.array(self.change[at]))
            same = pc.equal(expected, digest.take(pa.array(at)))
            self.same[at] = same.to_numpy(zero_copy_only=False)

    def first_position(self, change: int) -> str | None:
        """Where it first showed `change` with the ledger's image."""
        at = np.flatnonzero((self.change == change) & self.same)
        if not len(at):
            return None
        return self.position or self.shown.texts("position")[int(at[0])].as_py()

    def digests(self, changes: np.ndarray) -> list[tuple[int, str, str]]:
        """(change, digest, where) of every image of `changes`, in order."""
        at = np.flatnonzero(np.isin(self.change, changes))
        texts = self.shown.texts("digest").take(pa.array(at, pa.int64())).to_pylist()
        where = (
            [self.position] * len(at)
            if self.position
            else self.shown.texts("position").take(pa.array(at, pa.int64())).to_pylist()
        )
        return list(zip(self.change[at].tolist(), texts, where, strict=True))


def _digests(images: Sequence[_Images], changes: np.ndarray) -> dict[int, dict[str, str]]:
    """For each of `changes` shown: digest shown -> where first."""
    shown: dict[int, dict[str, str]] = {}
    for seen in images:
        for change, digest, where in seen.digests(changes):
            shown.setdefault(change, {}).setdefault(digest, where)
    return shown


def _latest(
    ledger: Ledger, images: Sequence[_Images], changes: np.ndarray
) -> tuple[dict[int, int], set[int]]:
    """For the rows (entities) of `changes`: the latest version shown of each row shown,
    and those the source deleted before anything of them was shown."""
    entities = np.unique(ledger.entity[changes])
    latest: dict[int, int] = {}
    for seen in images:
        at = np.flatnonzero(np.isin(seen.entity, entities))
        versions = seen.shown.numbers("version")[at]
        for entity, version in zip(seen.entity[at].tolist(), versions.tolist(), strict=True):
            latest[entity] = max(version, latest.get(entity, 0))
    gone = entities[ledger.deletes[ledger.last[entities]]].tolist()
    return latest, {entity for entity in gone if entity not in latest}


def _first(change: Change, position: str, record: SchemaChangeRecord) -> FirstCarried:
    return FirstCarried(
        table=change.table,
        key=change.key,
        version=change.version,
        after_ddl_s=round((change.acked_ns - record.acked_ns) / 1e9, 3),
        position=position,
    )


def describe(outcome: SchemaChangeOutcome) -> str:
    """One line for the run's summary."""
    first = outcome.first
    arrival = (
        f"arrived from {first.table} {first.key} v{first.version} "
        f"({first.after_ddl_s:+.1f} s after the DDL)"
        if first
        else "did not arrive"
    )
    expected = "" if outcome.as_expected else " (not as the pattern expects)"
    announced = {None: "", True: "; announced by a control record", False: "; no control record"}
    return (
        f"added column {arrival}{expected}{announced[outcome.announced]}; "
        f"{outcome.stripped} changes without it; within ±{NEAR_DDL_S:g} s of the DDL "
        f"{outcome.lost_near_ddl} lost, {outcome.divergent_near_ddl} divergent"
    )
