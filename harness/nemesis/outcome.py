"""How each projection went through each fault of a run (`Recovery`), and whether that is
the outcome the fault's kind expects (`Expected`), from the run's lag windows and anomalies:
computed with the rest of a pattern's figures, so `cdcbench check` recomputes it."""

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import TYPE_CHECKING

from harness.check.lag import LagWindow
from harness.check.result import CheckResult
from harness.nemesis.faults import KINDS, LOST_EVIDENCE
from harness.nemesis.record import FaultRecord, Recovery

if TYPE_CHECKING:  # results.json's model holds the fault records
    from harness.report.results import PatternResult, ProjectionResult

BEFORE_S = 10.0
"""The lag before a fault is that of the changes committed this long before it."""
_LOST = ("missing", "gap", "stale", "resurrected")
"""The classes of a committed change a projection never showed (a state projection shows
only its entity's last: missing, or an older version, or the row it deleted)."""
ALARM_MS = 1_000.0
"""A lag window's p99 above 1.5 times the level before the fault (at least the projection's
floor), plus this, is the fault's (an alarm under a second above the usual lag fires on
scheduling noise: a projection whose lag is 20 ms shows the odd 0.4 s window with no fault
at all)."""


@dataclass
class LostEvidence:
    """Which changes a fault lost, and which any fault may show corrupted, as a verdict
    needs it (`harness.nemesis.evidence`)."""

    lost_ns: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    """Per evidence and projection, when each change it is seen to lose was committed."""
    bound_windows: dict[str, list[LagWindow]] = field(default_factory=dict)
    """Per projection with changes named lost, its lag windows without them."""
    past_lob_limit_ns: list[int] = field(default_factory=list)
    """When each change carrying a LOB past the pattern's LOB limit was committed: any
    projection may show those divergent, under any fault."""


def judge_faults(
    faults: list[FaultRecord],
    projections: "dict[str, ProjectionResult]",
    origin_ns: int,
    window_s: float,
    lost: LostEvidence | None = None,
) -> None:
    """Fill in each applied fault's recovery per projection and its verdict. `origin_ns`:
    when the lag windows start (the throughput's origin). Each fault is seen apart from the
    others: its lag before it is read after the previous fault's recovery, and its recovery
    until the next fault starts. Its anomalies are those of the changes committed from the
    previous fault's recovery to its own (from the run's start for the first fault, to its
    end for the last: each anomaly counts under one fault), and those no commit places (an
    entity the source never had) under every fault. `lost`: the evidence of which changes
    were lost (`LostEvidence`): a kind that expects exactly those lost compares them with
    the changes lost in its span (a projection it does not name: none), and its recovery
    and lag bound are those of the others. Under every kind, the divergent changes of its
    span carrying a LOB past the pattern's limit are that limit's, not the fault's."""
    lost = lost or LostEvidence()
    for fault in faults:
        fault.recovery, fault.reasons, fault.met = {}, [], None
    spans = sorted(
        (
            ((f.started_ns - origin_ns) / 1e9, (f.ended_ns - origin_ns) / 1e9, f)
            for f in faults
            if f.started_ns is not None and f.ended_ns is not None and not f.error
        ),
        key=lambda span: span[0],
    )
    cleared_s: dict[str, float] = {}
    """Per projection, when the previous fault's lag was over."""
    levels: dict[str, float] = {}
    """Per projection, the last lag measured before a fault (kept for a next fault that
    comes before the lag is back to it)."""
    for index, (start_s, end_s, fault) in enumerate(spans):
        later = [s for s, _, _ in spans[index + 1 :] if s > end_s]
        next_s = min(later, default=float("inf"))
        expected = KINDS[fault.kind].expected
        allowed = expected.allowed if fault.allowed is None else frozenset(fault.allowed)
        slack_s = _slack_s(fault)
        for name, projection in projections.items():
            lagged = projection.lag.over_time if projection.lag else []
            if expected.lost is not None and name in lost.bound_windows:
                lagged = lost.bound_windows[name]  # what it lost is counted, not timed
            since_s = cleared_s.get(name, float("-inf"))
            windows = [w for w in lagged if since_s <= w.start_s < next_s]
            known = levels.get(name)
            recovery = _recovery(
                windows, start_s, end_s, next_s, window_s, known, projection.floor_ms
            )
            fault.recovery[name] = recovery
            cleared_s[name] = end_s + (recovery.recover_s or 0.0)
            if recovery.before_ms is not None:
                levels[name] = recovery.before_ms
            last = index == len(spans) - 1
            span = (since_s, float("inf") if last else cleared_s[name])
            recovery.anomalies = _anomalies(projection.check, span, origin_ns)
            judged = dict(recovery.anomalies)
            if expected.lost is not None:
                count = sum(judged.pop(k, 0) for k in _LOST)
                named = lost.lost_ns.get(expected.lost, {}).get(name, ())
                named_count = _within(named, span, origin_ns)
                if count != named_count:
                    said = LOST_EVIDENCE[expected.lost]
                    fault.reasons.append(f"{name}: {count} changes lost, {named_count} {said}")
            if "divergent" in judged and "divergent" not in allowed:
                shown_ns = projection.check.committed_ns.get("divergent", [])
                unplaced = judged.pop("divergent") - _within(shown_ns, span, origin_ns)
                past_ns = lost.past_lob_limit_ns
                if others := _outside(shown_ns, past_ns, span, origin_ns) + unplaced:
                    fault.reasons.append(
                        f"{name}: {others} divergent not carrying a LOB past the pattern's "
                        "LOB limit"
                    )
            for anomaly, count in judged.items():
                if anomaly not in allowed:
                    fault.reasons.append(f"{name}: {count} {anomaly}")
            bound_ms = (fault.duration_s + slack_s) * 1000 + projection.floor_ms
            during = [w.max for w in windows if start_s - window_s < w.start_s <= end_s]
            if during and max(during) > bound_ms:
                fault.reasons.append(
                    f"{name}: a change made during the fault was seen {max(during):.0f} ms "
                    f"after its commit (bound {bound_ms:.0f} ms)"
                )
        # a projection that settled has stopped changing: what it lacks is final, and judged
        unconverged = [
            n
            for n, p in projections.items()
            if "unconverged" in p.check.counts and not (p.convergence and p.convergence.settled)
        ]
        fault.met = False if fault.reasons else (None if unconverged else True)


