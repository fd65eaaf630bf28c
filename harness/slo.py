"""Service-level objectives: a scenario's `slo:` section as a list of objectives, and the
verdict of a run's results on each (what the pytest plugin turns into test items)."""

from dataclasses import dataclass
from typing import Literal

from harness.report.results import PatternResult, ProjectionResult, Results
from harness.scenario import Scenario

What = Literal["cost_usd_per_month", "lag_p99_ms", "anomalies", "convergence_s"]
PROJECTION_OBJECTIVES: tuple[What, ...] = ("lag_p99_ms", "anomalies", "convergence_s")
"""A projection's objectives, in the order they are listed and checked."""


@dataclass(frozen=True)
class Objective:
    """One limit on one figure of a pattern's run (or of one of its projections)."""

    pattern: str
    """The pattern's or variant's name, as the scenario lists it."""
    projection: str | None
    """None for a figure of the whole pattern (its cost)."""
    what: What
    limit: float

    @property
    def subject(self) -> str:
        """`pattern/projection`, or `pattern` for the pattern's own figures."""
        return self.pattern if self.projection is None else f"{self.pattern}/{self.projection}"

    @property
    def name(self) -> str:
        """E.g. `direct/read_model/lag_p99_ms<=500`."""
        return f"{self.subject}/{self.what}<={self.limit:g}"


def objectives(scenario: Scenario) -> list[Objective]:
    """Every objective of the scenario, in the order its `slo:` section lists them."""
    found = []
    for pattern, wanted in scenario.slo.items():
        if wanted.cost_usd_per_month is not None:
            found.append(Objective(pattern, None, "cost_usd_per_month", wanted.cost_usd_per_month))
        for projection, limits in wanted.projections.items():
            for what in PROJECTION_OBJECTIVES:
                limit = getattr(limits, what)
                if limit is not None:
                    found.append(Objective(pattern, projection, what, float(limit)))
    return found


def judge(objective: Objective, results: Results) -> tuple[bool, str]:
    """Whether the run met the objective, and one line saying what was measured.

    A pattern that did not run or did not complete fails each of its objectives with its
    status and error; so does a projection that was not measured or whose observer failed.
    """
    pattern = results.patterns.get(objective.pattern)
    if pattern is None:
        why = f" (run {results.status}: {results.error})" if results.error else ""
        return False, f"{objective.pattern}: did not run{why}"
    if pattern.status != "completed":
        error = f": {pattern.error}" if pattern.error else ""
        return False, f"{objective.pattern}: {pattern.status}{error}"
    if objective.projection is None:
        return _cost(objective, pattern)
    projection = pattern.projections.get(objective.projection)
    if projection is None:
        return False, f"{objective.subject}: not measured"
    if projection.error is not None:
        return False, f"{objective.subject}: {projection.error}"
    if objective.what == "lag_p99_ms":
        return _lag(objective, projection)
    if objective.what == "anomalies":
        return _anomalies(objective, projection)
    return _convergence(objective, projection)


def _cost(objective: Objective, pattern: PatternResult) -> tuple[bool, str]:
    if pattern.cost is None:
        return False, f"{objective.subject}: no cost estimate"
    total = pattern.cost.total_usd_per_month
    passed = total <= objective.limit
    return passed, (
        f"{objective.subject}: cost {total:.2f} USD/month {_relation(passed)} "
        f"{objective.limit:g} USD/month"
    )


def _lag(objective: Objective, projection: ProjectionResult) -> tuple[bool, str]:
    lag = projection.lag.from_commit_ms if projection.lag else None
    if lag is None or not lag.count or lag.p99 is None:
        return False, f"{objective.subject}: no lag measured"
    passed = lag.p99 <= objective.limit
    return passed, (
        f"{objective.subject}: p99 lag {_number(lag.p99)} ms {_relation(passed)} "
        f"{objective.limit:g} ms"
    )


def _anomalies(objective: Objective, projection: ProjectionResult) -> tuple[bool, str]:
    counts = {k: n for k, n in sorted(projection.check.counts.items()) if k != "unconverged" and n}
    total = sum(counts.values())
    passed = total <= objective.limit
    classes = f" ({', '.join(f'{k} {n}' for k, n in counts.items())})" if counts else ""
    return passed, (
        f"{objective.subject}: {total} anomalies{classes} {_relation(passed)} {objective.limit:g}"
    )


def _convergence(objective: Objective, projection: ProjectionResult) -> tuple[bool, str]:
    convergence = projection.convergence
    if convergence is None:
        return False, f"{objective.subject}: convergence not measured"
    seconds = convergence.seconds
    if not convergence.converged:
        how = "settled" if convergence.settled else "gave up"
        return False, f"{objective.subject}: did not converge ({how} after {seconds:.1f} s)"
    passed = seconds <= objective.limit
    return passed, (
        f"{objective.subject}: converged in {seconds:.1f} s {_relation(passed)} "
        f"{objective.limit:g} s"
    )


def _relation(passed: bool) -> str:
    return "<=" if passed else ">"


def _number(value: float) -> str:
    """One decimal, or three significant digits below 0.1 (so a tiny figure is not `0.0`)."""
    return f"{value:.1f}" if value == 0 or abs(value) >= 0.1 else f"{value:.3g}"
