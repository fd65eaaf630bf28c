"""The DMS patterns under load on the local target: every projection converges with zero
anomalies, and each reports its lag beside its configured floor."""

import json
from pathlib import Path
from typing import Any

import pytest

from harness.load.ledger import read_ledger
from tests.helpers import REPO, run_cli

pytestmark = pytest.mark.e2e


def _run(tmp_path: Path, scenario: str) -> tuple[Path, dict[str, Any]]:
    reports = tmp_path / "reports"
    result = run_cli("run", str(REPO / scenario), "--reports-dir", str(reports))
    run_dir = (reports / "latest").resolve()
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir, json.loads((run_dir / "results.json").read_text())


def test_dms_s3_dynamodb_event_store_and_read_model_are_exact(tmp_path: Path) -> None:
    run_dir, results = _run(tmp_path, "tests/data/scenarios/dms-s3-dynamodb.yaml")
    pattern = results["patterns"]["dms_s3_dynamodb"]
    assert pattern["status"] == "completed", pattern.get("error")
    assert pattern["variables"]["cdc_max_batch_interval"] == 3

    committed = [
        c for c in read_ledger(run_dir / "dms_s3_dynamodb" / "ledger") if c.status == "committed"
    ]
    assert committed and any(c.op == "delete" for c in committed)
    for name in ("event_store", "read_model"):
        projection = pattern["projections"][name]
        assert projection["error"] is None, (name, projection["error"])
        assert projection["check"] == {"valid": True, "counts": {}, "examples": {}}, name
        assert projection["convergence"]["converged"] is True, name
        assert projection["floor_ms"] == 3000
        lag = projection["lag"]
        assert lag["seen"] == len(committed) and lag["unseen"] == 0, name
    # the event log shows every committed change; the read model skips superseded ones
    assert pattern["projections"]["event_store"]["observed"] == len(committed)
    read_model_lag = pattern["projections"]["read_model"]["lag"]["from_commit_ms"]
    store_lag = pattern["projections"]["event_store"]["lag"]["from_commit_ms"]
    assert read_model_lag["p50"] >= store_lag["p50"]
    assert pattern["valid"] is True
