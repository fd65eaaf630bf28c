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

import itertools
from collections.abc import Mapping

from pydantic import BaseModel

from harness.check.divergent import SNAPSHOT_POSITION
from harness.check.protocol import Evidence
from harness.load.ledger import COMMITTED, Change, final_state
from harness.load.schema_change import SchemaChangeRecord

NEAR_DDL_S = 5.0
ADD_COLUMN = "add-column"
"""DMS's control-record operation for a new column."""
_Version = tuple[str, str, int]


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
    near_ns = NEAR_DDL_S * 1e9
    committed = [c for c in evidence.changes if c.status == COMMITTED]
    holding = [c for c in committed if c.added]
    near = [c for c in committed if abs(c.acked_ns - record.acked_ns) <= near_ns]
    shown, latest = _shown(evidence, {(c.table, c.key, c.version) for c in (*holding, *near)})
    skipped: set[tuple[str, str]] = set()
    if exact:
        latest = {}
    else:
        gone = {e for e, c in final_state(committed).items() if c.op == "delete"}
        skipped = gone - latest.keys()

    carried: list[tuple[Change, str]] = []
    stripped = 0
    for change in holding:
        digests = shown.get((change.table, change.key, change.version))
        if digests is None:
            continue
        if change.digest in digests:
            carried.append((change, digests[change.digest]))
        else:
            stripped += 1
    lost = divergent = 0
    for change in near:
        digests = shown.get((change.table, change.key, change.version))
        if digests is None:
            lost += change.entity not in skipped and latest.get(change.entity, 0) <= change.version
        elif change.op != "delete" and change.digest not in digests:
            divergent += 1
    first = min(carried, key=lambda seen: seen[0].acked_ns, default=None)
    return SchemaChangeOutcome(
        arrived=bool(carried),
        carried=len(carried),
        stripped=stripped,
        first=None if first is None else _first(first[0], first[1], record),
        lost_near_ddl=lost,
        divergent_near_ddl=divergent,
        expected_arrival=expected_arrival,
        note=note,
        announced=None if control_records is None else control_records.get(ADD_COLUMN, 0) > 0,
    )


def _shown(
    evidence: Evidence, wanted: set[_Version]
) -> tuple[dict[_Version, dict[str, str]], dict[tuple[str, str], int]]:
    """For the versions wanted, digest shown -> where first; and each row's latest version
    shown. From the observations and the final snapshot, in one pass."""
    shown: dict[_Version, dict[str, str]] = {}
    latest: dict[tuple[str, str], int] = {}
    images = itertools.chain(
        (((o.table, o.key, o.version), o.digest, o.position) for o in evidence.observations),
        (
            ((r.table, r.key, r.version), r.digest, SNAPSHOT_POSITION)
            for r in evidence.snapshot or ()
        ),
    )
    for version, digest, position in images:
        if version in wanted:
            shown.setdefault(version, {}).setdefault(digest, position)
        row = version[:2]
        latest[row] = max(version[2], latest.get(row, 0))
    return shown, latest


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
