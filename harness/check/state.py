"""Compare a state projection's final contents with the ledger.

Classes: missing (a live row absent), stale (an older committed version),
resurrected (a deleted row present), extra (an entity the source never had),
phantom (a version the source never committed as a row: a delete's tombstone,
a version past the last, or an entity only ever written by aborted transactions).
Missing, stale and resurrected can be lag: if the projection had not converged
they make the result unknown, not false. Extra and phantom are wrong whatever
the lag.
"""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from harness.check.result import CheckResult, Validity
from harness.load.ledger import COMMITTED, Change, Entity, final_state

_ALWAYS_WRONG = ("extra", "phantom")


def check_state(
    changes: Sequence[Change],
    snapshot: dict[Entity, int],
    converged: bool,
    max_examples: int = 5,
) -> CheckResult:
    """`snapshot`: entity -> version the projection shows, read after convergence."""
    last = final_state(changes)
    rows: dict[Entity, set[int]] = defaultdict(set)
    for change in changes:
        if change.status == COMMITTED and change.op != "delete":
            rows[change.entity].add(change.version)
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def report(kind: str, entity: Entity, **detail: Any) -> None:
        found[kind].append({"table": entity[0], "key": entity[1], **detail})

    for entity, change in last.items():
        shown = snapshot.get(entity)
        if shown is None:
            if change.op != "delete":
                report("missing", entity, expected=change.version)
        elif shown not in rows[entity]:
            report("phantom", entity, expected=change.version, shown=shown)
        elif change.op == "delete":
            report("resurrected", entity, deleted_version=change.version - 1, shown=shown)
        elif shown < change.version:
            report("stale", entity, expected=change.version, shown=shown)
    touched = {change.entity for change in changes}
    for entity, shown in snapshot.items():
        if entity not in last:
            report("phantom" if entity in touched else "extra", entity, shown=shown)

    counts = {kind: len(cases) for kind, cases in found.items()}
    valid: Validity = True
    if any(kind in counts for kind in _ALWAYS_WRONG):
        valid = False
    elif counts:
        valid = False if converged else "unknown"
    if not converged:
        counts["unconverged"] = 1
    examples = {kind: cases[:max_examples] for kind, cases in found.items()}
    return CheckResult(valid=valid, counts=counts, examples=examples)
