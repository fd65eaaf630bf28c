"""`cdcbench run --target localstack` end to end against a stand-in endpoint: `direct` runs
on the endpoint alone; `dms_s3_dynamodb` runs its DMS tasks in the embedded cloud (the local
DMS engine reading the embedded PostgreSQL) and writes its S3 event store and DynamoDB read
model on the endpoint, where the observers read them. Both are exact, and the results say
which service ran where."""

import json
import re
from pathlib import Path

import pytest
import yaml

from harness.load.ledger import read_ledger
from harness.patterns import patterns
from tests.helpers import assert_exact, run_cli
from tests.localstack_standin import standin

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
PATTERNS = ["direct", "dms_s3_dynamodb"]


def test_patterns_run_across_the_endpoint_and_the_embedded_cloud(tmp_path: Path) -> None:
    scenario = {
        "name": "ls-standin",
        "patterns": PATTERNS,
        "load": {"duration_s": 15, "rate_per_s": 20, "users": 2},
        "workload": {"mix": {"insert": 40, "update": 40, "delete": 5, "order": 15}},
        "pattern_variables": {n: patterns()[n].smoke_variables for n in PATTERNS},
        "check": {"converge_timeout_s": 120, "lag_window_s": 2},
    }
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    log = tmp_path / "standin.log"

    with standin(log) as endpoint:
        proc = run_cli(
            "run",
            str(tmp_path / "scenario.yaml"),
            "--target",
            "localstack",
            "--reports-dir",
            str(tmp_path / "reports"),
            env={"LOCALSTACK_ENDPOINT": endpoint},
            timeout=840,
        )

    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run_dir = next(p for p in (tmp_path / "reports").iterdir() if p.name != "latest")
    results = json.loads((run_dir / "results.json").read_text())
    target = results["target"]
    assert target["name"] == "localstack" and target["localstack"]["endpoint"] == endpoint
    assert target["services"] == {
        "dms": "embedded",
        "ec2": "embedded",
        "dynamodb": "localstack",
        "dynamodbstreams": "localstack",
        "iam": "localstack",
        "s3": "localstack",
        "sts": "localstack",
    }
    for name in PATTERNS:
        committed = [c for c in read_ledger(run_dir / name / "ledger") if c.status == "committed"]
        for projection in results["patterns"][name]["projections"].values():
            assert_exact(projection, len(committed))
    assert "dms: embedded" in (run_dir / "index.html").read_text()  # the report says where
    requests = log.read_text()
    assert re.search(r'"PUT /cdcbench-\S+-events/\S+\.csv', requests)  # the event store's objects
    assert '"POST / HTTP/1.1" 200' in requests  # and DynamoDB's calls
