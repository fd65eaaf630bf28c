"""The evidence a fault's verdict needs: which changes any fault may show corrupted (those
carrying a LOB past the pattern's LOB limit: when each was committed), and which it lost
(`LOST_EVIDENCE`), per projection: when each change it names lost that the projection is
seen to lose was committed (`lost_as_shown`), and the lag windows without the changes it
names lost, from which the fault's recovery and lag bound are read (a state projection shows
a lost change once a later version of its row comes, whenever that is: its lag says how long
the row was wrong, not how late the fault made it)."""

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from harness.apps.emits import Emit, never_sent
from harness.check.lag import Sightings, lag_report
from harness.check.projection import shows_each_change
from harness.check.shown_lost import lost_as_shown
from harness.load.ledger import Change, Ledger, Version
from harness.nemesis.faults import KINDS
from harness.nemesis.outcome import LostEvidence
from harness.nemesis.record import FaultRecord

if TYPE_CHECKING:  # results.json's model holds the projections
    from harness.report.results import ProjectionResult


def wanted(faults: Sequence[FaultRecord]) -> set[str]:
    """The evidence the kinds of `faults` judge their losses by."""
    expected = [KINDS[fault.kind].expected for fault in faults if fault.kind in KINDS]
    return {e.lost for e in expected if e.lost is not None}


def past_limit(changes: Ledger, limit_kb: int | None) -> list[int]:
    """When each committed change carrying a LOB longer than `limit_kb` KB was committed
    (none without a limit)."""
    if limit_kb is None:
        return []
    past = changes.committed & (changes.numbers("lob_bytes") > limit_kb * 1024)
    return [int(ns) for ns in changes.numbers("acked_ns")[past]]


def lost_evidence(
    evidence: set[str],
    projections: "Mapping[str, ProjectionResult]",
    changes: Ledger,
    seen_at: Mapping[str, Sightings],
    window_s: float,
    emits: Sequence[Emit] = (),
    late: Mapping[str, set[Version]] | None = None,
    upstreams: Mapping[str, str] | None = None,
    lob_limit_kb: int | None = None,
) -> LostEvidence:
    """`evidence`: which losses to gather (`wanted`); `seen_at`: each projection's
    sightings; `emits`: the application's records (never_sent); `late`: per object store,
    what it showed only from late objects, and `upstreams`: which projection feeds which
    (late_files); `lob_limit_kb`: the pattern's LOB limit."""
    found = LostEvidence(past_lob_limit_ns=past_limit(changes, lob_limit_kb))
    named: dict[str, dict[str, list[Change]]] = {}
    if "never_sent" in evidence:
        named["never_sent"] = dict.fromkeys(projections, never_sent(emits, changes))
    if "late_files" in evidence:
        late, upstreams = late or {}, upstreams or {}
        named["late_files"] = {
            name: changes.committed_of(late[upstream])
            for name, upstream in upstreams.items()
            if upstream in late
        }
    named_lost: dict[str, set[Version]] = {}
    for kind, by_projection in named.items():
        found.lost_ns[kind] = {}
        for name, lost in by_projection.items():
            projection = projections.get(name)
            if projection is None:
                continue
            each = shows_each_change(projection.kind, projection.feed)
            shown = lost_as_shown(changes, lost, each)
            found.lost_ns[kind][name] = [c.acked_ns for c in shown]
            named_lost.setdefault(name, set()).update((c.table, c.key, c.version) for c in lost)
    for name, versions in named_lost.items():
        if versions and name in seen_at:
            without = seen_at[name].without(changes.committed_rows(versions))
            found.bound_windows[name] = lag_report(changes, without, window_s).over_time
    return found
