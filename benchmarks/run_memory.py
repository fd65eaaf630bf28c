"""Memory over a long run: does anything grow with the run's history?

Runs `cdcbench run` on one pattern (the workload of `scenarios/capacity.yaml`) at a steady
rate for --seconds, sampling every 5 s the resident memory of each process the run started,
by kind: the harness (engines and observers), each moto server, the Kafka broker, Locust,
PostgreSQL. Prints each kind's memory at the load's start, its peak, and its growth per
minute over the load's second half (what would go on growing in a longer run), then
`run_memory_peak_mib: <the whole run's peak>` last.

Memory bound, as measured here (`--pattern dms_msk_lambda --rate 200`, the rate the capacity
search finds it sustains, for 600 s): the run peaks at 2.9 GiB in all, 0.5 GiB of it
Terraform's while it applies or destroys. Under load what grows is what the services and the
source hold, as on AWS: the DynamoDB stream's records and the read model (69 MiB/min, about
5.8 kB per change), PostgreSQL (12 MiB/min), the S3 sink's objects (8 MiB/min at 500 records
an object); the harness adds 7 MiB/min, nothing else grows. So a 10-minute run at 200
changes/s stays within 3 GiB of the machine's 24 (an hour, at the same growth, about 7.5).

    .venv/bin/python benchmarks/run_memory.py [--pattern P] [--rate 100] [--seconds 600]
"""

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import psutil
import yaml

from bench_util import Console

REPO = Path(__file__).resolve().parent.parent
SAMPLE_S = 5.0
_console = Console("run_memory")


def kind(process: psutil.Process) -> str:
    """What a process of the run is, by its command line."""
    line = " ".join(process.cmdline())
    for marker, name in (
        ("moto_child", "moto"),
        ("kafka_child", "kafka"),
        ("locust", "locust"),
        ("postgres", "postgres"),
        ("terraform", "terraform"),
    ):
        if marker in line:
            if name == "moto" and "--services" in line:
                return "moto " + line.split("--services", 1)[1].split()[0]
            return name
    return "harness" if "harness" in line else process.name()


def sample(root: psutil.Process) -> dict[str, float]:
    """MiB resident per kind of process in the run's tree (PostgreSQL runs as its own user:
    found by name)."""
    found: dict[str, float] = defaultdict(float)
    processes = [root, *root.children(recursive=True)]
    processes += [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
    for process in {p.pid: p for p in processes}.values():
        try:
            found[kind(process)] += process.memory_info().rss / 2**20
        except psutil.Error:
            continue
    return dict(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pattern", default="dms_msk_lambda")
    parser.add_argument("--rate", type=float, default=100.0, help="changes/s (100)")
    parser.add_argument("--seconds", type=float, default=600.0, help="load length (600)")
    args = parser.parse_args()
    if args.rate <= 0 or args.seconds <= 0:
        _console.fail("--rate and --seconds must be above 0")
    scenario = yaml.safe_load((REPO / "scenarios" / "capacity.yaml").read_text())
    scenario |= {"name": "run-memory", "patterns": [args.pattern]}
    scenario["load"] |= {"rate_per_s": args.rate, "duration_s": args.seconds}
    scenario["load"]["users"] = max(2, int(args.rate // 25) + 1)
    with tempfile.TemporaryDirectory(prefix="cdcbench-memory-") as workdir:
        path = Path(workdir) / "scenario.yaml"
        path.write_text(yaml.safe_dump(scenario))
        command = [sys.executable, "-m", "harness", "run", str(path)]
        command += ["--reports-dir", str(REPO / "reports" / "memory")]
        run = subprocess.Popen(command, cwd=REPO)
        samples: list[tuple[float, dict[str, float]]] = []
        done = threading.Event()

        def watch() -> None:
            root = psutil.Process(run.pid)
            while not done.wait(SAMPLE_S):
                try:
                    samples.append((time.monotonic(), sample(root)))
                except psutil.Error:
                    return

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        code = run.wait()
        done.set()
        watcher.join()
    if code not in (0, 1):
        _console.fail(f"cdcbench run exited with {code}")
    report(samples, args.seconds)


def report(samples: list[tuple[float, dict[str, float]]], seconds: float) -> None:
    """Per kind: MiB when the load starts (Locust first seen), peak, and growth per minute
    over the load's second half."""
    loading = [(at, s) for at, s in samples if "locust" in s]
    if len(loading) < 4:
        _console.fail("the load was not seen running: too short a run")
    start_at, first = loading[0]
    half = [(at, s) for at, s in loading if at - start_at >= seconds / 2]
    kinds = sorted({k for _, s in samples for k in s})
    for name in kinds:
        peak = max(s.get(name, 0.0) for _, s in samples)
        growth = 0.0
        if len(half) >= 2:
            (t0, a), (t1, b) = half[0], half[-1]
            growth = (b.get(name, 0.0) - a.get(name, 0.0)) / ((t1 - t0) / 60)
        print(
            f"{name}: {first.get(name, 0.0):.0f} MiB at the load's start, peak {peak:.0f} MiB, "
            f"{growth:+.1f} MiB/min over its second half"
        )
    total = max(sum(s.values()) for _, s in samples)
    print(f"run_memory_peak_mib: {total:.0f}")


if __name__ == "__main__":
    main()
