"""One run: the target starts; then for each group of patterns that share a load (each pattern
alone unless `load.isolation: shared`): a fresh source schema, deploy them at once, observe
while the load runs, wait for convergence, record what was measured, check it, destroy them at
once; then results.json and index.html; the target stops.

Whatever happens (errors, Ctrl-C, SIGTERM), Terraform destroys what it applied, the target
stops, and the results gathered so far are written.
"""

import os
import secrets
import socket
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from harness import apps, progress, terraform
from harness import workers as workers_module
from harness.aws import HARNESS_AGENT
from harness.busy import BusySeries, sampled
from harness.capacity.verdict import Capacity
from harness.check.projection import shows_each_change
from harness.check.protocol import Convergence
from harness.companions import companions
from harness.convergence import await_convergence
from harness.cost.resources import extract_resources
from harness.errors import UserError
from harness.evaluation import evaluate
from harness.isolation import account_owner, failures_of, groups, usage_of
from harness.load import schema
from harness.load.clock import measure_offset, writer_offsets
from harness.load.ledger import Change, final_state
from harness.load.locust_runner import run_locust
from harness.nemesis import KINDS, FaultSpec, Nemesis, held_up_s
from harness.observe import Observer, make_observer
from harness.observe.base import write_snapshot
from harness.offering import Drive, Offered, Offering, Watched, once
from harness.patterns import Pattern, patterns
from harness.report.html import write_html
from harness.report.results import PatternResult, ProjectionResult, Results, Status
from harness.run_files import PatternFiles, link_tree
from harness.scenario import Entry, Scenario
from harness.scratch import scratch_folder
from harness.settings import Settings
from harness.targets import Target, TargetOptions, make_target
from harness.targets.services import services_of
from harness.teardown import dms_task_stopper

Load = Callable[[Path, apps.Spec | None, Scenario], None]
"""Offers a scenario's load for one pattern: its ledger into `<folder>/ledger/`."""


@dataclass
class RunOutcome:
    run_dir: Path
    results: Results


