"""Compare the row images a projection showed with the ledger's: divergent.

An observation shows a committed row version with an image digest; if the digest
differs from the one the ledger recorded for that version, the projection holds that
version with other field values (a lossy type mapping, a truncated LOB, a writer that
mixes up columns). Each (entity, version) shown with a wrong image counts once, however
often it was seen. Not judged: observations without a digest (removals, projections
that do not carry the row) and versions the ledger never committed as rows (the state
and event checkers name those phantom).

The ledger is held as one set of hashes of (table, key, version, digest), so a correct
observation costs a single lookup and memory stays near a machine word per change;
only mismatches (few) go back to the ledger for the expected image.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from harness.check.result import CheckResult
from harness.load.ledger import COMMITTED, Change
from harness.observe.base import Observation


def check_divergent(
    changes: Sequence[Change], observations: Iterable[Observation], max_examples: int = 5
) -> CheckResult:
    images = {
        hash((c.table, c.key, c.version, c.digest))
        for c in changes
        if c.status == COMMITTED and c.op != "delete"
    }
    suspects: dict[tuple[str, str, int], Observation] = {}
    for seen in observations:
        if seen.digest and hash((seen.table, seen.key, seen.version, seen.digest)) not in images:
            suspects.setdefault((seen.table, seen.key, seen.version), seen)
    if not suspects:
        return CheckResult(valid=True)

    cases: list[dict[str, Any]] = []
    for change in changes:
        seen = suspects.get((change.table, change.key, change.version))
        if seen is not None and change.status == COMMITTED and change.op != "delete":
            cases.append(
                {
                    "table": change.table,
                    "key": change.key,
                    "version": change.version,
                    "expected_digest": change.digest,
                    "shown_digest": seen.digest,
                    "position": seen.position,
                }
            )
    if not cases:
        return CheckResult(valid=True)
    return CheckResult(
        valid=False, counts={"divergent": len(cases)}, examples={"divergent": cases[:max_examples]}
    )
