"""A `cdcbench run` stopped by SIGINT or SIGTERM tears everything down and keeps its results;
one killed outright (SIGKILL) leaves nothing running, and `cdcbench report` rebuilds it; after
one killed with its reaper, `cdcbench destroy` leaves nothing either."""

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
from harness.scratch import marked
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


def _long_run(
    temp_root: Path, tmp_path: Path, reports: Path, duration_s: int = 300
) -> subprocess.Popen[str]:
    """`cdcbench run` of the direct pattern under `duration_s` of load, its temp files in
    `temp_root` (made here), its run directory in `reports`."""
    temp_root.mkdir(mode=0o755)
    scenario = tmp_path / "long.yaml"
    load = {"duration_s": duration_s, "rate_per_s": 20}
    scenario.write_text(yaml.safe_dump({"name": "long", "patterns": ["direct"], "load": load}))
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
    assert list(temp_root.iterdir()) == [], "the run's temp files remain"

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


@pytest.mark.parametrize(
    ("phase_file", "duration_s"),
    [("*/direct/logs/apply.log", 300), ("*/direct/logs/destroy.log", 5)],
    ids=["during-apply", "during-destroy"],
)
def test_destroy_clears_a_run_killed_with_its_reaper(
    phase_file: str, duration_s: int, shared_tmp: Path, tmp_path: Path
) -> None:
    """The worst case: the run killed with its reaper and the source database's, while
    Terraform runs (which watches no parent): PostgreSQL runs on by itself. `cdcbench destroy`
    stops what is left, removes the temp files, leaves the states recording nothing and
    rebuilds the results; a second time finds nothing."""
    temp_root = shared_tmp / f"destroy-{duration_s}"
    reports = tmp_path / "reports"
    proc = _long_run(temp_root, tmp_path, reports, duration_s)
    try:
        wait_for(lambda: list(reports.glob(phase_file)), phase_file, timeout_s=180, poll_s=0.05)
        wait_for(
            lambda: [p for p in psutil.Process(proc.pid).children() if p.name() == "terraform"],
            "terraform to run",
            timeout_s=60,
            poll_s=0.05,
        )
        for child in psutil.Process(proc.pid).children():
            if "_reaper" in " ".join(child.cmdline()):
                child.kill()
        proc.kill()
        proc.communicate(timeout=30)
        time.sleep(2)  # what watches its parent has noticed
        run_dir = next(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink())
        scratch = Path(json.loads((run_dir / "results.json").read_text())["scratch"])
        assert scratch.parent == temp_root
        outliving = [p.name() for p in marked(scratch)]
        assert "postgres" in outliving, outliving

        cleared = run_cli("destroy", str(run_dir))

        assert cleared.returncode == 0, cleared.stdout + cleared.stderr
        assert "stopped process" in cleared.stdout and "postgres" in cleared.stdout
        assert "Nothing of the run is left." in cleared.stdout
        assert marked(scratch) == processes_mentioning(str(temp_root)) == []
        assert list(temp_root.iterdir()) == []
        results = json.loads((run_dir / "results.json").read_text())
        assert results["status"] == "partial"
        assert (run_dir / "index.html").exists()
        state = run_dir / "direct/terraform/patterns/direct/terraform.tfstate"
        if state.exists():  # empty if Terraform died before writing it
            assert json.loads(state.read_text() or "{}").get("resources", []) == []

        again = run_cli("destroy", str(run_dir))
        assert again.returncode == 0, again.stdout + again.stderr
        assert "stopped process" not in again.stdout
    finally:
        if proc.poll() is None:
            proc.kill()
        for leftover in processes_mentioning(str(temp_root)):
            leftover.kill()


def test_destroy_refuses_a_run_still_going_on(shared_tmp: Path, tmp_path: Path) -> None:
    temp_root = shared_tmp / "destroy-refused"
    reports = tmp_path / "reports"
    proc = _long_run(temp_root, tmp_path, reports)
    try:
        _wait_for("*/results.json", reports, proc)
        run_dir = next(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink())
        refused = run_cli("destroy", str(run_dir))
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert refused.stderr.count("\n") == 1 and "still being run by process" in refused.stderr
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=300)
