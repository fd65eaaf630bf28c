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

Each image shown is matched with the committed change of its (entity, version) column by
column, so a correct one costs a comparison of two digests; only mismatches (few) are made
into cases.
"""

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from harness.check.protocol import Evidence
from harness.check.result import CheckResult
from harness.load.ledger import Ledger
from harness.observe.base import Observations, SnapshotRows
from harness.records import Columns

SNAPSHOT_POSITION = "snapshot"
"""The position named in an example found in the final snapshot."""
_SLICE = 1 << 20
"""Images matched with the ledger at a time."""


def check_divergent(evidence: Evidence) -> CheckResult:
    ledger = Ledger.of(evidence.changes)
    rows = SnapshotRows.of(evidence.snapshot or ())
    shown = [_Shown(ledger, Observations.of(evidence.observations)), _Shown(ledger, rows, txid=0)]
    # (entity, version) -> the first image shown of it that no committed row image matches
    first: dict[int, tuple[str, str]] = {}
    for images in shown:
        for change, digest, position in images.mismatches():
            first.setdefault(change, (digest, position))
    if not first:
        return CheckResult(valid=True)
    indices = sorted(first)
    cases: list[dict[str, Any]] = [
        {
            "table": change.table,
            "key": change.key,
            "version": change.version,
            "expected_digest": change.digest,
            "shown_digest": first[index][0],
            "position": first[index][1],
        }
        for index, change in zip(
            indices[: evidence.max_examples],
            ledger.records(indices[: evidence.max_examples]),
            strict=True,
        )
    ]
    examples = {"divergent": cases}
    committed = ledger.numbers("acked_ns")[indices].tolist()
    return CheckResult(
        valid=False,
        counts={"divergent": len(indices)},
        examples=examples,
        committed_ns={"divergent": committed},
    )


class _Shown:
    """The row images a log or a snapshot showed, placed against the ledger."""

    def __init__(self, ledger: Ledger, shown: Columns[Any], txid: int | None = None) -> None:
        self.ledger, self.shown = ledger, shown
        self.txid = txid

    def mismatches(self) -> list[tuple[int, str, str]]:
        """(index in the ledger, digest shown, where) of every image shown, in order, whose
        committed row version (not a delete, nor of a transaction rolled back) holds another
        image: not judged are images without a digest, versions the ledger never committed
        as rows and events of transactions it rolled back."""
        ledger, shown = self.ledger, self.shown
        txid = shown.numbers("txid") if self.txid is None else np.full(len(shown), self.txid)
        digest = shown.texts("digest")
        judged = pc.not_equal(digest, "").to_numpy(zero_copy_only=False)
        judged &= ~np.isin(txid, ledger.rolled_back)  # here 0 as any other
        found: list[tuple[int, int]] = []
        """(index shown, index in the ledger)"""
        entity, version = ledger.entity_of(shown), shown.numbers("version")
        judged = np.flatnonzero(judged)
        for start in range(0, len(judged), _SLICE):  # a slice at a time: little held at once
            at = judged[start : start + _SLICE]
            rows = ledger.rows_of(entity[at], version[at])
            single = rows.count == 1
            change = rows.first[single]
            expected = ledger.texts("digest").take(pa.array(change))
            differ = pc.not_equal(expected, digest.take(pa.array(at[single])))
            differ = differ.to_numpy(zero_copy_only=False) & ~ledger.deletes[change]
            found += zip(at[single][differ].tolist(), change[differ].tolist(), strict=True)
            several = rows.count > 1
            for where, first, count in zip(
                at[several], rows.start[several], rows.count[several], strict=True
            ):
                found += self._among(int(where), ledger.rows_at(first, count))
        found.sort()
        positions = self._positions([where for where, _ in found])
        texts = digest.take(pa.array([where for where, _ in found], pa.int64())).to_pylist()
        return [
            (index, text, position)
            for (_, index), text, position in zip(found, texts, positions, strict=True)
        ]

    def _among(self, where: int, candidates: np.ndarray) -> list[tuple[int, int]]:
        """An image shown of a version the ledger committed more than once: wrong unless one
        of its row images is the one shown; then a case for each of them."""
        ledger = self.ledger
        rows = [int(i) for i in candidates if not ledger.deletes[i]]
        shown = self.shown.texts("digest")[where].as_py()
        if shown in ledger.texts("digest").take(pa.array(rows, pa.int64())).to_pylist():
            return []
        return [(where, i) for i in rows]

    def _positions(self, where: list[int]) -> list[str]:
        if self.txid is not None:
            return [SNAPSHOT_POSITION] * len(where)
        return self.shown.texts("position").take(pa.array(where, pa.int64())).to_pylist()
