"""Compare a state projection's final contents with the ledger's final state.

Classes: missing (a live row absent), stale (an older version), resurrected (a
deleted row present), extra (an entity the source never had), phantom (a
version the source never committed, e.g. an aborted one). Missing, stale and
resurrected can be lag: if the projection had not converged they make the
result unknown, not false. Extra and phantom are wrong whatever the lag.
"""

from typing import Any

from harness.check.result import CheckResult
from harness.load.ledger import Change, Entity

_ALWAYS_WRONG = ("extra", "phantom")


def check_state(
    expected: dict[Entity, Change],
    snapshot: dict[Entity, int],
    converged: bool,
    max_examples: int = 5,
) -> CheckResult:
    found: dict[str, list[dict[str, Any]]] = {}

    def report(kind: str, entity: Entity, **detail: Any) -> None:
        found.setdefault(kind, []).append({"table": entity[0], "key": entity[1], **detail})

    for entity, last in expected.items():
        shown = snapshot.get(entity)
        if last.op == "delete":
            if shown is not None:
                report("resurrected", entity, deleted_version=last.version - 1, shown=shown)
        elif shown is None:
            report("missing", entity, expected=last.version)
        elif shown < last.version:
            report("stale", entity, expected=last.version, shown=shown)
        elif shown > last.version:
            report("phantom", entity, expected=last.version, shown=shown)
    for entity, shown in snapshot.items():
        if entity not in expected:
            report("extra", entity, shown=shown)

    counts = {kind: len(cases) for kind, cases in found.items()}
    if any(kind in counts for kind in _ALWAYS_WRONG):
        valid: bool | str = False
    elif counts:
        valid = False if converged else "unknown"
    else:
        valid = True
    if not converged:
        counts["unconverged"] = 1
    examples = {kind: cases[:max_examples] for kind, cases in found.items()}
    return CheckResult(valid=valid, counts=counts, examples=examples)
