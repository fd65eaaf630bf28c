"""One run: target up → for each pattern: fresh source schema, apply, observe while loading,
wait for convergence, check, destroy → results.json + index.html → target down.

Whatever happens (errors, Ctrl-C, SIGTERM), Terraform destroys what it applied,
the target stops, and the results gathered so far are written.
"""

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from harness import progress, terraform
from harness.check.divergent import check_divergent
from harness.check.events import check_events
from harness.check.lag import measure_lag
from harness.check.result import CheckResult, compose, merge_validity
from harness.check.saturation import ProjectionLoad, assess
from harness.check.state import check_state
from harness.convergence import await_convergence
from harness.errors import UserError
from harness.load import schema
from harness.load.clock import ClockOffset, measure_offset, read_offset
from harness.load.ledger import Change, final_state, read_ledger
from harness.load.locust_runner import load_stats, run_locust
from harness.observe import Observer, make_observer, read_observations
from harness.patterns import PATTERNS, Pattern
from harness.patterns.base import source_variables
from harness.report.html import write_html
from harness.report.results import (
    Convergence,
    PatternResult,
    ProjectionResult,
    Results,
    Status,
)
from harness.scenario import Scenario
from harness.settings import Settings
from harness.targets import Target, make_target
from harness.teardown import dms_task_stopper


@dataclass
class RunOutcome:
    run_dir: Path
    results: Results


def new_run_id(scenario: str) -> str:
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{scenario}-{secrets.token_hex(2)}"


def run(scenario: Scenario, target_name: str, settings: Settings) -> RunOutcome:
    """Run every pattern of the scenario on the target; always writes the report."""
    run_id = new_run_id(scenario.name)
    run_dir = settings.reports_dir.resolve() / run_id
    try:
        run_dir.mkdir(parents=True)
    except OSError as exc:
        raise UserError(
            f"cannot create the run directory {run_dir}: {exc.strerror}: "
            "choose another with --reports-dir or CDCBENCH_REPORTS_DIR"
        ) from None
    results = Results(
        run_id=run_id,
        started_at=_now(),
        scenario=scenario.model_dump(mode="json"),
    )
    progress.console.print(f"Run [bold]{run_id}[/] on target [bold]{target_name}[/]")
    try:
        results.environment.tools["terraform"] = terraform.terraform_version(settings)
        with make_target(target_name, settings, run_dir / "target") as target:
            results.target = target.describe()
            for name in scenario.patterns:
                pattern = PATTERNS[name]
                results.patterns[name] = PatternResult(summary=pattern.summary)
                _run_pattern(
                    pattern,
                    scenario,
                    target,
                    settings,
                    run_dir / name,
                    run_id,
                    results.patterns[name],
                )
        results.status = "completed"
    except KeyboardInterrupt:
        _end_running(results, "interrupted", None)
        raise
    except Exception as exc:
        error = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        _end_running(results, "failed", error)
        raise
    finally:
        results.finished_at = _now()
        results.write(run_dir)
        write_html(results, run_dir)
        _point_latest(settings.reports_dir, run_id)
    return RunOutcome(run_dir, results)


def _run_pattern(
    pattern: Pattern,
    scenario: Scenario,
    target: Target,
    settings: Settings,
    workdir: Path,
    run_id: str,
    result: PatternResult,
) -> None:
    """Fresh source schema, deploy, measure, destroy; re-raises an interrupt after destroy."""
    identities = (scenario.source.replica_identity, pattern.replica_identity)
    schema.reset(target.source_dsn, "full" if "full" in identities else "default")
    tunables = pattern.effective_variables(scenario.pattern_variables.get(pattern.name, {}))
    variables = {"run_id": run_id, **tunables}
    if pattern.source_access:
        variables |= source_variables(target.source_dsn)
    for variable, plugin in pattern.connector_plugins.items():
        variables[variable] = str(target.connector_plugin(plugin))
    result.variables = tunables
    deployment = terraform.Deployment(
        pattern.module,
        workdir,
        target.aws.env(),
        variables,
        settings,
        before_destroy=dms_task_stopper(target.aws),
    )
    try:
        with deployment:
            interrupted = _measure(
                pattern, scenario, target, deployment.outputs, workdir, result, tunables
            )
    finally:
        result.terraform_s = deployment.timings
    if interrupted:
        raise KeyboardInterrupt


