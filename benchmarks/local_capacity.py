"""Local capacity: each pattern's highest sustained rate on the local target.

Runs `cdcbench capacity scenarios/capacity.yaml` (one pattern at a time: rising 30-second
steady steps from 50 changes/s until lag stops being bounded, then bisected), then prints per
pattern the rate sustained, what bound the next, and the p99 lag at 90% of it. The last line is
`local_capacity_min_changes_per_s: <the worst pattern's>`. The run folder (results.json,
index.html with each step) is kept under --reports-dir.

    .venv/bin/python benchmarks/local_capacity.py [--pattern P ...] [--max R] [--step-s S]
"""

import argparse
import subprocess
import sys
from pathlib import Path

from harness.report.results import read_results

from bench_util import Console

REPO = Path(__file__).resolve().parent.parent
SCENARIO = REPO / "scenarios" / "capacity.yaml"

_console = Console("local_capacity")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pattern", action="append", metavar="P", help="only this (repeatable)")
    parser.add_argument("--start", default="50", metavar="R", help="first rate (50)")
    parser.add_argument("--max", default="800", metavar="R", help="highest rate (800)")
    parser.add_argument("--step-s", metavar="S", help="seconds per step (the scenario's 30)")
    parser.add_argument("--refine", default="1", metavar="N", help="bisections (1)")
    parser.add_argument("--reports-dir", type=Path, default=REPO / "reports" / "capacity")
    args = parser.parse_args()
    command = [sys.executable, "-m", "harness", "capacity", str(SCENARIO)]
    command += ["--start", args.start, "--max", args.max, "--refine", args.refine]
    command += ["--reports-dir", str(args.reports_dir)]
    command += ["--step-s", args.step_s] if args.step_s else []
    for pattern in args.pattern or []:
        command += ["--pattern", pattern]
    _console.log(" ".join(command[1:]))
    finished = subprocess.run(command, cwd=REPO, check=False)
    run_dir = (args.reports_dir / "latest").resolve()
    if finished.returncode not in (0, 1) or not (run_dir / "results.json").exists():
        _console.fail(f"cdcbench capacity exited with {finished.returncode}")
    results = read_results(run_dir)
    rates = []
    for name, pattern in results.patterns.items():
        capacity = pattern.capacity
        if capacity is None:
            _console.fail(f"{name}: no capacity measured ({pattern.status}: {pattern.error})")
        rate = capacity.sustained_per_s or 0.0
        rates.append(rate)
        near = capacity.at("at 90%")
        p99 = {n: lag.p99 for n, lag in near.lag.items()} if near else {}
        lags = ", ".join(f"{n} {ms:.0f} ms" for n, ms in p99.items() if ms is not None)
        bound = capacity.bound or "the ceiling"
        print(f"{name}: {rate:g} changes/s; next bound by {bound}; p99 at 90%: {lags or '-'}")
    print(f"run: {run_dir}")
    print(f"local_capacity_min_changes_per_s: {min(rates):g}")


if __name__ == "__main__":
    main()
