"""A capacity run's summary on the terminal: per pattern, the highest rate sustained, what
bound the next, and each projection's lag at 50% and 90% of it."""

from harness.capacity.verdict import Capacity, CapacityStep
from harness.report.results import Results


def capacity_lines(results: Results) -> list[str]:
    lines = []
    for name, pattern in results.patterns.items():
        capacity = pattern.capacity
        if capacity is None:
            continue
        lines.append(f"{name}: {_headline(capacity)}")
        for purpose in ("at 50%", "at 90%"):
            step = capacity.at(purpose)
            if step is not None:
                lines.append(f"{name} {purpose}: {_lags(step)}")
    return lines


def print_capacity(results: Results) -> None:
    for line in capacity_lines(results):
        print(line)


def _headline(capacity: Capacity) -> str:
    if capacity.sustained_per_s is None:
        return f"no rate sustained (bound by {capacity.bound})"
    if capacity.bound is None:
        return f"{capacity.sustained_per_s:g} changes/s sustained (the ceiling)"
    return f"{capacity.sustained_per_s:g} changes/s sustained; the next bound by {capacity.bound}"


def _lags(step: CapacityStep) -> str:
    figures = [
        f"{name} p50 {lag.p50:.0f} ms, p99 {lag.p99:.0f} ms"
        for name, lag in step.lag.items()
        if lag.p50 is not None and lag.p99 is not None
    ]
    verdict = "" if step.sustained else f" (not sustained: {step.bound})"
    return f"{step.offered_per_s:g}/s{verdict}: " + "; ".join(figures)
