"""The `cdcbench` command: run, capacity, check, report, compare, publish, gc, patterns, doctor."""

import argparse
import json
import sys
import traceback
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from harness import __version__, signals
from harness.check.schema_change import describe
from harness.errors import INTERRUPTED_EXIT, USER_ERROR_EXIT, UserError
from harness.nemesis import KINDS, as_expected, describe_fault
from harness.patterns import patterns
from harness.report.compare import DEFAULT_MIN_DELTA_MS, DEFAULT_THRESHOLD
from harness.report.html import write_html
from harness.report.results import Results
from harness.run_files import REPORT
from harness.settings import Settings
from harness.targets import TARGETS, TargetOptions

if TYPE_CHECKING:
    from harness.scenario import Scenario


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see {self.prog} --help)")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from harness import pipeline

    scenario, target, options, settings = _prepared(args, settings)
    if args.plan_only:
        from harness.plan_summary import print_plans

        print_plans(pipeline.plan_only(scenario, target, settings, options))
        return 0
    outcome = pipeline.run(scenario, target, settings, options)
    return _summarise(outcome.results, outcome.run_dir / REPORT)


def _capacity(args: argparse.Namespace, settings: Settings) -> int:
    from harness import pipeline
    from harness.capacity.driver import stepped
    from harness.capacity.report import print_capacity
    from harness.capacity.search import RateSearch

    scenario, target, options, settings = _prepared(args, settings)
    if scenario.schema_change is not None:
        raise UserError(f"{args.scenario}: capacity offers steady steps: drop its schema_change")
    try:
        search = RateSearch(args.start, args.max, refine=args.refine)
    except ValueError as exc:
        raise UserError(f"--start/--max: {exc}") from None
    if args.refine < 0 or (args.step_s is not None and args.step_s <= 0):
        raise UserError("--refine must be 0 or more and --step-s above 0")
    step_s = args.step_s or scenario.load.duration_s
    load = scenario.load.model_copy(update={"isolation": "sequential"})  # one pattern per load
    scenario = scenario.model_copy(update={"load": load})
    outcome = pipeline.run(scenario, target, settings, options, stepped(search, step_s))
    print_capacity(outcome.results)
    _summarise(outcome.results, outcome.run_dir / REPORT)
    found = [p.capacity for p in outcome.results.patterns.values() if p.status != "skipped"]
    return 0 if found and all(c and c.sustained_per_s for c in found) else 1


def _prepared(
    args: argparse.Namespace, settings: Settings
) -> tuple["Scenario", str, TargetOptions, Settings]:
    """The scenario, target name, target options and settings a run's flags ask for."""
    from harness.scenario import load_scenario
    from harness.workers import read_config

    scenario = load_scenario(args.scenario, args.pattern)
    target = args.target or settings.target
    if target not in TARGETS:
        raise UserError(
            f"unknown target {target!r} (CDCBENCH_TARGET): choose one of {', '.join(TARGETS)}"
        )
    options = TargetOptions(
        source_dsn=args.source_dsn,
        source_secret=args.source_secret,
        yes=args.yes or settings.yes,
        state=args.state,
        workers=args.workers,
        workers_config=read_config(args.workers_config) if args.workers_config else {},
    )
    if args.workers < 0:
        raise UserError(f"--workers must be 0 or more, not {args.workers}")
    if args.workers_config and not args.workers:
        raise UserError("--workers-config describes the workers of --workers N: give both")
    if args.state:
        from harness.terraform import RemoteState

        RemoteState.parse(args.state)  # a bad location is one line before anything starts
    if args.reports_dir:
        settings = settings.model_copy(update={"reports_dir": args.reports_dir})
    return scenario, target, options, settings


def _check(args: argparse.Namespace, _: Settings) -> int:
    from harness.recheck import recheck

    return _summarise(recheck(args.run_dir), None)


def _report(args: argparse.Namespace, _: Settings) -> int:
    from harness.recheck import recheck

    results = recheck(args.run_dir)
    results.write(args.run_dir)
    return _summarise(results, write_html(results, args.run_dir))


def _destroy(args: argparse.Namespace, settings: Settings) -> int:
    from harness.destroy_run import destroy_run

    results, failed = destroy_run(args.run_dir, settings, print)
    results.write(args.run_dir)
    print(f"Report: {write_html(results, args.run_dir)}")
    for line in failed:
        print(f"not deleted: {line}")
    print("Nothing of the run is left." if not failed else f"{len(failed)} resource(s) left.")
    return 1 if failed else 0


def _compare(args: argparse.Namespace, settings: Settings) -> int:
    from harness.report.compare import compare_runs
    from harness.report.html import write_comparison

    comparison = compare_runs(args.run_dirs, args.threshold, args.min_delta_ms)
    for line in comparison.not_comparable:
        print(f"not compared: {line}")
    for line in comparison.regressions:
        print(f"REGRESSION {line}")
    out = args.out or settings.reports_dir / "compare.html"
    print(
        f"{len(comparison.regressions)} regressions in {len(comparison.runs) - 1} runs "
        f"against {comparison.baseline}"
    )
    print(f"Comparison: {write_comparison(comparison, out)}")
    return 1 if comparison.regressions else 0