def run(
    scenario: Scenario,
    target_name: str,
    settings: Settings,
    options: TargetOptions | None = None,
    drive: Drive = once,
) -> RunOutcome:
    """Run every pattern of the scenario on the target, each load offered by `drive` (once,
    or a capacity search's steps); always writes the report."""
    run_id = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{scenario.name}-{secrets.token_hex(2)}"
    run_dir = _make_run_dir(settings.reports_dir.resolve() / run_id)
    results = Results(
        run_id=run_id,
        started_at=_now(),
        scenario=scenario.model_dump(mode="json"),
        host=socket.gethostname(),
        pid=os.getpid(),
        target={"name": target_name},
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
        options = options or TargetOptions()
        options = replace(options, services=needed_services(scenario, options.workers))
        with scratch_folder(run_dir / "target") as scratch:
            results.scratch = str(scratch)
            checkpoint()  # named before anything starts in it: `destroy` finds what did
            with make_target(target_name, settings, run_dir / "target", options) as target:
                results.target = target.describe() | (
                    {"workers": options.workers} if options.workers else {}
                )
                checkpoint()
                if target.needs_plans:
                    target.preflight(plan_patterns(scenario, target, settings, run_id))
                with _load(target, settings, run_dir, run_id) as load:
                    _run_groups(
                        scenario, target, settings, run_dir, results, load, drive, checkpoint
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


def _run_groups(
    scenario: Scenario,
    target: Target,
    settings: Settings,
    run_dir: Path,
    results: Results,
    load: Load,
    drive: Drive,
    checkpoint: Callable[[], None],
) -> None:
    """Each group of entries that shares a load (`isolation.groups`) in turn; an entry the
    target cannot run is skipped. A group's destroys overlap the next group's applies."""
    found = patterns()
    teardown = terraform.Teardown()
    try:
        for group in groups(
            scenario.entries(),
            scenario.load.isolation,
            lambda name: found[name].application is not None,
        ):
            members = []
            for entry in group:
                pattern = found[entry.pattern]
                results.patterns[entry.name] = result = PatternResult(
                    summary=pattern.summary, pattern=entry.pattern
                )
                why_not = target.cannot_run(pattern_services(pattern))
                if why_not is None:
                    members.append(_Member(entry, pattern, result, run_dir / entry.name))
                    continue
                result.status = "skipped"
                result.error = f"skipped on {target.name}: {why_not}"
                line = f"{entry.name}: {result.error}"
                progress.console.print(line, style="yellow", markup=False, soft_wrap=True)
            if members:
                _run_group(
                    members, scenario, target, settings, run_dir, load, drive, checkpoint, teardown
                )
            checkpoint()
    finally:
        teardown.finish()


class _Member:
    """One entry of a group that shares a load, and what the run learns of it."""

    def __init__(self, entry: Entry, pattern: Pattern, result: PatternResult, root: Path) -> None:
        self.entry, self.pattern, self.result = entry, pattern, result
        self.files = PatternFiles(root)
        self.outputs: dict[str, Any] = {}
        self.floors_ms: dict[str, float] = {}
        self.observers: dict[str, Observer] = {}
        self.state: dict[str, Any] = {}
        """Its deployment's Terraform state once applied (where faults find their targets)."""
        self.names: set[str] = set()
        """What its deployment named (ids, names, ARNs): whose an engine's failure is."""


def _run_group(
    members: list[_Member],
    scenario: Scenario,
    target: Target,
    settings: Settings,
    run_dir: Path,
    load: Load,
    drive: Drive,
    checkpoint: Callable[[], None],
    teardown: terraform.Teardown,
) -> None:
    """Fresh source schema; deploy every member at once; measure them under one load (once
    the previous group's destroys have ended); leave their destroys to `teardown`; re-raises an
    interrupt after destroying. Each member is a pattern or a variant of one, with the
    variables it sets; `load` offers the scenario's load; `checkpoint` writes the results
    known so far."""
    identities = {scenario.source.replica_identity} | {m.pattern.replica_identity for m in members}
    schema.reset(target.source_dsn, "full" if "full" in identities else "default")
    effective = [m.pattern.effective_variables(m.entry.variables) for m in members]
    extra, owner = account_owner(effective)
    deployments = []
    for member, values, more in zip(members, effective, extra, strict=True):
        member.result.variables = {**values, **more}
        member.result.shared_load = [m.entry.name for m in members if m is not member]
        entry = member.entry.model_copy(update={"variables": {**member.entry.variables, **more}})
        run_id = run_dir.name
        deployments.append(
            _deployment(
                entry, member.pattern, target, settings, member.files.root, run_id, scenario.faults
            )
        )
    # a variant of a pattern being destroyed, or the account's dms-vpc-role being deleted
    teardown.clear_of((d.module for d in deployments), account_wide=owner is not None)
    try:
        with terraform.deployed(deployments, owner, teardown):
            for member, deployment in zip(members, deployments, strict=True):
                member.outputs = deployment.outputs
                member.state = state = deployment.state()
                member.result.resources = extract_resources(state)
                member.names = _named(state) if len(members) > 1 else set()
                member.floors_ms = member.pattern.floors_ms(member.outputs)
            teardown.finish()
            interrupted = _measure(members, scenario, target, load, drive, checkpoint)
            if interrupted:
                raise KeyboardInterrupt  # destroys now, not in the background
    finally:
        for member, deployment in zip(members, deployments, strict=True):
            member.result.terraform_s = deployment.timings  # destroy_s once the teardown ends


def _named(state: dict[str, Any]) -> set[str]:
    """The ids, names and ARNs of the resources a Terraform state records."""
    return {
        value
        for resource in state.get("resources", [])
        if resource.get("mode") == "managed"
        for instance in resource.get("instances", [])
        for key in ("id", "name", "arn")
        if isinstance(value := instance.get("attributes", {}).get(key), str) and len(value) >= 8
    }


def _deployment(
    entry: Entry,
    pattern: Pattern,
    target: Target,
    settings: Settings,
    workdir: Path,
    run_id: str,
    faults: Sequence[FaultSpec],
) -> terraform.Deployment:
    """The pattern's root module with the scenario's variables and what the harness provides
    (what `faults` need of it on the target too), in `workdir`, on the target's AWS API; its
    state in S3 when the target was given one."""
    provided = pattern.provided_values(run_id, target.cloud_source_dsn, target.connector_plugin)
    for spec in faults:
        kind = KINDS[spec.kind]
        if kind.applies_to(pattern.resource_types):
            needed = kind.deployment(target).items()
            provided |= {k: v for k, v in needed if k in pattern.module.variables}
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
def _load(target: Target, settings: Settings, run_dir: Path, run_id: str) -> Iterator[Load]:
    """How the run offers its load: Locust on this host, or its workers on ECS (applied for
    the whole run)."""
    dsn, env = target.source_dsn, target.aws.env()
    if not target.options.workers:
        yield lambda folder, app, offered: run_locust(dsn, offered, folder, env, app)
        return
    workdir = run_dir / workers_module.NAME
    with workers_module.deployed_workers(target, settings, workdir, run_id) as workers:
        yield lambda folder, app, offered: workers.load(dsn, offered, folder, env, app)


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
            deployment = _deployment(
                entry, pattern, target, settings, Path(workdir), run_id, scenario.faults
            )
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
    members: list[_Member],
    scenario: Scenario,
    target: Target,
    load: Load,
    drive: Drive,
    checkpoint: Callable[[], None],
) -> bool:
    """Observe every member while one load runs, await convergence, record, evaluate. True if
    interrupted (what was measured until then is kept and evaluated). The load writes its
    ledger into the first member's folder, linked into the others'; only a member alone has
    an application (`isolation.groups`)."""
    with psycopg.connect(target.source_dsn, autocommit=True) as conn:
        clock = measure_offset(conn)
    lead = members[0]
    application = (
        apps.Spec(lead.pattern.application, lead.outputs) if lead.pattern.application else None
    )
    if application is not None:
        apps.prepare(application, target.source_dsn)
    watching = replace(target.aws, agent=HARNESS_AGENT)  # not the patterns' usage
    for member in members:
        member.result.clocks = [clock]
        member.observers = {
            p.name: make_observer(
                p.observer,
                p.name,
                member.files.observations(p.name),
                watching,
                p.observer_parameters(member.outputs),
                target.observer_budget,
            )
            for p in member.pattern.projections
        }
        member.result.projections = {  # what `cdcbench report` reads if the run dies from here
            p.name: ProjectionResult(
                kind=p.kind, observer=p.observer, floor_ms=member.floors_ms[p.name], observed=0
            )
            for p in member.pattern.projections
        }
    checkpoint()
    limits_before = len(target.emulator_limits())
    busy: dict[str, float] = {}
    over_time: dict[str, BusySeries] = {}
    changes: list[Change] | None = None
    offered: Offered | None = None
    convergence: dict[str, Convergence] = {}
    interrupted = False
    # each projection of each member, by a key unique within the group (its name alone)
    whose = {
        (p if len(members) == 1 else f"{m.entry.name}/{p}"): (m, p)
        for m in members
        for p in m.observers
    }
    with ExitStack() as stack:
        own = {}
        for member in members:
            stack.enter_context(_observing(member.observers))
            own[member.entry.name] = stack.enter_context(
                companions(member.pattern, application, member.outputs, target, member.files)
            )
        nemeses = {
            m.entry.name: stack.enter_context(
                Nemesis(scenario.faults, m.state, target, m.pattern.faults)
            )
            for m in members
        }
        for member in members:
            member.result.faults = nemeses[member.entry.name].records

        def offer(folder: Path, loaded: Scenario) -> None:
            for nemesis in nemeses.values():
                nemesis.begin()
            load(folder, application, loaded)

        def failures(member: _Member) -> dict[str, str]:
            engines = _theirs(target.engine_failures(), member, members)
            return {**engines, **own[member.entry.name].failures()}

        def converge(changes: Sequence[Change]) -> dict[str, Convergence]:
            return await_convergence(
                final_state(changes),
                {key: m.observers[p] for key, (m, p) in whose.items()},
                {key: m.floors_ms[p] / 1000 for key, (m, p) in whose.items()},
                scenario.check.converge_timeout_s,
                scenario.check.settle_s,
                lambda key: bool(failures(whose[key][0])),
                {key: held_up_s(m.result.faults) for key, (m, _) in whose.items()},
            )

        def record(capacity: Capacity) -> None:
            lead.result.capacity = capacity
            checkpoint()

        offering = Offering(
            lead.files.root,
            scenario,
            offer,
            target.cpu_seconds,
            clock,
            converge,
            {key: _watched(m, p) for key, (m, p) in whose.items()},
            target.emulated,
            record,
        )
        try:
            used_before = target.usage()
            with sampled(target.cpu_seconds) as over_time:
                offered = drive(offering)
                busy, changes, convergence = offered.busy, offered.changes, offered.convergence
                for member in members[1:]:
                    link_tree(lead.files.ledger, member.files.ledger)
            used = _spent(used_before, target.usage())
            for member in members:
                _record_failures(failures(member), member.result)
                member.result.usage = _attributed(used, member, members)
                member.result.dead_letters = _dead_letters(member.pattern, member.outputs, target)
        except KeyboardInterrupt:
            interrupted = True
    limits = target.emulator_limits()[limits_before:]
    spec = scenario.check
    offered_per_s = offered.offered_per_s if offered else scenario.load.rate_per_s
    for member in members:
        result, files = member.result, member.files
        result.emulator_limits = limits
        result.clocks = [clock, *writer_offsets(files.ledger)]
        converged = {
            p: convergence[k] for k, (m, p) in whose.items() if m is member and k in convergence
        }
        result.projections = _record(
            member.pattern, member.observers, files, converged, member.floors_ms
        )
        evaluate(
            files.root.name, result, files, spec, offered_per_s, busy, target.emulated, changes,
            over_time,
        )  # fmt: skip
        result.status = "interrupted" if interrupted else "completed"
    return interrupted


def _watched(member: _Member, projection: str) -> Watched:
    described = next(p for p in member.pattern.projections if p.name == projection)
    return Watched(
        member.observers[projection],
        member.files.observations(projection),
        member.floors_ms[projection],
        shows_each_change(described.kind, described.feed),
    )


def _theirs(failures: dict[str, str], member: _Member, members: list[_Member]) -> dict[str, str]:
    """The failures of the emulated services that are the member's (all of them alone)."""
    if len(members) == 1:
        return failures
    return failures_of(failures, member.names, [m.names for m in members if m is not member])


def _attributed(
    used: dict[str, float], member: _Member, members: list[_Member]
) -> dict[str, float]:
    """What the target counted, as the member's usage (all of it alone)."""
    if len(members) == 1:
        return used

    def incurred(m: _Member) -> set[str]:
        return {key for r in m.result.resources or [] for key in r.usage_keys}

    others = set().union(*(incurred(m) for m in members if m is not member))
    return usage_of(used, incurred(member), others)


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
