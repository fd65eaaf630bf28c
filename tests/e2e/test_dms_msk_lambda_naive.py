"""`dms_msk_lambda` with the seed article's naive projector (puts every message, no version
guard) under load on the local target: the topic and the event store stay exact, the read
model settles wrong with every deleted row back."""

import json
from pathlib import Path

import pytest

from harness.load.ledger import read_ledger
from tests.helpers import REPO, assert_exact, run_cli

pytestmark = pytest.mark.e2e


def test_dms_msk_lambda_naive_projector_resurrects_deleted_rows(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    scenario = REPO / "tests/data/scenarios/dms-msk-lambda-naive.yaml"
    result = run_cli("run", str(scenario), "--reports-dir", str(reports))
    assert result.returncode == 1, result.stderr[-3000:]  # a projection is invalid
    run_dir = (reports / "latest").resolve()
    results = json.loads((run_dir / "results.json").read_text())
    pattern = results["patterns"]["dms_msk_lambda"]
    assert pattern["status"] == "completed", pattern.get("error")
    assert pattern["variables"]["projector"] == "naive"
    committed = [
        c for c in read_ledger(run_dir / "dms_msk_lambda" / "ledger") if c.status == "committed"
    ]
    deleted = {c.entity for c in committed if c.op == "delete"}
    assert deleted

    # the topic and the event store do not depend on the projector
    for name in ("topic", "event_store"):
        assert_exact(pattern["projections"][name], len(committed))
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
