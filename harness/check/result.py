"""The checker protocol's result: valid true | false | unknown, counts and examples per class."""

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

Validity = bool | Literal["unknown"]


class CheckResult(BaseModel):
    valid: Validity
    counts: dict[str, int] = Field(default_factory=dict)
    """Anomalies per class (only classes that occurred)."""
    examples: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    """Up to N concrete cases per class."""


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
    for result in results:
        for name, n in result.counts.items():
            counts[name] = counts.get(name, 0) + n
        for name, cases in result.examples.items():
            examples[name] = (examples.get(name, []) + cases)[:max_examples]
    return CheckResult(
        valid=merge_validity(r.valid for r in results), counts=counts, examples=examples
    )
