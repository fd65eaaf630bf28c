"""A `cdcbench run` stopped by SIGINT or SIGTERM tears everything down and keeps its results."""

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
from tests.helpers import REPO, alive, processes_mentioning, wait_for

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
    """How many records `path` holds so far (its writer flushes once a second)."""
    assert proc.poll() is None, f"run ended early: {proc.communicate()[1]}"
    if not path.exists() or path.stat().st_size == 0:  # nothing flushed yet, not even the header
        return 0
    return sum(1 for _ in read_records(path, record_type))


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
    temp_root.mkdir(mode=0o755)
    reports = tmp_path / "reports"
    scenario = tmp_path / "long.yaml"
    scenario.write_text(
        yaml.safe_dump(
            {"name": "long", "patterns": ["direct"], "load": {"duration_s": 300, "rate_per_s": 20}}
        )
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", str(scenario), "--reports-dir", str(reports)],
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(temp_root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
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
