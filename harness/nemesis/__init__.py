"""Faults a scenario schedules during its load (`faults:`), applied through the API a user's
tooling would use, each with the outcome a pattern is expected to show under it."""

from harness.nemesis.faults import KINDS, Expected, FaultKind
from harness.nemesis.outcome import as_expected, describe_fault, held_up_s, judge_faults
from harness.nemesis.record import FaultExpectation, FaultRecord, FaultSpec
from harness.nemesis.schedule import Nemesis

__all__ = [
    "KINDS",
    "Expected",
    "FaultExpectation",
    "FaultKind",
    "FaultRecord",
    "FaultSpec",
    "Nemesis",
    "as_expected",
    "describe_fault",
    "held_up_s",
    "judge_faults",
]
