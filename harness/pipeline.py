"""One run: the target starts; then for each pattern: a fresh source schema, deploy, observe
while the load runs, wait for convergence, record what was measured, check it, destroy; then
results.json and index.html; the target stops.

Whatever happens (errors, Ctrl-C, SIGTERM), Terraform destroys what it applied, the target
stops, and the results gathered so far are written.
"""

import os
import secrets
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from harness import apps, progress, terraform
from harness import workers as workers_module
from harness.aws import HARNESS_AGENT
from harness.check.protocol import Convergence
from harness.check.saturation import busy_while
from harness.companions import companions
from harness.convergence import await_convergence
from harness.cost.resources import extract_resources
from harness.errors import UserError
from harness.evaluation import evaluate
from harness.load import schema
from harness.load.clock import measure_offset, writer_offsets
from harness.load.ledger import Change, final_state, read_ledger
from harness.load.locust_runner import run_locust
from harness.observe import Observer, make_observer
from harness.observe.base import write_snapshot
from harness.patterns import Pattern, patterns
from harness.report.html import write_html
from harness.report.results import PatternResult, ProjectionResult, Results, Status
from harness.run_files import PatternFiles
from harness.scenario import Entry, Scenario
from harness.settings import Settings
from harness.targets import Target, TargetOptions, make_target
from harness.targets.services import services_of
from harness.teardown import dms_task_stopper

Load = Callable[[Path, apps.Spec | None], None]
"""Offers the scenario's load for one pattern: its ledger into `<folder>/ledger/`."""


@dataclass
class RunOutcome:
    run_dir: Path
    results: Results


def run(
    scenario: Scenario,
    target_name: str,
    settings: Settings,
    options: TargetOptions | None = None,
) -> RunOutcome:
    """Run every pattern of the scenario on the target; always writes the report."""
    run_id = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{scenario.name}-{secrets.token_hex(2)}"
    run_dir = _make_run_dir(settings.reports_dir.resolve() / run_id)
    results = Results(
        run_id=run_id,
        started_at=_now(),
        scenario=scenario.model_dump(mode="json"),
        host=socket.gethostname(),
        pid=os.getpid(),
    )

    def checkpoint() -> None:
        """What is known so far on disk, for `cdcbench report` if this process dies."""
        results.write(run_dir)

    progress.console.print(f"Run [bold]{run_id}[/] on target [bold]{target_name}[/]")
    schema.forget_added()
    if scenario.schema_change is not None:  # observers read row images that may carry it
        change = scenario.schema_change
        schema.register_added(change.table, change.column, change.sql_type)
    try:
        results.environment.tools["terraform"] = terraform.terraform_version(settings)
        checkpoint()
        options = options or TargetOptions()
        options = replace(options, services=needed_services(scenario, options.workers))
        with make_target(target_name, settings, run_dir / "target", options) as target:
            results.target = target.describe() | (
                {"workers": options.workers} if options.workers else {}
            )
            if target.needs_plans:
                target.preflight(plan_patterns(scenario, target, settings, run_id))
            with _load(target, scenario, settings, run_dir, run_id) as load:
                for entry in scenario.entries():
                    pattern = patterns()[entry.pattern]
                    results.patterns[entry.name] = result = PatternResult(
                        summary=pattern.summary, pattern=entry.pattern
                    )
                    why_not = target.cannot_run(pattern_services(pattern))
                    if why_not is not None:
                        result.status = "skipped"
                        result.error = f"skipped on {target_name}: {why_not}"
                        line = f"{entry.name}: {result.error}"
                        progress.console.print(line, style="yellow", markup=False, soft_wrap=True)
                    else:
                        _run_pattern(
                            entry, pattern, scenario, target, settings, run_dir, result, load,
                            checkpoint,
                        )  # fmt: skip
                    checkpoint()
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
    entry: Entry,
    pattern: Pattern,
    scenario: Scenario,
    target: Target,
    settings: Settings,
    run_dir: Path,
    result: PatternResult,
    load: Load,
    checkpoint: Callable[[], None],
) -> None:
    """Fresh source schema, deploy, measure, destroy; re-raises an interrupt after destroy.
    `entry`: the pattern or the variant of it that runs, with the variables it sets;
    `load` offers the scenario's load; `checkpoint` writes the results known so far."""
    identities = (scenario.source.replica_identity, pattern.replica_identity)
    schema.reset(target.source_dsn, "full" if "full" in identities else "default")
    result.variables = pattern.effective_variables(entry.variables)
    files = PatternFiles(run_dir / entry.name)
    # the run directory's name is the run id
    deployment = _deployment(entry, pattern, target, settings, files.root, run_dir.name)
    try:
        with deployment:
            outputs = deployment.outputs
            result.resources = extract_resources(deployment.state())
            floors_ms = pattern.floors_ms(outputs)
            interrupted = _measure(
                pattern, scenario, target, outputs, files, result, floors_ms, load, checkpoint
            )
    finally:
        result.terraform_s = deployment.timings
    if interrupted:
        raise KeyboardInterrupt


