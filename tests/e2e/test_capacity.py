"""`cdcbench capacity` on the local target: one deployment of `direct` offered rising steady
steps; each step's ledger in a folder of its own and in the pattern's whole ledger, each
judged; the whole run checked as one, with zero anomalies."""

import json
from pathlib import Path

import pytest

from harness.load.ledger import read_ledger
from harness.report.results import SCHEMA_VERSION
from tests.helpers import run_cli

pytestmark = pytest.mark.e2e

SCENARIO = """\
name: capacity-smoke
description: direct under steady steps
patterns: [direct]
load: {duration_s: 6, rate_per_s: 10, users: 2}
workload: {mix: {insert: 40, update: 40, delete: 5, order: 15}, abort_ratio: 0.02}
check: {converge_timeout_s: 60, lag_window_s: 1}
"""


def test_capacity_steps_one_deployment_and_judges_each_step(tmp_path: Path) -> None:
    scenario = tmp_path / "capacity.yaml"
    scenario.write_text(SCENARIO)
    reports = tmp_path / "reports"

    result = run_cli(
        "capacity", str(scenario), "--start", "20", "--max", "40", "--reports-dir", str(reports)
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "direct: 40 changes/s sustained (the ceiling)"
    assert lines[1].startswith("direct at 50%: 20/s: read_model p50 ")
    assert lines[2].startswith("direct at 90%: 36/s: read_model p50 ")
    run_dir = (reports / "latest").resolve()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["schema_version"] == SCHEMA_VERSION
    direct = results["patterns"]["direct"]
    assert set(direct["terraform_s"]) >= {"apply_s", "destroy_s"}, "applied once, destroyed once"
    capacity = direct["capacity"]
    assert capacity["sustained_per_s"] == 40 and capacity["bound"] is None
    steps = capacity["steps"]
    assert [(s["purpose"], s["offered_per_s"], s["seconds"]) for s in steps] == [
        ("warm-up", 20, 3),
        ("search", 20, 6),
        ("search", 40, 6),
        ("at 50%", 20, 6),
        ("at 90%", 36, 6),
    ]
    folders = sorted((run_dir / "direct" / "steps").iterdir())
    assert [f.name for f in folders] == ["01-20", "02-20", "03-40", "04-20", "05-36"]
    committed = 0
    for step, folder in zip(steps, folders, strict=True):
        if step["purpose"] != "warm-up":  # a cold start may not be sustained
            assert step["sustained"] is True and step["bound"] is None, step["reasons"]
        assert {"moto", "harness", "host", "load driver"} <= step["busy"].keys()
        mine = [c for c in read_ledger(folder / "ledger") if c.status == "committed"]
        lag = step["lag"]["read_model"]
        assert lag["seen"] == len(mine) > 0 and lag["unseen"] == 0
        assert 0 < lag["p50"] <= lag["p90"] <= lag["p99"]
        if step["purpose"] != "warm-up":
            assert step["committed_per_s"] > 0.9 * step["offered_per_s"]
        committed += len(mine)
    # the whole run is one ledger, checked as one
    assert direct["load"]["committed"] == committed
    read_model = direct["projections"]["read_model"]
    assert read_model["check"]["valid"] is True and read_model["check"]["counts"] == {}
    assert read_model["lag"]["seen"] == committed
    assert "Capacity: <b>40 changes/s</b> sustained" in (run_dir / "index.html").read_text()
