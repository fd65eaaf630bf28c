"""`sqs_lambda_eventstore` as the dual write it is, in one run of three variants under one
load, the application dying inside its dual-write window in a tenth of its transactions:
sending after the commit loses exactly the events of the transactions it died in; sending
before the commit leaves an event behind every rolled-back change (phantoms); the outbox
loses and invents nothing, so with the article's persisting function behind it, what is lost
is exactly the events its second-resolution key overwrites (all but one of each multi-row
transaction's), and zeros and empty strings it drops show as divergent rows. Each event
store projection (the table, both indexes) holds the same, and nothing is dead-lettered."""

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.apps.emits import read_emits
from harness.load.ledger import ABORTED, COMMITTED, Change, read_ledger
from tests.helpers import run_cli

pytestmark = pytest.mark.e2e

PATTERN = "sqs_lambda_eventstore"
PROJECTIONS = ("events", "by_type", "by_source")
LOST = ("missing", "gap")


class DualWriteRun:
    def __init__(self, run_dir: Path, returncode: int, stderr: str) -> None:
        self.run_dir, self.returncode, self.stderr = run_dir, returncode, stderr
        self.results: dict[str, Any] = json.loads((run_dir / "results.json").read_text())

    def variant(self, name: str) -> dict[str, Any]:
        result = self.results["patterns"][name]
        assert result["status"] == "completed", result.get("error")
        assert result["pattern"] == PATTERN
        assert result["dead_letters"] == {"dlq": 0}
        return result

    def ledger(self, name: str) -> list[Change]:
        return read_ledger(self.run_dir / name / "ledger")

    def counts(self, name: str) -> dict[str, dict[str, int]]:
        """Per projection, its anomaly counts (`unconverged` aside); the same for all three."""
        projections = self.variant(name)["projections"]
        counts = {
            p: {k: n for k, n in projections[p]["check"]["counts"].items() if k != "unconverged"}
            for p in PROJECTIONS
        }
        assert counts["by_type"] == counts["by_source"] == counts["events"], counts
        return counts


@pytest.fixture(scope="module")
def dual_write(tmp_path_factory: pytest.TempPathFactory) -> DualWriteRun:
    tmp = tmp_path_factory.mktemp("dual-write")
    dies = {"emit_failure_ratio": 0.1}
    scenario = {
        "name": "e2e-dual-write",
        "patterns": ["after_commit", "before_commit", "outbox_naive"],
        "variants": {
            "after_commit": {"pattern": PATTERN, "variables": {"emit": "after_commit", **dies}},
            "before_commit": {"pattern": PATTERN, "variables": {"emit": "before_commit", **dies}},
            "outbox_naive": {
                "pattern": PATTERN,
                "variables": {"emit": "outbox", "persist": "naive", **dies},
            },
        },
        "load": {"duration_s": 10, "rate_per_s": 30, "users": 3},
        "workload": {
            "mix": {"insert": 35, "update": 35, "delete": 5, "order": 25},
            "abort_ratio": 0.05,
            "falsy_ratio": 0.2,
        },
        "check": {"converge_timeout_s": 60, "settle_s": 3, "lag_window_s": 2},
    }
    (tmp / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    reports = tmp / "reports"
    proc = run_cli("run", str(tmp / "scenario.yaml"), "--reports-dir", str(reports), timeout=900)
    assert (reports / "latest").exists(), proc.stderr[-3000:]
    return DualWriteRun((reports / "latest").resolve(), proc.returncode, proc.stderr)


def test_every_variant_is_invalid_and_the_run_says_so(dual_write: DualWriteRun) -> None:
    assert dual_write.returncode == 1, dual_write.stderr[-3000:]
    assert all(p["valid"] is False for p in dual_write.results["patterns"].values())


def test_after_commit_loses_exactly_the_changes_it_died_before_sending(
    dual_write: DualWriteRun,
) -> None:
    emits = read_emits(dual_write.run_dir / "after_commit" / "ledger")
    unsent = {(e.table, e.key, e.version) for e in emits if e.crashed and not e.sent}
    assert unsent and all(not e.error for e in emits)
    committed = {
        (c.table, c.key, c.version)
        for c in dual_write.ledger("after_commit")
        if c.status == COMMITTED
    }
    assert unsent <= committed

    for counts in dual_write.counts("after_commit").values():
        assert set(counts) <= set(LOST) and sum(counts.values()) == len(unsent)
    result = dual_write.variant("after_commit")
    assert result["emits"]["unsent"] == len(unsent) and result["emits"]["failed"] == 0
    missing = result["projections"]["events"]["check"]["examples"]
    for example in (e for kind in LOST for e in missing.get(kind, [])):
        assert (example["table"], example["key"], example["version"]) in unsent


def test_before_commit_leaves_a_phantom_event_for_every_rolled_back_change(
    dual_write: DualWriteRun,
) -> None:
    aborted = [c for c in dual_write.ledger("before_commit") if c.status == ABORTED]
    crashed = dual_write.variant("before_commit")["emits"]["crashed_transactions"]
    assert crashed > 0 and len({c.txid for c in aborted}) >= crashed

    for counts in dual_write.counts("before_commit").values():
        assert counts == {"phantom": len(aborted)}


def test_the_outbox_loses_only_what_the_naive_functions_key_overwrites(
    dual_write: DualWriteRun,
) -> None:
    committed = [c for c in dual_write.ledger("outbox_naive") if c.status == COMMITTED]
    per_transaction = Counter(c.txid for c in committed)
    overwritten = sum(n - 1 for n in per_transaction.values())
    assert overwritten > 0
    assert dual_write.variant("outbox_naive")["emits"]["crashed_transactions"] > 0

    for counts in dual_write.counts("outbox_naive").values():
        assert "phantom" not in counts and "duplicate" not in counts
        assert sum(counts.get(kind, 0) for kind in LOST) == overwritten
        assert counts["divergent"] > 0  # zeros and empty strings dropped
