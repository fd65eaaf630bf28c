"""Compare a state projection's final contents with the ledger.

Classes: missing (a live row absent), stale (an older committed version),
resurrected (a deleted row present), extra (an entity the source never had),
phantom (a version the source never committed as a row: a delete's tombstone,
a version past the last, or an entity only ever written by aborted transactions).
Missing, stale and resurrected can be lag: if the projection had neither
converged nor settled they make the result unknown, not false. Extra and phantom
are wrong whatever the lag.

The ledger's last committed change per entity and the snapshot's rows are compared column
by column; a snapshot showing exactly the live rows' last versions needs nothing more.
Otherwise the entities shown otherwise (few, in a run worth judging) are judged one by one:
for them the ledger is read again for what the anomalies need, the committed row versions
of the entities shown at another version, and which of the entities absent from the final
state the ledger touched at all.
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.check.protocol import Evidence
from harness.check.result import CheckResult, judge
from harness.load.ledger import COMMITTED, Change, Entity, Ledger
from harness.observe.base import SnapshotRows

_LAG_LIKE = ("missing", "stale", "resurrected")


def check_state(evidence: Evidence) -> CheckResult:
    """Judge `evidence.snapshot`, read after convergence; unknown without one. A projection
    that settled without converging has stopped changing past its floor (see `judge`)."""
    if evidence.snapshot is None:
        return CheckResult(valid="unknown")
    ledger, rows = Ledger.of(evidence.changes), SnapshotRows.of(evidence.snapshot)
    found: dict[str, list[dict[str, Any]]] = {}
    committed: dict[str, list[int]] = {}
    live = _live(ledger, rows)
    wrong = _shown_otherwise(ledger, live)
    if len(wrong):
        changes = ledger.records(np.flatnonzero(np.isin(ledger.entity, wrong)))
        last = {
            (c.table, c.key): c
            for c in ledger.records(
                ledger.last[ledger.by_first_commit[np.isin(ledger.by_first_commit, wrong)]]
            )
        }
        found, committed = _anomalies(changes, _snapshot_of(rows, live, wrong), last)

    counts = {kind: len(cases) for kind, cases in found.items()}
    reached = evidence.convergence
    valid = judge(counts, _LAG_LIKE, reached.converged, reached.settled)
    examples = {kind: cases[: evidence.max_examples] for kind, cases in found.items()}
    return CheckResult(valid=valid, counts=counts, examples=examples, committed_ns=committed)


Live = tuple[np.ndarray, np.ndarray, np.ndarray]
"""What `_live` finds of a snapshot."""


def _live(ledger: Ledger, rows: SnapshotRows) -> Live:
    """The entities the snapshot shows as present, in order of their first row, with the
    version of the last row of each (`live_versions`) and the index of that first row."""
    present = np.flatnonzero(~rows.numbers("tombstone"))
    entity = ledger.entity_of(rows)[present]
    versions = rows.numbers("version")[present]
    shown, first = np.unique(entity, return_index=True)
    _, from_end = np.unique(entity[::-1], return_index=True)
    latest = versions[len(entity) - 1 - from_end]
    order = np.argsort(first, kind="stable")
    return shown[order], latest[order], present[first[order]]


def _shown_otherwise(ledger: Ledger, live: Live) -> np.ndarray:
    """The entities whose live version in the snapshot is not the last committed row version
    of the ledger (shown at another, absent, or present where the ledger has none)."""
    shown, latest, _ = live
    last = ledger.last
    final = np.flatnonzero(last >= 0)
    final = final[~ledger.deletes[last[final]]]  # the live rows
    size = max(ledger.entities, int(shown.max(initial=-1)) + 1)
    expected = np.zeros(size, dtype=np.int64)
    expected[final] = ledger.numbers("version")[last[final]]
    live, present = np.zeros(size, dtype=bool), np.zeros(size, dtype=bool)
    live[final], present[shown] = True, True
    wrong_shown = shown[~live[shown] | (expected[shown] != latest)]
    absent = final[~present[final]]
    return np.union1d(wrong_shown, absent)


def _snapshot_of(rows: SnapshotRows, live: Live, entities: np.ndarray) -> dict[Entity, int]:
    """`live_versions` of the snapshot, for `entities` only."""
    shown, latest, first = live
    wanted = np.isin(shown, entities)
    named = rows.records(first[wanted])
    return {(r.table, r.key): int(v) for r, v in zip(named, latest[wanted], strict=True)}


def _anomalies(
    changes: Sequence[Change], snapshot: dict[Entity, int], last: dict[Entity, Change]
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[int]]]:
    """Every case, by class, in the order of `last` then of `snapshot`; and when the last
    committed change of each case's entity was committed (an entity the ledger committed
    nothing of has none)."""
    # Shown at the last version of a live row: right, whatever else the ledger holds.
    # Shown otherwise: right only if it is a committed row version of the entity.
    suspects: set[Entity] = set()
    for entity, change in last.items():
        shown = snapshot.get(entity)
        if shown is not None and (change.op == "delete" or shown != change.version):
            suspects.add(entity)
    outside = [entity for entity in snapshot if entity not in last]
    rows: dict[Entity, set[int]] = defaultdict(set)
    touched: set[Entity] = set()
    if suspects or outside:
        wanted = set(outside)
        for change in changes:
            entity = (change.table, change.key)
            if entity in suspects:
                if change.status == COMMITTED and change.op != "delete":
                    rows[entity].add(change.version)
            elif entity in wanted:
                touched.add(entity)

    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    committed: dict[str, list[int]] = defaultdict(list)

    def report(kind: str, entity: Entity, **detail: Any) -> None:
        found[kind].append({"table": entity[0], "key": entity[1], **detail})
        if entity in last:
            committed[kind].append(last[entity].acked_ns)

    for entity, change in last.items():
        shown = snapshot.get(entity)
        if shown is None:
            if change.op != "delete":
                report("missing", entity, expected=change.version)
        elif entity not in suspects:
            continue
        elif shown not in rows[entity]:
            report("phantom", entity, expected=change.version, shown=shown)
        elif change.op == "delete":
            report("resurrected", entity, deleted_version=change.version - 1, shown=shown)
        elif shown < change.version:
            report("stale", entity, expected=change.version, shown=shown)
    for entity in outside:
        report("phantom" if entity in touched else "extra", entity, shown=snapshot[entity])
    return dict(found), dict(committed)