def _measure(
    pattern: Pattern,
    scenario: Scenario,
    target: Target,
    outputs: dict[str, Any],
    workdir: Path,
    result: PatternResult,
    variables: dict[str, Any],
) -> bool:
    """Observe while loading, await convergence, check. True if interrupted (results kept)."""
    ledger = workdir / "ledger"
    with psycopg.connect(target.source_dsn, autocommit=True) as conn:
        clock = measure_offset(conn)
    observers = {
        p.name: make_observer(p, outputs, target.aws, workdir / f"observations-{p.name}.csv")
        for p in pattern.projections
    }
    convergence: dict[str, Convergence] = {}
    changes: list[Change] | None = None
    busy: dict[str, float] = {}
    interrupted = False
    limits_before = len(target.emulator_limits())
    floors_ms = {p.name: p.floor_for(variables) for p in pattern.projections}
    for observer in observers.values():
        observer.start()
    try:
        hook = {"pattern": pattern.name, "outputs": outputs} if pattern.post_commit else None
        busy = _cpu_busy(
            target, lambda: run_locust(target.source_dsn, scenario, workdir, target.aws.env(), hook)
        )
        changes = read_ledger(ledger, clock)
        result.load = load_stats(changes, workdir, scenario.load.rate_per_s)
        convergence = await_convergence(
            final_state(changes),
            observers,
            {name: floor / 1000 for name, floor in floors_ms.items()},
            scenario.check.converge_timeout_s,
            scenario.check.settle_s,
            target.engine_failures,
        )
        failures = target.engine_failures()
        if failures:
            result.error = "; ".join(f"{name} failed: {why}" for name, why in failures.items())
            progress.console.print(f"[red]{result.error}[/]")
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for observer in observers.values():
            observer.stop()
        result.emulator_limits = target.emulator_limits()[limits_before:]
    if changes is None:  # interrupted during load: what the ledger holds so far
        changes = read_ledger(ledger, clock)
    result.clocks = [clock, *_writer_clocks(ledger)]
    result.projections = _evaluate(pattern, scenario, changes, observers, convergence, floors_ms)
    result.saturation = assess(
        result.load,
        busy,
        {
            name: ProjectionLoad(
                windows=p.lag.over_time if p.lag else [],
                converge_s=p.convergence.seconds if p.convergence else None,
                floor_ms=p.floor_ms,
            )
            for name, p in result.projections.items()
        },
        target.emulated,
    )
    if result.saturation.emulator_bound:
        progress.console.print(
            f"[yellow]{pattern.name}: lag figures are emulator-bound: "
            f"{'; '.join(result.saturation.reasons)}[/]"
        )
    result.valid = merge_validity(p.check.valid for p in result.projections.values())
    result.status = "interrupted" if interrupted else "completed"
    return interrupted


def _cpu_busy(target: Target, load: Callable[[], None]) -> dict[str, float]:
    """Run `load`; the share of one core each emulator process used meanwhile."""
    before, started = target.cpu_seconds(), time.monotonic()
    load()
    after, wall = target.cpu_seconds(), time.monotonic() - started
    return {name: (after[name] - before[name]) / wall for name in after.keys() & before.keys()}


def _writer_clocks(ledger: Path) -> list[ClockOffset]:
    offsets = (read_offset(path) for path in sorted(ledger.glob("ledger-*.csv")))
    return [offset for offset in offsets if offset is not None]


def _evaluate(
    pattern: Pattern,
    scenario: Scenario,
    changes: list[Change],
    observers: dict[str, Observer],
    convergence: dict[str, Convergence],
    floors_ms: dict[str, float],
) -> dict[str, ProjectionResult]:
    projections = {}
    with progress.step(f"Checking {pattern.name}"):
        for projection in pattern.projections:
            observer = observers[projection.name]
            reached = convergence.get(projection.name)
            converged = reached is not None and reached.converged
            settled = reached is not None and reached.settled
            observations = read_observations(observer.log_path)
            error = observer.error
            limit = scenario.check.max_examples
            try:
                if projection.kind == "event_log":
                    check = check_events(changes, observations, converged, limit, settled)
                else:
                    check = check_state(changes, observer.snapshot(), converged, limit, settled)
            except Exception as exc:
                error = error or f"snapshot failed: {type(exc).__name__}: {exc}"
                check = CheckResult(valid="unknown")
            projections[projection.name] = ProjectionResult(
                kind=projection.kind,
                observer=projection.observer,
                floor_ms=floors_ms[projection.name],
                observed=observer.observed,
                observer_stats=observer.stats(),
                lag=measure_lag(changes, observations, scenario.check.lag_window_s),
                convergence=convergence.get(projection.name),
                check=compose([check, check_divergent(changes, observations, limit)], limit),
                error=error,
            )
    return projections


def _end_running(results: Results, status: Status, error: str | None) -> None:
    results.status, results.error = status, error
    for result in results.patterns.values():
        if result.status == "running":
            result.status, result.error = status, error


def _point_latest(reports_dir: Path, run_id: str) -> None:
    """Make reports/latest a relative symlink to the newest run (replaced atomically)."""
    link = reports_dir / "latest"
    temporary = reports_dir / f".latest-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(run_id)
    os.replace(temporary, link)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
