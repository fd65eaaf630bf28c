"""Which checkers judge a projection of each kind, composed into one result."""

from harness.check.divergent import check_divergent
from harness.check.events import check_event_store, check_events
from harness.check.protocol import Checker, Evidence
from harness.check.result import CheckResult, compose
from harness.check.state import check_state
from harness.observe.base import ProjectionKind

CHECKERS: dict[ProjectionKind, tuple[Checker, ...]] = {
    "state": (check_state, check_divergent),
    "event_log": (check_events, check_divergent),
    "event_store": (check_event_store, check_divergent),
}
"""A state projection is judged by its final snapshot, an event log by its events in log
order, an event store by its events per key in version order; all by the row images they
showed."""


def check_projection(kind: ProjectionKind, evidence: Evidence) -> CheckResult:
    return compose((check(evidence) for check in CHECKERS[kind]), evidence.max_examples)
