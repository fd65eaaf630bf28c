"""The DMS patterns under load on the local target: every projection converges with zero
anomalies, and each reports its lag beside its configured floor."""

import json
from pathlib import Path
from typing import Any

import pytest

from harness.load.ledger import Change, read_ledger
from tests.helpers import REPO, run_cli

pytestmark = pytest.mark.e2e


def _run(tmp_path: Path, scenario: str, exit_code: int = 0) -> tuple[Path, dict[str, Any]]:
    """Run the scenario through the CLI; its run directory and results."""
    reports = tmp_path / "reports"
    result = run_cli("run", str(REPO / scenario), "--reports-dir", str(reports))
    run_dir = (reports / "latest").resolve()
    assert result.returncode == exit_code, result.stderr[-3000:]
    return run_dir, json.loads((run_dir / "results.json").read_text())


def _committed(run_dir: Path, pattern: str) -> list[Change]:
    changes = read_ledger(run_dir / pattern / "ledger")
    return [c for c in changes if c.status == "committed"]


def _assert_exact(pattern: dict[str, Any], name: str, committed: list[Change]) -> dict[str, Any]:
    """The projection converged with zero anomalies and saw every committed change."""
    projection = pattern["projections"][name]
    assert projection["error"] is None, (name, projection["error"])
    assert projection["check"] == {"valid": True, "counts": {}, "examples": {}}, name
    assert projection["convergence"]["converged"] is True, name
    lag = projection["lag"]
    assert lag["seen"] == len(committed) and lag["unseen"] == 0, name
    return projection


def test_dms_s3_dynamodb_event_store_and_read_model_are_exact(tmp_path: Path) -> None:
    run_dir, results = _run(tmp_path, "tests/data/scenarios/dms-s3-dynamodb.yaml")
    pattern = results["patterns"]["dms_s3_dynamodb"]
    assert pattern["status"] == "completed", pattern.get("error")
    assert pattern["variables"]["cdc_max_batch_interval"] == 3

    committed = _committed(run_dir, "dms_s3_dynamodb")
    assert committed and any(c.op == "delete" for c in committed)
    for name in ("event_store", "read_model"):
        assert _assert_exact(pattern, name, committed)["floor_ms"] == 3000
    # the event log shows every committed change; the read model skips superseded ones
    assert pattern["projections"]["event_store"]["observed"] == len(committed)
    read_model_lag = pattern["projections"]["read_model"]["lag"]["from_commit_ms"]
    store_lag = pattern["projections"]["event_store"]["lag"]["from_commit_ms"]
    assert read_model_lag["p50"] >= store_lag["p50"]
    assert pattern["valid"] is True


def test_dms_msk_lambda_topic_event_store_and_read_model_are_exact(tmp_path: Path) -> None:
    run_dir, results = _run(tmp_path, "tests/data/scenarios/dms-msk-lambda.yaml")
    pattern = results["patterns"]["dms_msk_lambda"]
    assert pattern["status"] == "completed", pattern.get("error")
    assert pattern["variables"]["projector"] == "correct"

    committed = _committed(run_dir, "dms_msk_lambda")
    assert committed and any(c.op == "delete" for c in committed)
    for name in ("topic", "event_store", "read_model"):
        projection = _assert_exact(pattern, name, committed)
        assert projection["floor_ms"] == 0, name
        assert projection["lag"]["from_commit_ms"]["p50"] > 0, name
    # the logs hold every committed change once (control records are not changes)
    for name in ("topic", "event_store"):
        assert pattern["projections"][name]["observed"] == len(committed), name
    assert pattern["valid"] is True


def test_dms_msk_lambda_naive_projector_resurrects_deleted_rows(tmp_path: Path) -> None:
    # exit code 1: a pattern's projection is invalid
    run_dir, results = _run(tmp_path, "tests/data/scenarios/dms-msk-lambda-naive.yaml", 1)
    pattern = results["patterns"]["dms_msk_lambda"]
    assert pattern["status"] == "completed", pattern.get("error")
    assert pattern["variables"]["projector"] == "naive"
    committed = _committed(run_dir, "dms_msk_lambda")
    deleted = {c.entity for c in committed if c.op == "delete"}
    assert deleted

    # the topic and the event store do not depend on the projector
    for name in ("topic", "event_store"):
        _assert_exact(pattern, name, committed)
    read_model = pattern["projections"]["read_model"]
    assert read_model["convergence"] == {
        "converged": False,
        "settled": True,
        "seconds": read_model["convergence"]["seconds"],
    }
    check = read_model["check"]
    assert check["valid"] is False
    # every delete is put back as the deleted row; nothing else can be wrong with it
    assert check["counts"]["resurrected"] == len(deleted)
    assert set(check["counts"]) <= {"resurrected", "stale", "unconverged"}
    resurrected = {(e["table"], e["key"]) for e in check["examples"]["resurrected"]}
    assert resurrected <= deleted
    assert pattern["valid"] is False
