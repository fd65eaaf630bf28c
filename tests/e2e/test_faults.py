"""A fault scheduled by the scenario, applied through the AWS API on the local target: every
DMS task of `dms_s3_dynamodb` stopped mid-load and resumed from its checkpoint loses
nothing, and its recovery is measured per projection."""

import json
from pathlib import Path

import pytest

from harness.load.ledger import read_ledger
from tests.helpers import REPO, run_cli

pytestmark = pytest.mark.e2e


def test_a_stopped_dms_task_resumes_without_loss_and_its_recovery_is_measured(
    tmp_path: Path,
) -> None:
    reports = tmp_path / "reports"
    scenario = REPO / "tests/data/scenarios/dms-task-stop.yaml"
    result = run_cli("run", str(scenario), "--reports-dir", str(reports))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run_dir = (reports / "latest").resolve()
    results = json.loads((run_dir / "results.json").read_text())
    pattern = results["patterns"]["dms_s3_dynamodb"]
    assert pattern["status"] == "completed", pattern.get("error")

    [fault] = pattern["faults"]
    assert fault["error"] is None, fault["error"]
    assert len(fault["targets"]) == 2  # its two tasks: to the event store, and from it
    assert all(":task:" in arn for arn in fault["targets"])
    assert fault["ended_ns"] - fault["started_ns"] >= 7.9e9  # its 8 s
    assert fault["met"] is True, fault["reasons"]
    committed = [
        c for c in read_ledger(run_dir / "dms_s3_dynamodb" / "ledger") if c.status == "committed"
    ]
    for name, projection in pattern["projections"].items():
        lag = projection["lag"]
        assert lag["unseen"] == 0 and lag["seen"] + lag["skipped"] == len(committed), name
        assert set(projection["check"]["counts"]) <= {"duplicate"}, projection["check"]
        recovery = fault["recovery"][name]
        assert recovery["anomalies"] == projection["check"]["counts"]
        # changes made while the tasks were stopped waited for the resume: lag well above
        # what it was before, from the stop on
        assert recovery["peak_ms"] > recovery["before_ms"] + 5_000, recovery
        assert recovery["detect_s"] is not None and recovery["detect_s"] < 8, recovery
        assert recovery["recover_s"] is not None, recovery
    assert "dms_s3_dynamodb: fault dms_task_stop at 8 s: as expected" in result.stdout
    html = (run_dir / "index.html").read_text()
    assert "<h2>Faults</h2>" in html and "dms_task_stop starts" in html