def _publish(args: argparse.Namespace, _: Settings) -> int:
    from harness.report.publish import publish

    print(f"Published {len(args.run_dirs)} runs: {publish(args.run_dirs, args.to)}")
    return 0


def _gc(args: argparse.Namespace, settings: Settings) -> int:
    from harness import gc
    from harness.targets.preflight import confirm, standard_access

    aws = standard_access()
    leftovers = gc.find_leftovers(aws, args.older_than)
    for leftover in leftovers:
        print(f"{leftover.run_id}  {leftover.resource_type:<28} {leftover.arn}")
    if not leftovers:
        print("No leftovers tagged cdcbench:run-id.")
        return 0
    runs = len({leftover.run_id for leftover in leftovers})
    confirm(f"Delete these {len(leftovers)} resources of {runs} runs?", args.yes)
    failed = gc.delete_leftovers(aws, leftovers, print)
    for line in failed:
        print(f"not deleted: {line}")
    print(f"Deleted {len(leftovers) - len(failed)} of {len(leftovers)} resources.")
    return 1 if failed else 0


def _age(text: str) -> timedelta:
    from harness.gc import parse_age

    try:
        return parse_age(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _summarise(results: Results, report: Path | None) -> int:
    """Per projection: lag and anomalies, one line each (a skipped pattern: why); the report;
    the exit code (0: every pattern that ran is valid)."""
    for name, pattern in results.patterns.items():
        if pattern.status == "skipped":
            print(f"{name}: {pattern.error}")
        for projection_name, projection in pattern.projections.items():
            lag = projection.lag.from_commit_ms if projection.lag else None
            figures = (
                f"p50 {lag.p50:.1f} ms, p99 {lag.p99:.1f} ms, max {lag.max:.1f} ms"
                if (lag and lag.count)
                else "no lag measured"
            )
            anomalies = sum(n for k, n in projection.check.counts.items() if k != "unconverged")
            print(
                f"{name}/{projection_name}: {figures}; {anomalies} anomalies; "
                f"valid={projection.check.valid}"
            )
            if projection.schema_change is not None:
                print(f"{name}/{projection_name}: {describe(projection.schema_change)}")
        for fault in pattern.faults:
            print(f"{name}: fault {fault.kind} at {fault.at_s:g} s: {describe_fault(fault)}")
    if report is not None:
        print(f"Report: {report}")
    ran = [p for p in results.patterns.values() if p.status != "skipped"]
    return 0 if ran and all(as_expected(p) for p in ran) else 1


def _patterns(_: argparse.Namespace, __: Settings) -> int:
    found = patterns()
    width = max(len(name) for name in found)
    indent = " " * (width + 2)
    for name, pattern in found.items():
        print(f"{name:<{width}}  {pattern.summary}")
        shown = (f"{p.name} ({p.kind}, {p.observer})" for p in pattern.projections)
        print(f"{indent}projections: {', '.join(shown)}")
        kinds = [k.name for k in KINDS.values() if k.applies_to(pattern.resource_types)]
        print(f"{indent}faults: {', '.join(kinds) or 'none'}")
        for kind, own in pattern.faults.items():
            print(f"{indent}  under {kind}: {own.says}")
        print(f"{indent}pattern_variables (default, type; from {pattern.root}/variables.tf):")
        for variable in pattern.tunables.values():
            default = json.dumps(variable.default)
            print(f"{indent}  {variable.name} = {default} ({variable.type})")
    return 0


def _doctor(_: argparse.Namespace, settings: Settings) -> int:
    from harness.doctor import diagnose

    findings = diagnose(settings)
    for f in findings:
        status = "OK" if f.ok else ("missing" if f.required else "absent (optional)")
        print(f"{f.item:<18} {status:<18} {f.detail}")
    return 0 if all(f.ok or not f.required for f in findings) else 1


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction >= 0 (e.g. 0.25 for 25%)")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    parser = _Parser(
        prog="cdcbench",
        parents=[common],
        description="Benchmark and verify CDC / event-sourcing patterns on AWS.",
    )
    parser.add_argument("--version", action="version", version=f"cdcbench {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    running = _Parser(add_help=False)  # what `run` and `capacity` share
    running.add_argument("scenario", type=Path, help="scenario YAML file")
    running.add_argument(
        "--pattern",
        action="append",
        metavar="P",
        help="run only this pattern (repeatable; replaces the scenario's list)",
    )
    running.add_argument(
        "--target",
        choices=sorted(TARGETS),
        help="where to run (default: CDCBENCH_TARGET, else local)",
    )
    running.add_argument(
        "--reports-dir", type=Path, help="where run directories go (default: reports)"
    )
    running.add_argument(
        "--source-dsn",
        metavar="DSN",
        help="aws: the source database, a libpq string without its password (PGPASSWORD)",
    )
    running.add_argument(
        "--source-secret",
        metavar="ARN",
        help="aws: a Secrets Manager secret with the source's username and password",
    )
    running.add_argument(
        "--yes", action="store_true", help="aws: create billable resources without asking"
    )
    running.add_argument(
        "--state",
        metavar="S3_URL",
        help="keep Terraform state in S3 (s3://bucket/prefix, locked), not in the run folder",
    )
    running.add_argument(
        "--workers",
        type=int,
        default=0,
        metavar="N",
        help="offer the load from N Locust workers on ECS (terraform/modules/locust_workers); "
        "0, the default, runs it on this host",
    )
    running.add_argument(
        "--workers-config",
        type=Path,
        metavar="FILE",
        help="YAML: the workers module's image and network (aws: image, vpc_id, subnet_ids, "
        "master_host, master_cidr_blocks, source_security_group_id or source_cidr_blocks)",
    )
    run = commands.add_parser(
        "run", parents=[common, running], help="run a scenario and write a report"
    )
    run.add_argument(
        "--plan-only",
        action="store_true",
        help="plan every pattern on the target, print what it would create and its hourly cost",
    )
    run.set_defaults(func=_run)

    capacity = commands.add_parser(
        "capacity",
        parents=[common, running],
        help="find each pattern's highest sustained rate, step by step",
        description="Offer each pattern of the scenario (its workload, one pattern at a time) a "
        "steady load at rising rates until lag stops being bounded; report the highest rate "
        "sustained, what bound the next, and the lag at 50% and 90% of it.",
    )
    capacity.add_argument(
        "--start", type=float, default=25.0, metavar="R", help="first rate, changes/s (25)"
    )
    capacity.add_argument(
        "--max", type=float, default=800.0, metavar="R", help="highest rate offered (800)"
    )
    capacity.add_argument(
        "--step-s",
        type=float,
        metavar="S",
        help="seconds per step (default: the scenario's load.duration_s)",
    )
    capacity.add_argument(
        "--refine",
        type=int,
        default=2,
        metavar="N",
        help="bisections between the highest rate sustained and the next (2)",
    )
    capacity.set_defaults(func=_capacity)

    check = commands.add_parser(
        "check",
        parents=[common],
        help="recompute a finished run's lag and anomalies from its files",
    )
    check.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory")
    check.set_defaults(func=_check)

    report = commands.add_parser(
        "report",
        parents=[common],
        help="rebuild a run's results.json and index.html from its files (also of a killed run)",
    )
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory")
    report.set_defaults(func=_report)

    destroy = commands.add_parser(
        "destroy",
        parents=[common],
        help="clear what a killed run left (processes, temp files, its resources) and "
        "rebuild its report",
    )
    destroy.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory")
    destroy.set_defaults(func=_destroy)

    compare = commands.add_parser(
        "compare",
        parents=[common],
        help="compare runs with the first; exit 1 on a regression",
    )
    compare.add_argument(
        "run_dirs", type=Path, nargs="+", metavar="RUN_DIR", help="run directories, baseline first"
    )
    compare.add_argument(
        "--threshold",
        type=_fraction,
        default=DEFAULT_THRESHOLD,
        help=f"p99 growth that is a regression (default {DEFAULT_THRESHOLD})",
    )
    compare.add_argument(
        "--min-delta-ms",
        type=float,
        default=DEFAULT_MIN_DELTA_MS,
        help=f"and by at least this much (default {DEFAULT_MIN_DELTA_MS})",
    )
    compare.add_argument("--out", type=Path, help="the page (default: REPORTS_DIR/compare.html)")
    compare.set_defaults(func=_compare)

    publish = commands.add_parser(
        "publish", parents=[common], help="publish runs' reports as a static site (folder or S3)"
    )
    publish.add_argument(
        "run_dirs", type=Path, nargs="+", metavar="RUN_DIR", help="run directories"
    )
    publish.add_argument(
        "--to", required=True, metavar="DEST", help="a folder, or s3://bucket/prefix (boto3)"
    )
    publish.set_defaults(func=_publish)

    gc = commands.add_parser(
        "gc",
        parents=[common],
        help="find resources left by runs (by their cdcbench:run-id tag) and delete them",
    )
    gc.add_argument(
        "--older-than",
        type=_age,
        default=timedelta(hours=2),
        metavar="AGE",
        help="only runs started longer ago than this, e.g. 30m, 2h, 1d (default 2h)",
    )
    gc.add_argument("--yes", action="store_true", help="delete without asking")
    gc.set_defaults(func=_gc)

    patterns = commands.add_parser("patterns", parents=[common], help="list the patterns")
    patterns.set_defaults(func=_patterns)
    doctor = commands.add_parser("doctor", parents=[common], help="check this machine's tools")
    doctor.set_defaults(func=_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    signals.install()
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args, Settings()))
    except UserError as exc:
        if debug:
            traceback.print_exc()
        print(f"cdcbench: error: {exc}", file=sys.stderr)
        return USER_ERROR_EXIT
    except KeyboardInterrupt:
        print("cdcbench: interrupted; resources were torn down and results kept", file=sys.stderr)
        return INTERRUPTED_EXIT
    except Exception as exc:
        if debug:
            raise
        print(
            f"cdcbench: internal error: {type(exc).__name__}: {exc} "
            "(run with --debug for the traceback)",
            file=sys.stderr,
        )
        return 1
