"""`sqs_lambda_eventstore` with its queue's sends denied for a while (queue_sends_denied,
through the queue policy): the article's application, sending after its commit, loses the
events of exactly the changes whose send was refused, and the run judges that the outcome
the fault's kind expects."""

import json
from pathlib import Path

import pytest

from harness.apps.emits import read_emits
from harness.load.ledger import COMMITTED, read_ledger
from tests.helpers import run_scenario

pytestmark = pytest.mark.e2e

PATTERN = "sqs_lambda_eventstore"


def test_the_changes_whose_send_was_refused_are_lost_exactly_and_as_expected(
    tmp_path: Path,
) -> None:
    scenario = {
        "name": "e2e-denied",
        "patterns": [PATTERN],
        "load": {"duration_s": 14, "rate_per_s": 20},
        "faults": [{"kind": "queue_sends_denied", "at_s": 4, "duration_s": 4}],
        "check": {"converge_timeout_s": 60, "settle_s": 3},
    }
    result, run_dir = run_scenario(tmp_path, scenario)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    pattern = json.loads((run_dir / "results.json").read_text())["patterns"][PATTERN]
    assert pattern["status"] == "completed", pattern.get("error")

    emits = read_emits(run_dir / PATTERN / "ledger")
    refused = {(e.table, e.key, e.version) for e in emits if not e.sent}
    assert refused and all("AccessDenied" in e.error for e in emits if not e.sent)
    committed = {
        (c.table, c.key, c.version)
        for c in read_ledger(run_dir / PATTERN / "ledger")
        if c.status == COMMITTED
    }
    assert refused <= committed
    assert pattern["emits"]["never_sent"] == pattern["emits"]["failed"] == len(refused)
    (fault,) = pattern["faults"]
    assert fault["met"] is True, fault["reasons"]
    for name, projection in pattern["projections"].items():
        counts = {k: n for k, n in projection["check"]["counts"].items() if k != "unconverged"}
        assert set(counts) <= {"missing", "gap"} and sum(counts.values()) == len(refused), name
        assert fault["recovery"][name]["anomalies"] == counts
    assert f"{PATTERN}: fault queue_sends_denied at 4 s: as expected" in result.stdout
