"""`cdcbench run --workers N` on the local target: the locust_workers module applied to
moto, its ECS service run by the local ECS engine as Locust worker processes, each
worker's ledger carried through S3 and merged by the harness."""

import json
from pathlib import Path

import psutil
import pytest
import yaml

from harness.load.ledger import read_ledger
from tests.conftest import ADDED
from tests.helpers import assert_exact, run_cli

pytestmark = pytest.mark.e2e


def test_a_run_with_workers_merges_their_ledgers_and_leaves_nothing(tmp_path: Path) -> None:
    table, column, sql_type = ADDED
    change = {"at_s": 4, "table": table, "column": column, "sql_type": sql_type}
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        yaml.safe_dump(
            {
                "name": "workers",
                "patterns": ["direct"],
                "load": {"duration_s": 10, "rate_per_s": 30, "users": 4},
                "workload": {"mix": {"insert": 40, "update": 40, "delete": 5, "order": 15}},
                "schema_change": change,
                "check": {"converge_timeout_s": 60},
            }
        )
    )
    reports = tmp_path / "reports"

    result = run_cli("run", str(scenario), "--workers", "2", "--reports-dir", str(reports))

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run_dir = (reports / "latest").resolve()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["target"]["workers"] == 2
    direct = results["patterns"]["direct"]
    assert direct["valid"] is True and direct["load"]["failures"] == 0, direct["load"]
    ledger_dir = run_dir / "direct" / "ledger"
    assert len(list(ledger_dir.glob("*.csv"))) == 2, "one ledger per worker, none of the master"
    assert len(direct["clocks"]) == 3, "the harness's clock and each worker's"
    committed = [c for c in read_ledger(ledger_dir) if c.status == "committed"]
    assert len(committed) == direct["load"]["committed"] > 0
    assert_exact(direct["projections"]["read_model"], len(committed))
    assert (run_dir / "direct" / "ledger" / "schema-change.json").exists()
    # the workers' own calls (their secret, their ledgers) are not the pattern's usage
    assert set(direct["usage"]) == {"dynamodb.write_request_unit"}, direct["usage"]

    tfvars = run_dir / "locust-workers" / "terraform" / "modules" / "locust_workers"
    port = json.loads((tfvars / "terraform.tfvars.json").read_text())["master_port"]
    left = [
        p.info["cmdline"]
        for p in psutil.process_iter(["cmdline"])
        if "--worker" in (p.info["cmdline"] or []) and str(port) in (p.info["cmdline"] or [])
    ]
    assert left == [], "the workers stop with the run"
