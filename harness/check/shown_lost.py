"""Which of the committed changes a fault lost a projection can be seen to lose: those the
checker counts as lost (missing, gap, stale, resurrected) when exactly they never arrive.

A projection showing each change shows every one lost. A projection showing state shows
each entity at its last change that arrived: it is seen to lose the entity's final change
only if that leaves it showing something else, so not where the final change is a delete
and nothing of the entity arrived, or only changes up to an earlier delete."""

from collections.abc import Sequence

from harness.load.ledger import Change, Ledger


def lost_as_shown(ledger: Ledger, lost: Sequence[Change], each_change: bool) -> list[Change]:
    """Those of `lost` (committed changes of `ledger`) a projection is seen to lose; of one
    showing state (`each_change` False), the entities' final changes it shows wrong."""
    if each_change or not lost:
        return list(lost)
    gone = {(c.table, c.key, c.version) for c in lost}
    shown = []
    for history in ledger.histories({c.entity for c in lost}).values():
        final = history[-1]
        if (final.table, final.key, final.version) not in gone:
            continue
        arrived = [c for c in history if (c.table, c.key, c.version) not in gone]
        if final.op == "delete" and (not arrived or arrived[-1].op == "delete"):
            continue  # it shows the entity absent, as it should be
        shown.append(final)
    return shown
