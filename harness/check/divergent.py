"""Compare the row images a projection showed with the ledger's: divergent.

An observation, or a row of a state projection's final snapshot, shows a committed row
version with an image digest; if the digest differs from the one the ledger recorded for
that version, the projection holds that version with other field values (a lossy type
mapping, a truncated LOB, a writer that mixes up columns). Each (entity, version) shown
with a wrong image counts once, however often it was seen; its example names where (an
observation's position, or "snapshot"). Not judged: images without a digest (removals,
tombstones, projections that do not carry the row), versions the ledger never
committed as rows and events of transactions it rolled back (the state and event checkers
name those phantom).

The ledger is held as one set of hashes of (table, key, version, digest), so a correct
observation costs a single lookup and memory stays near a machine word per change;
only mismatches (few) go back to the ledger for the expected image.
"""

import itertools
from collections.abc import Iterable
from typing import Any

from harness.check.protocol import Evidence
from harness.check.result import CheckResult
from harness.load.ledger import COMMITTED
from harness.observe.base import SnapshotRow

SNAPSHOT_POSITION = "snapshot"
"""The position named in an example found in the final snapshot."""


def check_divergent(evidence: Evidence) -> CheckResult:
    changes = evidence.changes
    images = {
        hash((c.table, c.key, c.version, c.digest))
        for c in changes
        if c.status == COMMITTED and c.op != "delete"
    }
    rolled_back = {c.txid for c in changes if c.status != COMMITTED}
    suspects: dict[tuple[str, str, int], tuple[str, str]] = {}
    """(table, key, version) -> (digest shown, where)"""
    for table, key, version, digest, position, txid in _shown(evidence):
        if txid in rolled_back:
            continue
        if digest and hash((table, key, version, digest)) not in images:
            suspects.setdefault((table, key, version), (digest, position))
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
                    "shown_digest": seen[0],
                    "position": seen[1],
                }
            )
    if not cases:
        return CheckResult(valid=True)
    examples = {"divergent": cases[: evidence.max_examples]}
    return CheckResult(valid=False, counts={"divergent": len(cases)}, examples=examples)


def _shown(evidence: Evidence) -> Iterable[tuple[str, str, int, str, str, int]]:
    """(table, key, version, digest, position, txid or 0) of every row image the projection
    showed."""
    observed = (
        (o.table, o.key, o.version, o.digest, o.position, o.txid) for o in evidence.observations
    )
    rows: Iterable[SnapshotRow] = evidence.snapshot or ()
    final = ((r.table, r.key, r.version, r.digest, SNAPSHOT_POSITION, 0) for r in rows)
    return itertools.chain(observed, final)
