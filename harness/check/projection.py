"""Which checkers judge a projection of each kind and feed, composed into one result."""

from typing import Literal

from harness.check.divergent import check_divergent
from harness.check.events import check_event_store, check_events, check_net_changes
from harness.check.protocol import Checker, Evidence
from harness.check.result import CheckResult, compose
from harness.check.state import check_state
from harness.observe.base import ProjectionKind

Feed = Literal["every_change", "net_changes"]
"""What an event log is fed: every committed change, or net changes (change tracking: per
poll one event per changed key at its latest state, so a key's intermediate versions may be
skipped)."""

CHECKERS: dict[ProjectionKind, tuple[Checker, ...]] = {
    "state": (check_state, check_divergent),
    "event_log": (check_events, check_divergent),
    "event_store": (check_event_store, check_divergent),
}
"""A state projection is judged by its final snapshot, an event log by its events in log
order, an event store by its events per key in version order; all by the row images they
showed."""
NET_CHANGE_CHECKERS: tuple[Checker, ...] = (check_net_changes, check_divergent)
"""An event log of net changes is judged by its events in log order as a net-change feed."""


def shows_each_change(kind: ProjectionKind, feed: Feed) -> bool:
    """An event log or store of every change shows each change itself: a change counts as
    shown only by its own version (a state or a net-change feed may skip versions)."""
    return kind != "state" and feed == "every_change"


def check_projection(kind: ProjectionKind, feed: Feed, evidence: Evidence) -> CheckResult:
    checkers = NET_CHANGE_CHECKERS if feed == "net_changes" else CHECKERS[kind]
    return compose((check(evidence) for check in checkers), evidence.max_examples)
