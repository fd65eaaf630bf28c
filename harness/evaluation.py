"""A pattern's figures and verdict from what its run left on disk: the ledger, each
projection's observations and final snapshot (see `run_files`), and what was recorded while
it ran (clock offsets, convergence, the emulator's CPU). `run` calls it once the measuring
is over and `cdcbench check` on a finished run: one function over the same files, so both
give the same figures."""

from collections.abc import Mapping, Sequence

from harness import progress
from harness.apps.emits import read_emits, summarize
from harness.busy import BusySeries
from harness.check.attribution import attribute
from harness.check.hops import hop_lag
from harness.check.lag import lag_report, sightings
from harness.check.late_objects import shown_only_late
from harness.check.projection import check_projection, shows_each_change
from harness.check.protocol import Convergence, Evidence
from harness.check.result import merge_validity
from harness.check.saturation import assess
from harness.check.schema_change import judge_schema_change
from harness.check.throughput import measure_throughput
from harness.cost.estimate import monthly_cost
from harness.load.ledger import Change, Ledger, Version
from harness.load.locust_runner import load_stats
from harness.load.schema_change import read_schema_change
from harness.nemesis import judge_faults
from harness.nemesis.evidence import lost_evidence, wanted
from harness.nemesis.faults import LOB_LIMIT_VARIABLE
from harness.observe.base import Observations, SnapshotRows, standing
from harness.patterns import AddedColumn, patterns
from harness.report.results import PatternResult
from harness.run_files import PatternFiles
from harness.scenario import CheckSpec

UNREACHED = Convergence(converged=False, seconds=0.0)
"""A projection the run stopped waiting for before it was judged (interrupted)."""


def usage_per_change(result: PatternResult) -> dict[str, float]:
    """The billed usage its resources incur, per committed change of the run."""
    committed = result.load.committed if result.load else 0
    incurred = {key for r in result.resources or () for key in r.usage_keys}
    if not committed:
        return {}
    return {k: n / committed for k, n in result.usage.items() if k in incurred}


def evaluate(
    name: str,
    result: PatternResult,
    files: PatternFiles,
    spec: CheckSpec,
    offered_per_s: float,
    busy: Mapping[str, float],
    emulated: bool,
    changes: Sequence[Change] | None = None,
    busy_over_time: Mapping[str, BusySeries] | None = None,
) -> None:
    """Fill in `result`'s load, the application's sends, each projection's lag (each window
    attributed) and check, the saturation verdict and the pattern's validity. `busy`: the
    share of a core each emulator process used during the load; `busy_over_time`: the same,
    second by second until the projections converged. `changes`: the whole ledger if the
    caller read it already (on the clock of `result.clocks[0]`); else it is read here."""
    with progress.step(f"Checking {name}"):
        if changes is None:
            changes = Ledger.merge(files.ledger, result.clocks[0] if result.clocks else None)
        changes = Ledger.of(changes)  # held column by column: millions of changes fit
        result.load = load_stats(changes, files.root, offered_per_s)
        result.schema_change = ddl = read_schema_change(files.ledger)
        emits = read_emits(files.ledger)
        result.emits = summarize(emits, changes)
        pattern = patterns().get(result.pattern or name)
        described = pattern.projections if pattern else ()
        expected = {p.name: p.added_column for p in described}
        feeds = {p.name: p.feed for p in described}
        upstreams = {p.name: p.hop.upstream for p in described if p.hop.upstream}
        observed = {}
        seen_at = {}
        lost_wanted = wanted(result.faults)
        late: dict[str, set[Version]] = {}
        """Per object store feeding another projection, what it showed only late."""
        for projection_name, projection in result.projections.items():
            logged = Observations.read(files.observations(projection_name))
            projection.observed = len(logged)  # what its observer logged (also of a killed run)
            observations = standing(logged)
            del logged  # what still stands is all that is judged
            observed[projection_name] = observations.numbers("seen_ns")  # all throughput needs
            feeds_another = projection_name in upstreams.values()
            reads_late = feeds_another and projection.observer == "s3_objects"
            if "late_files" in lost_wanted and reads_late:
                late[projection_name] = shown_only_late(observations)
            snapshot_path = files.snapshot(projection_name)
            evidence = Evidence(
                changes,
                observations,
                SnapshotRows.read(snapshot_path) if snapshot_path.exists() else None,
                projection.convergence or UNREACHED,
                spec.max_examples,
            )
            projection.feed = feeds.get(projection_name, projection.feed)
            exact = shows_each_change(projection.kind, projection.feed)
            seen_at[projection_name] = sighted = sightings(changes, observations, exact)
            projection.lag = lag_report(changes, sighted, spec.lag_window_s)
            projection.check = check_projection(projection.kind, projection.feed, evidence)
            if ddl is not None:
                added = expected.get(projection_name, AddedColumn())
                stats = projection.observer_stats
                projection.schema_change = judge_schema_change(
                    exact,
                    ddl,
                    evidence,
                    added.arrives,
                    added.note,
                    stats.control_records if stats else None,
                )
            del observations, evidence  # one projection's log in memory at a time
        for projection_name, upstream in upstreams.items():
            if projection_name in seen_at and upstream in seen_at:
                result.projections[projection_name].hop = hop_lag(
                    upstream, seen_at[upstream], seen_at[projection_name]
                )
        result.throughput = measure_throughput(changes, observed, spec.lag_window_s)
        if result.throughput is not None:
            origin_s = result.throughput.origin_ns / 1e9
            for projection in result.projections.values():
                stats = projection.observer_stats
                windows = projection.lag.over_time if projection.lag else []
                bounds = attribute(
                    windows,
                    spec.lag_window_s,
                    origin_s,
                    stats,
                    (busy_over_time or {}) if emulated else {},
                )
                for window, bound in zip(windows, bounds, strict=True):
                    window.bound = bound
            origin_ns = result.throughput.origin_ns
            lost = lost_evidence(
                lost_wanted,
                result.projections,
                changes,
                seen_at,
                spec.lag_window_s,
                emits,
                late,
                upstreams,
                result.variables.get(LOB_LIMIT_VARIABLE),
            )
            judge_faults(result.faults, result.projections, origin_ns, spec.lag_window_s, lost)
        if result.resources is not None:
            result.cost = monthly_cost(
                result.resources, usage_per_change(result), result.load.committed_per_s
            )
        result.saturation = saturation = assess(
            result.load, busy, result.projections, emulated, busy_over_time
        )
        result.valid = merge_validity(p.check.valid for p in result.projections.values())
    if saturation.emulator_bound:
        reasons = "; ".join(saturation.reasons)
        progress.console.print(f"[yellow]{name}: lag figures are emulator-bound: {reasons}[/]")
