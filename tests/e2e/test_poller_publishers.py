"""cloudonaut's polling publisher under transactions held open (a tenth of them, for a
second, as a slow batch job's are), in one run: the naive publisher, which moves its
watermark to the highest change version it read, loses the changes of transactions that
took their version before that one and committed after the poll; the loss is final (the
projections settle wrong: stale, missing or resurrected rows, not unknown), and every case
traces back to a poll that moved past the lost change's version before its transaction
committed. The correct publisher, bounded by the snapshot's xmin, loses nothing: it only
waits for the held transactions."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.load.ledger import COMMITTED, Change, read_ledger
from tests.helpers import assert_exact, run_cli

pytestmark = pytest.mark.e2e

LOST = ("missing", "stale", "resurrected")
VARIANTS = {
    "kinesis_naive": ("poller_kinesis_aurora", "naive", ("replica", "changes")),
    "dynamodb_naive": ("poller_dynamodb", "naive", ("table",)),
    "dynamodb_correct": ("poller_dynamodb", "correct", ("table",)),
}


class PollerRun:
    def __init__(self, run_dir: Path, returncode: int, stderr: str) -> None:
        self.run_dir, self.returncode, self.stderr = run_dir, returncode, stderr
        self.results: dict[str, Any] = json.loads((run_dir / "results.json").read_text())

    def variant(self, name: str) -> dict[str, Any]:
        result = self.results["patterns"][name]
        assert result["status"] == "completed", result.get("error")
        assert result["pattern"] == VARIANTS[name][0]
        assert result["variables"]["publisher"] == VARIANTS[name][1]
        return result

    def committed(self, name: str) -> list[Change]:
        return [c for c in read_ledger(self.run_dir / name / "ledger") if c.status == COMMITTED]

    def polls(self, name: str) -> list[dict[str, Any]]:
        text = (self.run_dir / name / "publisher" / "polls.jsonl").read_text()
        return [json.loads(line) for line in text.splitlines()]


def lost_version(case: dict[str, Any]) -> int:
    """The version of the change an example says was lost: a state projection's expected
    row or the delete it missed; a net-change feed's final version of the key."""
    if "deleted_version" in case:
        return int(case["deleted_version"]) + 1
    return int(case["expected"] if "expected" in case else case["version"])


@pytest.fixture(scope="module")
def poller_run(tmp_path_factory: pytest.TempPathFactory) -> PollerRun:
    tmp = tmp_path_factory.mktemp("pollers")
    scenario = {
        "name": "e2e-pollers",
        "patterns": list(VARIANTS),
        "variants": {
            name: {
                "pattern": pattern,
                "variables": {"publisher": publisher, "poll_interval_ms": 100},
            }
            for name, (pattern, publisher, _) in VARIANTS.items()
        },
        "load": {"duration_s": 20, "rate_per_s": 20, "users": 4},
        "workload": {
            "mix": {"insert": 40, "update": 40, "delete": 5, "order": 15},
            "abort_ratio": 0.02,
            "hold_open_ratio": 0.1,
            "hold_open_s": 1.0,
        },
        "check": {
            "converge_timeout_s": 60,
            "settle_s": 5,
            "lag_window_s": 2,
            "max_examples": 1_000,
        },
    }
    (tmp / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    reports = tmp / "reports"
    proc = run_cli("run", str(tmp / "scenario.yaml"), "--reports-dir", str(reports), timeout=1800)
    assert (reports / "latest").exists(), proc.stderr[-3000:]
    return PollerRun((reports / "latest").resolve(), proc.returncode, proc.stderr)


def test_the_correct_publisher_waits_for_held_transactions_and_loses_nothing(
    poller_run: PollerRun,
) -> None:
    result = poller_run.variant("dynamodb_correct")
    committed = poller_run.committed("dynamodb_correct")
    assert_exact(result["projections"]["table"], len(committed))
    polls = poller_run.polls("dynamodb_correct")
    assert all(p["until"] < p["xmin"] or p["sent"] == 0 for p in polls)  # never past xmin


@pytest.mark.parametrize("name", ["kinesis_naive", "dynamodb_naive"])
def test_the_naive_publisher_loses_late_commits_for_good_each_traced_to_its_poll(
    poller_run: PollerRun, name: str
) -> None:
    result = poller_run.variant(name)
    committed = poller_run.committed(name)
    by_version = {(c.table, c.key, c.version): c for c in committed}
    polls = poller_run.polls(name)
    for projection in VARIANTS[name][2]:
        check = result["projections"][projection]["check"]
        assert check["valid"] is False, (projection, check)
        lost = {kind: n for kind, n in check["counts"].items() if kind in LOST}
        assert sum(lost.values()) > 0 and set(check["counts"]) <= {*LOST, "unconverged"}
        assert result["projections"][projection]["convergence"]["settled"] is True
        for kind in lost:
            for case in check["examples"][kind]:
                change = by_version[(case["table"], case["key"], lost_version(case))]
                passed = [
                    p
                    for p in polls
                    if p["since"] < change.txid < p["until"] and p["at_ns"] < change.acked_ns
                ]
                assert passed, (projection, kind, case, change)
    assert poller_run.returncode == 1  # the run says it is invalid


def test_the_replica_holds_what_the_stream_carried(poller_run: PollerRun) -> None:
    """The subscriber's SQL against the replica: the rows it got wrong are exactly the keys
    whose final change the stream lost, but for keys the source deleted whose every change
    the stream lost (nothing to remove from the replica)."""
    projections = poller_run.variant("kinesis_naive")["projections"]

    def lost(projection: str) -> set[tuple[str, str]]:
        examples = projections[projection]["check"]["examples"]
        return {(case["table"], case["key"]) for kind in LOST for case in examples.get(kind, [])}

    final = {(c.table, c.key): c for c in poller_run.committed("kinesis_naive")}
    replica, stream = lost("replica"), lost("changes")
    assert replica and replica <= stream
    assert all(final[key].op == "delete" for key in stream - replica)


def test_a_publisher_that_cannot_start_fails_the_run_in_one_line_and_tears_down(
    tmp_path: Path,
) -> None:
    scenario = {
        "name": "e2e-bad-table",
        "patterns": ["poller_dynamodb"],
        "load": {"duration_s": 5, "rate_per_s": 5, "users": 1},
        "pattern_variables": {"poller_dynamodb": {"tracked_tables": ["widgets", "gadgets"]}},
    }
    (tmp_path / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    reports = tmp_path / "reports"
    proc = run_cli("run", str(tmp_path / "scenario.yaml"), "--reports-dir", str(reports))

    assert proc.returncode == 2, proc.stderr[-3000:]
    *progress, line = proc.stderr.strip().splitlines()
    assert not any("error" in earlier for earlier in progress)
    assert line.startswith("cdcbench: error: publisher did not start: publisher: cannot install")
    assert 'relation "gadgets" does not exist (log: ' in line
    run_dir = (reports / "latest").resolve()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "failed"
    assert "Destroy complete!" in (run_dir / "poller_dynamodb" / "logs" / "destroy.log").read_text()
