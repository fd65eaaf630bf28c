"""The README's main job: the smoke scenario with the `direct` pattern on the local target."""

import json
from pathlib import Path

import pytest

from harness.load.ledger import final_state, read_ledger
from harness.observe import read_observations
from harness.observe.base import live_versions, read_snapshot
from harness.report.results import SCHEMA_VERSION
from tests.helpers import run_cli

pytestmark = pytest.mark.e2e


def test_smoke_scenario_reports_lag_and_zero_anomalies(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = run_cli("run", "scenarios/smoke.yaml", "--reports-dir", str(reports))
    assert result.returncode == 0, result.stderr

    run_dir = (reports / "latest").resolve()
    assert result.stdout.strip().splitlines()[-1] == f"Report: {run_dir / 'index.html'}"
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "completed"
    assert results["schema_version"] == SCHEMA_VERSION
    direct = results["patterns"]["direct"]
    assert direct["status"] == "completed" and direct["valid"] is True
    assert set(direct["terraform_s"]) >= {"apply_s", "destroy_s"}

    load = direct["load"]
    ledger = read_ledger(run_dir / "direct" / "ledger")
    committed = [c for c in ledger if c.status == "committed"]
    assert len(committed) == load["committed"] > 0
    assert load["aborted"] == len(ledger) - len(committed) > 0
    assert {c.table for c in committed} == {"widgets", "orders"}
    assert load["failures"] == 0 and load["post_commit_failures"] == 0
    assert load["requests"] >= load["transactions"] > 0
    # Locust's own reports land beside the ledger
    assert (run_dir / "direct" / "locust.html").exists()
    assert "Aggregated" in (run_dir / "direct" / "locust_stats.csv").read_text()

    read_model = direct["projections"]["read_model"]
    assert read_model["check"] == {"valid": True, "counts": {}, "examples": {}}
    assert read_model["convergence"]["converged"] is True
    lag = read_model["lag"]
    assert lag["seen"] == len(committed) and lag["unseen"] == 0
    # a version overwritten before its post-commit write lands is skipped, never shown
    assert 0 < read_model["observed"] <= len(committed)
    deleted = sum(c.op == "delete" for c in final_state(committed).values())
    assert deleted > 0, "the smoke workload deletes rows"
    commit_lag = lag["from_commit_ms"]
    assert commit_lag["count"] == len(committed)
    assert 0 < commit_lag["p50"] <= commit_lag["p99"] <= commit_lag["max"]
    assert lag["from_intent_ms"]["p50"] >= commit_lag["p50"]
    assert lag["over_time"], "lag over time windows"

    # every image the read model showed matches the ledger's (checked, so no "divergent")
    observations = read_observations(run_dir / "direct" / "observations-read_model.csv")
    assert sum(bool(o.digest) for o in observations) > 0
    stats = read_model["observer_stats"]
    assert stats["observed"] == read_model["observed"] and stats["polls"] > 0
    assert 0 < stats["busy_s"] <= stats["wall_s"]

    # one clock: the harness's and every load process's offsets are zero within their bounds
    clocks = direct["clocks"]
    assert len(clocks) >= 2
    assert all(abs(c["offset_ns"]) <= c["bound_ns"] for c in clocks), clocks
    saturation = direct["saturation"]
    assert saturation["emulated"] is True
    busy = set(saturation["busy"])  # the main moto and one per group of a split (moto-*)
    assert {"moto", "kafka", "harness"} <= busy
    assert all(name.startswith("moto-") for name in busy - {"moto", "kafka", "harness"})
    assert all(0 <= share < 2 for share in saturation["busy"].values())

    html = (run_dir / "index.html").read_text()
    assert results["run_id"] in html and "read_model" in html
    assert "<script src=" not in html and "<link " not in html  # self-contained

    # the final snapshot is on disk: every row the ledger leaves live, at its last version
    snapshot = read_snapshot(run_dir / "direct" / "snapshot-read_model.csv")
    live = {e: c.version for e, c in final_state(committed).items() if c.op != "delete"}
    assert live_versions(snapshot) == live
    assert all(row.digest for row in snapshot if not row.tombstone)
    assert sum(row.tombstone for row in snapshot) > 0

    # checked again from the folder alone: the same lines, and the same results.json
    written = (run_dir / "results.json").read_text()
    again = run_cli("check", str(run_dir))
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == result.stdout.splitlines()[:-1]  # all but "Report:"
    rewritten = run_cli("report", str(run_dir))
    assert rewritten.returncode == 0, rewritten.stderr
    assert rewritten.stdout == result.stdout
    assert (run_dir / "results.json").read_text() == written
