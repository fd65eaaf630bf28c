"""Interrupt `cdcbench run` at random points and count what each interrupted run leaves.

A first run, left alone, times each phase of the run (terraform apply, the load,
convergence, terraform destroy). Then each trial runs the same short scenario of one pattern
in a temp folder of its own (`TMPDIR`), waits for a phase (taken in turn), then a random
delay within the phase's length, and sends SIGINT (a Ctrl-C) or SIGKILL (`kill -9`). After
a kill, `cdcbench destroy RUN_DIR` cleans up as a user would. Then it counts what is left:

- processes: any process whose environment carries the trial's temp folder (every process
  a run starts inherits it: moto, the Kafka broker, PostgreSQL, Locust, Lambda workers,
  Terraform and its provider), and their listening ports;
- files: anything in the trial's temp folder;
- resources: what the run's Terraform states still record;
- measurements: ledger lines and observations the run's files held just before the signal
  and no longer hold, and a run folder whose results.json does not say how it ended
  (`interrupted` after a Ctrl-C; `partial` after a kill and `destroy`).

A trial whose run ended before its signal counts as not interrupted (neither clean nor
leaky). Prints one line per trial, then per phase the signal landed in (a short phase, such
as the `direct` pattern's convergence, may have ended before the delay) the trials and their
leftovers, then `interrupt_leftovers: <total>` (expected 0).

    .venv/bin/python benchmarks/interrupt_trials.py --signal int --trials 20
    .venv/bin/python benchmarks/interrupt_trials.py --signal kill --trials 8
"""

import argparse
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import yaml

from bench_util import Console

REPO = Path(__file__).resolve().parent.parent
PHASES = {
    # phase: the run's progress line that starts it
    "apply": "terraform apply",
    "load": "Locust:",
    "convergence": "Waiting for",
    "destroy": "terraform destroy",
}
SIGNALS = {"int": signal.SIGINT, "kill": signal.SIGKILL}
_console = Console("interrupt_trials")


@dataclass
class Trial:
    phase: str
    delay_s: float
    landed: str = ""
    """The phase the run was in when the signal came (a short phase may have ended)."""
    interrupted: bool = False
    leftovers: dict[str, list[str]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(found) for found in self.leftovers.values())


def _scenario(folder: Path, pattern: str) -> Path:
    path = folder / "scenario.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": "interrupt",
                "patterns": [pattern],
                "load": {"duration_s": 20, "rate_per_s": 20},
                "check": {"converge_timeout_s": 120},
            }
        )
    )
    return path


