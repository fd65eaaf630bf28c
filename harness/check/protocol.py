"""The checker protocol: every checker takes one `Evidence` (the ledger's changes, what one
projection showed, its final snapshot where it has one, and how it converged) and returns a
`CheckResult`. `harness.check.projection` composes the checkers each projection kind needs."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from harness.check.result import CheckResult
from harness.load.ledger import Change
from harness.observe.base import Observation, SnapshotRow


class Convergence(BaseModel):
    """How a projection ended after the load: converged, settled, or neither by the deadline."""

    model_config = ConfigDict(frozen=True)

    converged: bool
    seconds: float
    """Time from the end of load until the projection matched the ledger, settled, or the
    deadline passed."""
    settled: bool = False
    """It never matched but stopped changing for longer than its floor plus the scenario's
    `settle_s`: its anomalies are final, not lag."""


CONVERGED = Convergence(converged=True, seconds=0.0)


@dataclass(frozen=True)
class Evidence:
    """What a projection is judged on."""

    changes: Sequence[Change]
    """The ledger, in commit-acknowledgement order."""
    observations: Sequence[Observation] = ()
    """What the projection showed, in the order it was logged (an event log's log order)."""
    snapshot: Sequence[SnapshotRow] | None = None
    """A state projection's final contents; None for an event log, or when it could not be
    read (a state check is then unknown)."""
    convergence: Convergence = CONVERGED
    max_examples: int = 5


Checker = Callable[[Evidence], CheckResult]