def _deployment(
    entry: Entry, pattern: Pattern, target: Target, settings: Settings, workdir: Path, run_id: str
) -> terraform.Deployment:
    """The pattern's root module with the scenario's variables and what the harness provides,
    in `workdir`, on the target's AWS API; its state in S3 when the target was given one."""
    provided = pattern.provided_values(run_id, target.source_dsn, target.connector_plugin)
    return terraform.Deployment(
        pattern.name,
        workdir,
        target.aws.env(),
        {**entry.variables, **provided},
        settings,
        before_destroy=dms_task_stopper(target.aws),
        remote=terraform.RemoteState.of_run(target.options.state, run_id, entry.name),
    )


def pattern_services(pattern: Pattern) -> frozenset[str]:
    """The AWS services the pattern creates resources in (boto3 names)."""
    return services_of(pattern.resource_types)


def needed_services(scenario: Scenario, workers: int = 0) -> frozenset[str]:
    """The AWS services the scenario's patterns (and its Locust workers) create resources in."""
    found = patterns()
    own = workers_module.services() if workers else frozenset()
    return own.union(*(pattern_services(found[e.pattern]) for e in scenario.entries()))


@contextmanager
def _load(
    target: Target, scenario: Scenario, settings: Settings, run_dir: Path, run_id: str
) -> Iterator[Load]:
    """How the run offers its load: Locust on this host, or its workers on ECS (applied for
    the whole run)."""
    dsn, env = target.source_dsn, target.aws.env()
    if not target.options.workers:
        yield lambda folder, app: run_locust(dsn, scenario, folder, env, app)
        return
    workdir = run_dir / workers_module.NAME
    with workers_module.deployed_workers(target, settings, workdir, run_id) as workers:
        yield lambda folder, app: workers.load(dsn, scenario, folder, env, app)


def plan_patterns(
    scenario: Scenario, target: Target, settings: Settings, run_id: str
) -> dict[str, dict[str, Any]]:
    """Each pattern's Terraform plan on the target (`terraform show -json`), made in a
    temporary folder that goes with the plan files (they hold the variables' values)."""
    plans = {}
    for entry in scenario.entries():
        pattern = patterns()[entry.pattern]
        if target.cannot_run(pattern_services(pattern)) is not None:
            continue
        with tempfile.TemporaryDirectory(prefix="cdcbench-plan-") as workdir:
            deployment = _deployment(entry, pattern, target, settings, Path(workdir), run_id)
            plans[entry.name] = deployment.plan()
    if target.options.workers:
        with tempfile.TemporaryDirectory(prefix="cdcbench-plan-") as workdir:
            workers_plan = workers_module.plan(target, settings, Path(workdir), run_id)
            plans[workers_module.NAME] = workers_plan
    return plans


def plan_only(
    scenario: Scenario, target_name: str, settings: Settings, options: TargetOptions
) -> dict[str, dict[str, Any]]:
    """Plan every pattern of the scenario on the target; create nothing. Each plan by entry."""
    run_id = f"plan-{secrets.token_hex(3)}"
    options = replace(options, services=needed_services(scenario, options.workers))
    with tempfile.TemporaryDirectory(prefix="cdcbench-target-") as log_dir:
        Path(log_dir).chmod(0o755)  # the embedded PostgreSQL's OS user writes there
        with make_target(target_name, settings, Path(log_dir), options) as target:
            return plan_patterns(scenario, target, settings, run_id)


