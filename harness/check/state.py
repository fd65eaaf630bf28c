"""Compare a state projection's final contents with the ledger.

Classes: missing (a live row absent), stale (an older committed version),
resurrected (a deleted row present), extra (an entity the source never had),
phantom (a version the source never committed as a row: a delete's tombstone,
a version past the last, or an entity only ever written by aborted transactions).
Missing, stale and resurrected can be lag: if the projection had neither
converged nor settled they make the result unknown, not false. Extra and phantom
are wrong whatever the lag.

The ledger is read once (its last committed change per entity, as `final_state`
gives it); a snapshot showing exactly the live rows' last versions needs nothing
more. Otherwise a second read collects what the anomalies need: the committed row
versions of the entities shown at another version, and which of the entities
absent from the final state the ledger touched at all.
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from harness.check.protocol import Evidence
from harness.check.result import CheckResult, judge
from harness.load.ledger import COMMITTED, Change, Entity
from harness.observe.base import live_versions

_LAG_LIKE = ("missing", "stale", "resurrected")


def check_state(evidence: Evidence) -> CheckResult:
    """Judge `evidence.snapshot`, read after convergence; unknown without one. A projection
    that settled without converging has stopped changing past its floor (see `judge`)."""
    if evidence.snapshot is None:
        return CheckResult(valid="unknown")
    changes, snapshot = evidence.changes, live_versions(evidence.snapshot)
    tables, order = _last_changes(changes)
    expected = {
        (table, key): change.version
        for table, by_key in tables.items()
        for key, change in by_key.items()
        if change.op != "delete"
    }
    found: dict[str, list[dict[str, Any]]] = {}
    if expected != snapshot:
        last = {entity: tables[entity[0]][entity[1]] for entity in order}
        found = _anomalies(changes, snapshot, last)

    counts = {kind: len(cases) for kind, cases in found.items()}
    reached = evidence.convergence
    valid = judge(counts, _LAG_LIKE, reached.converged, reached.settled)
    examples = {kind: cases[: evidence.max_examples] for kind, cases in found.items()}
    return CheckResult(valid=valid, counts=counts, examples=examples)


def _last_changes(
    changes: Sequence[Change],
) -> tuple[dict[str, dict[str, Change]], list[Entity]]:
    """What `final_state(changes)` gives, in one tight pass: table -> key -> last committed
    change (no tuple built or hashed per change), and the entities in order of their first
    committed change (the order of final_state's dict)."""
    tables: dict[str, dict[str, Change]] = {}
    order: list[Entity] = []
    for change in changes:
        if change.status != COMMITTED:
            continue
        table = change.table
        by_key = tables.get(table)
        if by_key is None:
            by_key = tables[table] = {}
        key = change.key
        seen = by_key.get(key)
        if seen is None:
            by_key[key] = change
            order.append((table, key))
        elif change.version > seen.version:
            by_key[key] = change
    return tables, order


def _anomalies(
    changes: Sequence[Change], snapshot: dict[Entity, int], last: dict[Entity, Change]
) -> dict[str, list[dict[str, Any]]]:
    """Every case, by class, in the order of `last` then of `snapshot`."""
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

    def report(kind: str, entity: Entity, **detail: Any) -> None:
        found[kind].append({"table": entity[0], "key": entity[1], **detail})

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
    return found