def _of_run(temp_root: Path) -> list[psutil.Process]:
    """Processes whose temp folder is the trial's or inside it (a run's scratch folder)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("TMPDIR", "").startswith(str(temp_root)):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def _ports(procs: list[psutil.Process]) -> list[str]:
    ports = []
    for proc in procs:
        try:
            listening = [c for c in proc.net_connections() if c.status == psutil.CONN_LISTEN]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        ports += [f"{proc.pid}:{c.laddr.port}" for c in listening]
    return ports


def _lines(run_dir: Path | None) -> dict[str, int]:
    """Lines in each ledger and observation file of the run so far."""
    if run_dir is None:
        return {}
    counted = {}
    for path in [*run_dir.glob("*/ledger/*.csv"), *run_dir.glob("*/observations-*.csv")]:
        try:
            counted[str(path.relative_to(run_dir))] = path.read_bytes().count(b"\n")
        except OSError:
            continue
    return counted


def _resources(run_dir: Path) -> list[str]:
    left = []
    for state in run_dir.glob("*/terraform/**/terraform.tfstate"):
        try:
            resources = json.loads(state.read_text() or "{}").get("resources", [])
        except json.JSONDecodeError:
            left.append(f"{state}: unreadable")
            continue
        left += [f"{r['type']}.{r['name']}" for r in resources if r.get("mode") == "managed"]
    return left


def _follow(proc: subprocess.Popen[str], started: dict[str, float]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        for phase, marker in PHASES.items():
            if phase not in started and marker in line:
                started[phase] = time.monotonic()


def _start(work: Path, pattern: str) -> tuple[subprocess.Popen[str], dict[str, float]]:
    """`cdcbench run` of `pattern` with its temp files in `work/tmp`, its run folder in
    `work/reports`; when each phase started (filled in as the run goes)."""
    temp_root = work / "tmp"
    temp_root.mkdir(parents=True)
    env = {**os.environ, "TMPDIR": str(temp_root), "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "harness", "run", str(_scenario(work, pattern))]
    proc = subprocess.Popen(
        [*cmd, "--reports-dir", str(work / "reports")],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started: dict[str, float] = {}
    threading.Thread(target=_follow, args=(proc, started), daemon=True).start()
    return proc, started


def phase_lengths(pattern: str, folder: Path) -> dict[str, float]:
    """How long each phase of an uninterrupted run of `pattern` lasts (s)."""
    proc, started = _start(folder / "reference", pattern)
    proc.wait()
    ended = time.monotonic()
    if proc.returncode != 0 or set(started) != set(PHASES):
        _console.fail(f"the reference run failed (exit {proc.returncode}): see {folder}")
    order = sorted(started, key=started.__getitem__)
    times = [*(started[phase] for phase in order), ended]
    return {phase: times[i + 1] - times[i] for i, phase in enumerate(order)}


def trial(
    number: int, phase: str, length_s: float, signum: int, pattern: str, folder: Path
) -> Trial:
    """One run of `pattern` interrupted by `signum` at a random point of `phase`."""
    result = Trial(phase, random.uniform(0, length_s))
    delay = result.delay_s
    work = folder / f"{number:02d}-{phase}"
    temp_root, reports = work / "tmp", work / "reports"
    proc, started = _start(work, pattern)
    env = {**os.environ, "TMPDIR": str(temp_root)}
    before: dict[str, int] = {}
    while proc.poll() is None:
        if phase in started and time.monotonic() >= started[phase] + delay:
            runs = [p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()]
            before = _lines(runs[0] if runs else None)
            proc.send_signal(signum)
            result.landed = max(started, key=started.__getitem__)
            result.interrupted = True
            break
        time.sleep(0.05)
    try:
        proc.wait(timeout=600)
    except subprocess.TimeoutExpired:
        proc.kill()
        result.leftovers["hung"] = ["the run did not end within 600 s of the signal"]
        proc.wait()
    runs = [p for p in reports.iterdir() if p.is_dir() and not p.is_symlink()]
    run_dir = runs[0] if runs else None
    if result.interrupted and signum == signal.SIGKILL and run_dir is not None:
        cleaned = subprocess.run(
            [sys.executable, "-m", "harness", "destroy", str(run_dir)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if cleaned.returncode != 0:
            result.leftovers["destroy failed"] = [cleaned.stderr.strip()[-300:]]
    procs = _of_run(temp_root)
    result.leftovers["processes"] = [f"{p.pid} {' '.join(p.cmdline())[:100]}" for p in procs]
    result.leftovers["ports"] = _ports(procs)
    result.leftovers["temp files"] = [str(p) for p in temp_root.iterdir()]
    if run_dir is not None:
        result.leftovers["resources"] = _resources(run_dir)
        after = _lines(run_dir)
        result.leftovers["lost lines"] = [
            f"{name}: {count} before, {after.get(name, 0)} after"
            for name, count in before.items()
            if after.get(name, 0) < count
        ]
        status = _status(run_dir)
        expected = {signal.SIGINT: "interrupted", signal.SIGKILL: "partial"}[signum]
        if result.interrupted and status != expected:
            result.leftovers["status"] = [f"results.json says {status!r}, not {expected!r}"]
    elif result.interrupted:
        result.leftovers["run folder"] = ["no run folder"]
    for proc_left in procs:  # leave the machine clean for the next trial
        with contextlib.suppress(psutil.NoSuchProcess):
            proc_left.kill()
    return result


def _status(run_dir: Path) -> str | None:
    try:
        return json.loads((run_dir / "results.json").read_text())["status"]
    except (OSError, ValueError, KeyError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signal", choices=sorted(SIGNALS), default="int")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--pattern", default="dms_s3_dynamodb")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    # a background job's shell ignores SIGINT, and its children would inherit that
    signal.signal(signal.SIGINT, signal.default_int_handler)
    random.seed(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="interrupt-trials-"))
    folder.chmod(0o755)  # PostgreSQL's OS user works in each trial's temp folder
    _console.log(f"{args.trials} trials of {args.pattern}, SIG{args.signal.upper()}, in {folder}")
    lengths = phase_lengths(args.pattern, folder)
    _console.log("phases: " + ", ".join(f"{p} {s:.1f} s" for p, s in lengths.items()))
    phases = list(PHASES)
    trials = []
    for number in range(args.trials):
        phase = phases[number % len(phases)]
        done = trial(number, phase, lengths[phase], SIGNALS[args.signal], args.pattern, folder)
        trials.append(done)
        what = "; ".join(f"{k}: {v}" for k, v in done.leftovers.items() if v) or "nothing left"
        if not done.interrupted:
            what = "ended before the signal"
        where = f"{phase} +{done.delay_s:.1f}s, in {done.landed or '-'}"
        _console.log(f"trial {number:2d} ({where}): {what}")
    for phase in phases:
        of_phase = [t for t in trials if t.landed == phase]
        left = sum(t.count for t in of_phase)
        _console.log(f"in {phase:<12} {len(of_phase):3d} interrupted, {left} leftovers")
    print(f"interrupt_leftovers: {sum(t.count for t in trials if t.interrupted)}")


if __name__ == "__main__":
    main()