def held_up_s(faults: list[FaultRecord]) -> float:
    """How long from now a change made during one of `faults` may still arrive within the
    lag its expected outcome allows (its end plus its slack; 0 when none may)."""
    ends = [
        f.ended_ns / 1e9 + _slack_s(f) for f in faults if f.ended_ns is not None and not f.error
    ]
    return max([0.0, *(end - time.time() for end in ends)])


def _slack_s(fault: FaultRecord) -> float:
    """The lag a fault may add beyond its duration and the floor: the pattern's, or the
    kind's."""
    return KINDS[fault.kind].expected.slack_s if fault.slack_s is None else fault.slack_s


def _anomalies(check: CheckResult, span: tuple[float, float], origin_ns: int) -> dict[str, int]:
    """The anomalies, by class, of the changes committed within `span` (seconds from
    `origin_ns`), and those no commit places."""
    counts: dict[str, int] = {}
    for kind, count in check.counts.items():
        if kind == "unconverged":
            continue
        placed = check.committed_ns.get(kind, [])
        within = _within(placed, span, origin_ns)
        if within + count - len(placed):
            counts[kind] = within + count - len(placed)
    return counts


def _within(times_ns: Sequence[int], span: tuple[float, float], origin_ns: int) -> int:
    """How many of `times_ns` fall within `span` (seconds from `origin_ns`)."""
    return sum(span[0] <= (ns - origin_ns) / 1e9 < span[1] for ns in times_ns)


def _outside(
    times_ns: Sequence[int], named_ns: Sequence[int], span: tuple[float, float], origin_ns: int
) -> int:
    """How many of `times_ns` within `span` are not among `named_ns` (each named once)."""
    named = Counter(named_ns)
    outside = 0
    for ns in times_ns:
        if span[0] <= (ns - origin_ns) / 1e9 < span[1]:
            if named[ns]:
                named[ns] -= 1
            else:
                outside += 1
    return outside


def _recovery(
    windows: list[LagWindow],
    start_s: float,
    end_s: float,
    next_s: float,
    window_s: float,
    known: float | None,
    floor_ms: float,
) -> Recovery:
    """`next_s`: when the next fault starts; `known`: the level before the previous fault,
    if the windows hold none before this one (the previous fault's lag had not come back
    to it); `floor_ms`: the projection's floor, the least level the alarm is set from (a
    batching projection's lag swings up to it with no fault, and its windows before a fault
    may miss its top)."""
    recent = [w.p99 for w in windows if start_s - BEFORE_S <= w.start_s < start_s - window_s]
    # the changes committed just before the fault were held up by it: the level is read
    # before them, as far back as the usual lag (the median window's) and a window
    usual_s = _reach_s(median(recent), window_s) if recent else window_s
    before = [w.p99 for w in windows if start_s - BEFORE_S <= w.start_s < start_s - usual_s]
    level = max(before) if before else known
    threshold = 1.5 * max(level, floor_ms) + ALARM_MS if level is not None else None
    # changes committed up to their usual lag before a fault were held up by it too: from
    # this fault's, until the next one's
    reach_s = _reach_s(level, window_s)
    after = [w for w in windows if start_s - reach_s < w.start_s < next_s - reach_s]
    high = [w for w in after if threshold is not None and w.p99 > threshold]
    recover_s = max(0.0, high[-1].start_s + window_s - end_s) if high else 0.0
    upto = end_s + recover_s
    peak = [w.max for w in after if w.start_s <= upto]
    return Recovery(
        before_ms=level,
        peak_ms=max(peak) if peak else None,
        detect_s=max(0.0, high[0].start_s - start_s) if high else None,
        recover_s=recover_s if threshold is not None else None,
    )


def _reach_s(level_ms: float | None, window_s: float) -> float:
    """How long before a fault a change could be committed and still be held up by it: its
    usual lag, and a window."""
    return (level_ms or 0.0) / 1000 + window_s


def describe_fault(fault: FaultRecord) -> str:
    """One line: the verdict, why, and each projection's recovery."""
    if fault.error:
        return fault.error
    verdict = {True: "as expected", False: "NOT as expected", None: "not judged"}[fault.met]
    said = f"{verdict} ({fault.expected})"
    if fault.reasons:
        said += ": " + "; ".join(fault.reasons)
    for name, recovery in fault.recovery.items():
        detect = "no lag alarm" if recovery.detect_s is None else f"alarm {recovery.detect_s:.1f} s"
        recover = "" if recovery.recover_s is None else f", back {recovery.recover_s:.1f} s after"
        peak = "" if recovery.peak_ms is None else f", peak {recovery.peak_ms:.0f} ms"
        said += f"; {name}: {detect}{recover}{peak}"
    return said


def as_expected(result: "PatternResult") -> bool:
    """A pattern is as expected when it is valid, or when every fault applied to it had its
    expected outcome (which may allow some anomalies, e.g. duplicates after a resume)."""
    applied = [fault for fault in result.faults if fault.error is None]
    return result.valid is True or (bool(applied) and all(f.met is True for f in applied))