def _measure(
    pattern: Pattern,
    scenario: Scenario,
    target: Target,
    outputs: dict[str, Any],
    files: PatternFiles,
    result: PatternResult,
    floors_ms: dict[str, float],
    load: Load,
    checkpoint: Callable[[], None],
) -> bool:
    """Observe while loading, await convergence, record, evaluate. True if interrupted
    (what was measured until then is kept and evaluated)."""
    with psycopg.connect(target.source_dsn, autocommit=True) as conn:
        clock = measure_offset(conn)
    result.clocks = [clock]
    application = apps.Spec(pattern.application, outputs) if pattern.application else None
    if application is not None:
        apps.prepare(application, target.source_dsn)
    watching = replace(target.aws, agent=HARNESS_AGENT)  # not the pattern's usage
    observers = {
        p.name: make_observer(
            p.observer,
            p.name,
            files.observations(p.name),
            watching,
            p.observer_parameters(outputs),
            target.observer_budget,
        )
        for p in pattern.projections
    }
    result.projections = {  # what `cdcbench report` reads if the run dies from here on
        p.name: ProjectionResult(
            kind=p.kind, observer=p.observer, floor_ms=floors_ms[p.name], observed=0
        )
        for p in pattern.projections
    }
    checkpoint()
    limits_before = len(target.emulator_limits())
    busy: dict[str, float] = {}
    changes: list[Change] | None = None
    convergence: dict[str, Convergence] = {}
    interrupted = False
    with _observing(observers), companions(pattern, application, outputs, target, files) as own:

        def failures() -> dict[str, str]:
            return {**target.engine_failures(), **own.failures()}

        try:
            used_before = target.usage()
            busy = busy_while(target.cpu_seconds, lambda: load(files.root, application))
            changes = read_ledger(files.ledger, clock)  # complete: the load has ended
            convergence = await_convergence(
                final_state(changes),
                observers,
                {name: floor / 1000 for name, floor in floors_ms.items()},
                scenario.check.converge_timeout_s,
                scenario.check.settle_s,
                failures,
            )
            _record_failures(failures(), result)
            result.usage = _spent(used_before, target.usage())
            result.dead_letters = _dead_letters(pattern, outputs, target)
        except KeyboardInterrupt:
            interrupted = True
    result.emulator_limits = target.emulator_limits()[limits_before:]
    result.clocks = [clock, *writer_offsets(files.ledger)]
    result.projections = _record(pattern, observers, files, convergence, floors_ms)
    spec, offered = scenario.check, scenario.load.rate_per_s
    evaluate(files.root.name, result, files, spec, offered, busy, target.emulated, changes)
    result.status = "interrupted" if interrupted else "completed"
    return interrupted


@contextmanager
def _observing(observers: dict[str, Observer]) -> Iterator[None]:
    """Every observer polls while the block runs, and has stopped (its log closed) after."""
    for observer in observers.values():
        observer.start()
    try:
        yield
    finally:
        for observer in observers.values():
            observer.stop()


def _spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """What the pattern's services were asked for between two readings of the target's meter."""
    return {
        key: round(n - before.get(key, 0.0), 6)
        for key, n in after.items()
        if n > before.get(key, 0.0)
    }


def _dead_letters(pattern: Pattern, outputs: dict[str, Any], target: Target) -> dict[str, int]:
    """Messages in each of the pattern's dead-letter queues (visible or in flight)."""
    sqs = target.aws.client("sqs")
    depths = {}
    for name, output in pattern.dead_letter_queues.items():
        attributes = sqs.get_queue_attributes(
            QueueUrl=outputs[output],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        depths[name] = sum(int(v) for v in attributes.values())
    return depths


def _record_failures(failures: dict[str, str], result: PatternResult) -> None:
    """Services that failed (a DMS task, a Lambda mapping, a companion process) end the
    pattern's wait."""
    if failures:
        result.error = "; ".join(f"{name} failed: {why}" for name, why in failures.items())
        progress.console.print(result.error, style="red", markup=False, soft_wrap=True)


def _record(
    pattern: Pattern,
    observers: dict[str, Observer],
    files: PatternFiles,
    convergence: dict[str, Convergence],
    floors_ms: dict[str, float],
) -> dict[str, ProjectionResult]:
    """What each projection showed, as measured: its observer's figures and, for a state
    projection, its final snapshot on disk beside its observations."""
    projections = {}
    for projection in pattern.projections:
        observer = observers[projection.name]
        error = observer.error
        if projection.kind == "state":
            try:
                write_snapshot(files.snapshot(projection.name), observer.snapshot())
            except Exception as exc:
                error = error or f"snapshot failed: {type(exc).__name__}: {exc}"
        projections[projection.name] = ProjectionResult(
            kind=projection.kind,
            observer=projection.observer,
            floor_ms=floors_ms[projection.name],
            observed=observer.observed,
            observer_stats=observer.stats(),
            convergence=convergence.get(projection.name),
            error=error,
        )
    return projections


def _make_run_dir(run_dir: Path) -> Path:
    try:
        run_dir.mkdir(parents=True)
    except OSError as exc:
        raise UserError(
            f"cannot create the run directory {run_dir}: {exc.strerror}: "
            "choose another with --reports-dir or CDCBENCH_REPORTS_DIR"
        ) from None
    return run_dir


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
