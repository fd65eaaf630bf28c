"""The checker protocol's result: valid true | false | unknown, counts and examples per class."""

from collections.abc import Collection, Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

Validity = bool | Literal["unknown"]


class CheckResult(BaseModel):
    valid: Validity
    counts: dict[str, int] = Field(default_factory=dict)
    """Anomalies per class (only classes that occurred)."""
    examples: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    """Up to N concrete cases per class."""
    committed_ns: dict[str, list[int]] = Field(default_factory=dict, exclude=True)
    """Per class, when the change of each anomaly that has one was committed (its
    acknowledgement, harness clock; an extra entity has none), for placing anomalies among
    a run's faults. Not saved: the checkers recompute it."""


def judge(
    counts: dict[str, int], lag_like: Collection[str], converged: bool, settled: bool
) -> Validity:
    """Anomalies outside `lag_like` are wrong whatever the lag. Lag-like ones (a projection
    still catching up shows them too) are wrong once the projection converged or settled,
    having stopped changing for longer than its floor; before that they are unknown.
    Counts `unconverged` when the projection never showed the final state."""
    valid: Validity = True
    if any(kind not in lag_like for kind in counts):
        valid = False
    elif counts:
        valid = False if converged or settled else "unknown"
    if not converged:
        counts["unconverged"] = 1
    return valid


def merge_validity(values: Iterable[Validity]) -> Validity:
    """false beats unknown beats true."""
    values = list(values)
    if False in values:
        return False
    if "unknown" in values:
        return "unknown"
    return True


def compose(results: Iterable[CheckResult], max_examples: int = 5) -> CheckResult:
    """Merge checker results: validity by `merge_validity`, counts summed, examples concatenated."""
    results = list(results)
    counts: dict[str, int] = {}
    examples: dict[str, list[dict[str, Any]]] = {}
    committed: dict[str, list[int]] = {}
    for result in results:
        for name, n in result.counts.items():
            counts[name] = counts.get(name, 0) + n
        for name, cases in result.examples.items():
            examples[name] = (examples.get(name, []) + cases)[:max_examples]
        for name, times in result.committed_ns.items():
            committed.setdefault(name, []).extend(times)
    return CheckResult(
        valid=merge_validity(r.valid for r in results),
        counts=counts,
        examples=examples,
        committed_ns=committed,
    )
