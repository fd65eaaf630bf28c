"""`cdcbench compare`: each pattern's lag and anomalies across runs, against the first run
given (the baseline), with regressions flagged.

Only like is compared with like: a projection's figures in two runs are comparable when both
ran the same scenario load and workload and the pattern with the same variables (lag
depends on all of them); what is not comparable is said, not judged. A regression is a p99
lag from commit more than `threshold` above the baseline's and more than `min_delta_ms`
(noise on a small figure is not a regression), more anomalies, a verdict that fell from
valid, or a projection that no longer converged.
"""

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from harness.errors import UserError
from harness.report.results import PatternResult, ProjectionResult, Results, read_results

DEFAULT_THRESHOLD = 0.25
DEFAULT_MIN_DELTA_MS = 5.0
_COMPARED_SCENARIO_PARTS = ("load", "workload", "source", "schema_change")


class Cell(BaseModel):
    """One projection in one run."""

    run_id: str
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    anomalies: int
    valid: bool | str
    converged: bool
    emulator_bound: bool
    regressions: list[str]
    """Why this run regressed against the baseline (empty: it did not)."""


class Row(BaseModel):
    pattern: str
    projection: str
    cells: list[Cell]
    """The baseline first, then every comparable run in the order given."""


class Comparison(BaseModel):
    runs: list[str]
    baseline: str
    threshold: float
    min_delta_ms: float
    rows: list[Row]
    not_comparable: list[str]
    """One line per pattern of a run that could not be compared, saying why."""

    @property
    def regressions(self) -> list[str]:
        return [
            f"{row.pattern}/{row.projection} in {cell.run_id}: {why}"
            for row in self.rows
            for cell in row.cells
            for why in cell.regressions
        ]


def compare_runs(
    run_dirs: list[Path],
    threshold: float = DEFAULT_THRESHOLD,
    min_delta_ms: float = DEFAULT_MIN_DELTA_MS,
) -> Comparison:
    """Compare the runs with the first; UserError (one line) if fewer than two runs are
    given or nothing in them is comparable."""
    if len(run_dirs) < 2:
        raise UserError("compare needs at least two run directories (the first is the baseline)")
    runs = [read_results(d) for d in run_dirs]
    baseline, others = runs[0], runs[1:]
    rows: list[Row] = []
    not_comparable: list[str] = []
    for name, base in baseline.patterns.items():
        comparable = []
        for run in others:
            why = _incomparable(baseline, run, name)
            if why:
                not_comparable.append(f"{name} in {run.run_id}: {why}")
            else:
                comparable.append(run)
        for projection_name, projection in base.projections.items():
            cells = [_cell(baseline.run_id, base, projection, None, threshold, min_delta_ms)]
            for run in comparable:
                other = run.patterns[name].projections.get(projection_name)
                if other is None:
                    not_comparable.append(f"{name}/{projection_name}: not in {run.run_id}")
                    continue
                pattern = run.patterns[name]
                cells.append(_cell(run.run_id, pattern, other, projection, threshold, min_delta_ms))
            if len(cells) > 1:
                rows.append(Row(pattern=name, projection=projection_name, cells=cells))
    for run in others:
        for name in run.patterns.keys() - baseline.patterns.keys():
            not_comparable.append(f"{name} in {run.run_id}: not in the baseline")
    if not rows:
        reasons = "; ".join(not_comparable) or "no pattern measured any projection"
        raise UserError(f"nothing in these runs is comparable with {baseline.run_id}: {reasons}")
    return Comparison(
        runs=[r.run_id for r in runs],
        baseline=baseline.run_id,
        threshold=threshold,
        min_delta_ms=min_delta_ms,
        rows=rows,
        not_comparable=not_comparable,
    )


def _incomparable(baseline: Results, run: Results, pattern: str) -> str:
    """Why `pattern` of `run` cannot be compared with the baseline's ("" if it can)."""
    result = run.patterns.get(pattern)
    if result is None:
        return "not run"
    if not result.projections:
        return f"nothing measured ({result.status})"
    for part in _COMPARED_SCENARIO_PARTS:
        if _canonical(baseline.scenario.get(part)) != _canonical(run.scenario.get(part)):
            return f"its scenario's {part} differs from the baseline's"
    if result.variables != baseline.patterns[pattern].variables:
        return "its variables differ from the baseline's"
    return ""


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _cell(
    run_id: str,
    pattern: PatternResult,
    projection: ProjectionResult,
    base: ProjectionResult | None,
    threshold: float,
    min_delta_ms: float,
) -> Cell:
    lag = projection.lag.from_commit_ms if projection.lag else None
    anomalies = _anomalies(projection)
    converged = bool(projection.convergence and projection.convergence.converged)
    regressions = []
    if base is not None:
        base_lag = base.lag.from_commit_ms if base.lag else None
        if base_lag and base_lag.p99 is not None and lag and lag.p99 is not None:
            delta = lag.p99 - base_lag.p99
            if delta > base_lag.p99 * threshold and delta > min_delta_ms:
                growth = f" (+{delta / base_lag.p99:.0%})" if base_lag.p99 else ""
                regressions.append(
                    f"p99 lag {lag.p99:.1f} ms against {base_lag.p99:.1f} ms{growth}"
                )
        if anomalies > _anomalies(base):
            regressions.append(f"{anomalies} anomalies against {_anomalies(base)}")
        if base.check.valid is True and projection.check.valid is not True:
            regressions.append(f"verdict {projection.check.valid} against valid")
        if base.convergence and base.convergence.converged and not converged:
            regressions.append("did not converge")
    return Cell(
        run_id=run_id,
        p50_ms=lag.p50 if lag else None,
        p99_ms=lag.p99 if lag else None,
        max_ms=lag.max if lag else None,
        anomalies=anomalies,
        valid=projection.check.valid,
        converged=converged,
        emulator_bound=bool(pattern.saturation and pattern.saturation.emulator_bound),
        regressions=regressions,
    )


def _anomalies(projection: ProjectionResult) -> int:
    return sum(n for kind, n in projection.check.counts.items() if kind != "unconverged")
