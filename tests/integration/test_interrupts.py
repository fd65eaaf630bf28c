"""A `cdcbench run` stopped by SIGINT or SIGTERM tears everything down and keeps its results;
one killed outright (SIGKILL) leaves nothing running, and `cdcbench report` rebuilds it."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from harness.load.ledger import Change, read_ledger
from harness.observe.base import Observation
from harness.records import read_records
from tests.helpers import REPO, alive, processes_mentioning, run_cli, wait_for

pytestmark = pytest.mark.slow


def _wait_for(pattern: str, root: Path, proc: subprocess.Popen[str], timeout: float = 180) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in root.glob(pattern) if p.stat().st_size > 0]
        if found:
            return found[0]
        assert proc.poll() is None, f"run ended early: {proc.communicate()[1]}"
        time.sleep(0.2)
    raise AssertionError(f"{pattern} never appeared under {root}")


def _records(path: Path, record_type: type, proc: subprocess.Popen[str]) -> int:
    """How many records `path` holds so far (each reaches the file as it is appended)."""
    assert proc.poll() is None, f"run ended early: {proc.communicate()[1]}"
    if not path.exists() or path.stat().st_size == 0:  # nothing flushed yet, not even the header
        return 0
    return sum(1 for _ in read_records(path, record_type))


def _long_run(temp_root: Path, tmp_path: Path, reports: Path) -> subprocess.Popen[str]:
    """`cdcbench run` of the direct pattern under 300 s of load, its temp files in
    `temp_root` (made here), its run directory in `reports`."""
    temp_root.mkdir(mode=0o755)
    scenario = tmp_path / "long.yaml"
    scenario.write_text(
        yaml.safe_dump(
            {"name": "long", "patterns": ["direct"], "load": {"duration_s": 300, "rate_per_s": 20}}
        )
    )
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "run", str(scenario), "--reports-dir", str(reports)],
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(temp_root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    ("signum", "phase_file"),
    [
        (signal.SIGINT, "*/direct/ledger/ledger-*.csv"),  # during load
        (signal.SIGTERM, "*/direct/logs/apply.log"),  # during terraform apply
    ],
    ids=["sigint-during-load", "sigterm-during-apply"],
)
def test_signal_tears_down_and_keeps_results(
    signum: int, phase_file: str, shared_tmp: Path, tmp_path: Path
) -> None:
    temp_root = shared_tmp / f"signal-{signum}"
    reports = tmp_path / "reports"
    proc = _long_run(temp_root, tmp_path, reports)
    try:
        found = _wait_for(phase_file, reports, proc)
        if "ledger" in phase_file:  # some changes committed, flushed and seen by the observer
            seen = found.parent.parent / "observations-read_model.csv"
            wait_for(
                lambda: _records(found, Change, proc) > 10 and _records(seen, Observation, proc),
                "ten changes in the ledger and one seen in the read model",
                timeout_s=60,
                poll_s=0.2,
            )
        children = psutil.Process(proc.pid).children(recursive=True)
        spawned = [p.pid for p in children] + [p.pid for p in processes_mentioning(str(temp_root))]
        assert spawned, "expected moto and postgres processes while running"
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("cdcbench: interrupted")
    assert [pid for pid in spawned if alive(pid)] == []
    assert processes_mentioning(str(temp_root)) == []
    assert list(temp_root.iterdir()) == []

    run_dir = next(p for p in reports.iterdir() if p.is_dir() and p.name != "latest")
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "interrupted"
    assert results["patterns"]["direct"]["status"] == "interrupted"
    assert (run_dir / "index.html").exists()
    state = json.loads((run_dir / "direct/terraform/patterns/direct/terraform.tfstate").read_text())
    assert state["resources"] == []
    if "ledger" in phase_file:
        ledger = read_ledger(run_dir / "direct" / "ledger")
        assert len(ledger) > 10
        assert results["patterns"]["direct"]["projections"]["read_model"]["lag"]["seen"] > 0


def test_a_killed_run_leaves_nothing_running_and_report_rebuilds_it_partial(
    shared_tmp: Path, tmp_path: Path
) -> None:
    temp_root = shared_tmp / "sigkill"
    reports = tmp_path / "reports"
    proc = _long_run(temp_root, tmp_path, reports)
    spawned: list[psutil.Process] = []
    try:
        ledger = _wait_for("*/direct/ledger/ledger-*.csv", reports, proc)
        seen = ledger.parent.parent / "observations-read_model.csv"
        wait_for(
            lambda: _records(ledger, Change, proc) > 10 and _records(seen, Observation, proc),
            "ten changes in the ledger and one seen in the read model",
            timeout_s=60,
            poll_s=0.2,
        )
        spawned = psutil.Process(proc.pid).children(recursive=True)
        spawned += processes_mentioning(str(temp_root))
        proc.kill()
        proc.communicate(timeout=30)
        # the load, the emulator and the source database all stop by themselves
        wait_for(
            lambda: not [p for p in spawned if alive(p.pid)],
            "every process the killed run started to stop",
            timeout_s=90,
            poll_s=0.5,
        )
    finally:
        for leftover in spawned:
            if alive(leftover.pid):
                leftover.kill()
    assert processes_mentioning(str(temp_root)) == []
    assert not list(temp_root.glob("cdcbench-pg-*")), "the source database's files remain"

    run_dir = next(p for p in reports.iterdir() if p.is_dir())
    assert json.loads((run_dir / "results.json").read_text())["status"] == "running"
    rebuilt = run_cli("report", str(run_dir))
    assert rebuilt.returncode == 1, rebuilt.stderr  # its verdict is unknown: no final snapshot
    assert f"Report: {run_dir / 'index.html'}" in rebuilt.stdout

    results = json.loads((run_dir / "results.json").read_text())
    pattern = results["patterns"]["direct"]
    assert results["status"] == pattern["status"] == "partial"
    committed = [c for c in read_ledger(run_dir / "direct" / "ledger") if c.status == "committed"]
    observations = list(read_records(seen, Observation))
    projection = pattern["projections"]["read_model"]
    assert pattern["load"]["committed"] == len(committed) > 10
    assert projection["observed"] == len(observations) > 0
    lag = projection["lag"]
    assert lag["seen"] + lag["unseen"] + lag["skipped"] == len(committed)
    assert projection["check"]["valid"] == "unknown"
    assert "partial" in (run_dir / "index.html").read_text()
