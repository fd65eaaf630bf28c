"""`dms_s3_dynamodb` with one CDC file of its event store landing late (late_cdc_file, the local
DMS engine's stalled upload): task 2, reading the store as DMS's S3 source, skips it, so the
read model lacks what only that file carried; the store keeps every change; the run judges
that the outcome the fault's kind expects."""

import json
from pathlib import Path

import pytest

from harness.check.late_objects import shown_only_late
from harness.check.shown_lost import lost_as_shown
from harness.load.ledger import Ledger, read_ledger
from harness.observe.base import Observations
from tests.helpers import run_scenario

pytestmark = pytest.mark.e2e

PATTERN = "dms_s3_dynamodb"


def test_the_read_model_loses_what_only_the_late_file_carried_and_as_expected(
    tmp_path: Path,
) -> None:
    scenario = {
        "name": "e2e-late-file",
        "patterns": [PATTERN],
        "load": {"duration_s": 24, "rate_per_s": 20},
        "pattern_variables": {PATTERN: {"cdc_max_batch_interval": 2}},
        "faults": [{"kind": "late_cdc_file", "at_s": 4, "duration_s": 4}],
        "check": {"converge_timeout_s": 90, "settle_s": 5},
    }
    result, run_dir = run_scenario(tmp_path, scenario)
    pattern = json.loads((run_dir / "results.json").read_text())["patterns"][PATTERN]
    assert pattern["status"] == "completed", pattern.get("error")

    late = shown_only_late(Observations.read(run_dir / PATTERN / "observations-event_store.csv"))
    ledger = Ledger.of(read_ledger(run_dir / PATTERN / "ledger"))
    shown = lost_as_shown(ledger, ledger.committed_of(late), each_change=False)
    assert late and shown, "no file landed late, or none carried what the read model shows"
    (fault,) = pattern["faults"]
    assert fault["met"] is True, fault["reasons"]
    counts = {n: p["check"]["counts"] for n, p in pattern["projections"].items()}
    store, model = (
        {k: n for k, n in counts[name].items() if k != "unconverged"}
        for name in ("event_store", "read_model")
    )
    assert set(store) <= {"out_of_order"}  # the store loses nothing
    assert set(model) <= {"missing", "stale", "resurrected"}
    assert sum(model.values()) == len(shown)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"{PATTERN}: fault late_cdc_file at 4 s: as expected" in result.stdout
