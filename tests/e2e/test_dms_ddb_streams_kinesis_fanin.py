"""`dms_ddb_streams_kinesis` with a fan-in that is not the correct one, under load on the
local target: the article's naive glue (the stream and its archive show rows' changes out of
order, never lost or repeated while Kinesis takes every put; the versioned projector keeps
the read model exact), and a fan-in that fails every time (the run says so in one line,
stops waiting, and the checker counts what never arrived as missing)."""

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from harness.function_packages import write_zip
from harness.load.ledger import Change, Entity, final_state, read_ledger
from harness.observe.base import read_observations
from tests.helpers import REPO, assert_exact, run_cli, run_scenario

pytestmark = pytest.mark.e2e

PATTERN = "dms_ddb_streams_kinesis"


def committed(run_dir: Path) -> list[Change]:
    return [c for c in read_ledger(run_dir / PATTERN / "ledger") if c.status == "committed"]


def shards_of_rows(run_dir: Path) -> dict[Entity, set[str]]:
    """Each row's shards on the Kinesis stream, from the stream observer's positions."""
    shards: dict[Entity, set[str]] = defaultdict(set)
    for seen in read_observations(run_dir / PATTERN / "observations-bus.csv"):
        shards[seen.entity].add(seen.position.split(":")[0])
    return shards


def split_pairs(run_dir: Path) -> int:
    """A row's consecutive changes that the fan-in put on different shards: the only ones a
    reader of the stream can see in the wrong order."""
    placed: dict[Entity, dict[int, str]] = defaultdict(dict)
    for seen in read_observations(run_dir / PATTERN / "observations-bus.csv"):
        placed[seen.entity][seen.version] = seen.position.split(":")[0]
    return sum(
        by_version[a] != by_version[b]
        for by_version in placed.values()
        for a, b in zip(sorted(by_version), sorted(by_version)[1:], strict=False)
    )


def test_the_naive_fanin_reorders_rows_changes_on_the_stream_and_in_the_archive(
    tmp_path: Path,
) -> None:
    reports = tmp_path / "reports"
    scenario = REPO / "tests/data/scenarios/dms-ddb-streams-kinesis-naive.yaml"
    run = run_cli("run", str(scenario), "--reports-dir", str(reports))
    run_dir = (reports / "latest").resolve()
    pattern = json.loads((run_dir / "results.json").read_text())["patterns"][PATTERN]
    assert pattern["status"] == "completed", pattern.get("error")
    assert pattern["variables"]["fanin"] == "naive"
    changes = committed(run_dir)

    # the copies and the read model do not depend on the order on the stream
    for name in ("tables", "read_model"):
        assert_exact(pattern["projections"][name], len(changes))
    # every change reaches the stream and the archive once; only its order can be wrong,
    # and only for a row whose changes went to different shards
    split = split_pairs(run_dir)
    assert split > 0, "per-record partition keys put no row's changes on two shards"
    spread = {row for row, shards in shards_of_rows(run_dir).items() if len(shards) > 1}
    for name in ("bus", "archive"):
        projection = pattern["projections"][name]
        assert projection["observed"] == len(changes), name
        assert projection["lag"]["unseen"] == 0, name
        check = projection["check"]
        assert set(check["counts"]) <= {"out_of_order"}, (name, check["counts"])
        assert check["counts"].get("out_of_order", 0) <= split, name
        reordered = {(e["table"], e["key"]) for e in check["examples"].get("out_of_order", [])}
        assert reordered <= spread, name
    assert run.returncode == (0 if pattern["valid"] else 1), run.stderr[-3000:]


FAILING_HANDLER = b'def handler(event, context):\n    raise RuntimeError("fan-in is broken")\n'


def test_a_fanin_failing_every_time_is_reported_and_its_changes_are_missing(
    tmp_path: Path,
) -> None:
    package = write_zip(tmp_path / "broken.zip", {"fanin.py": FAILING_HANDLER})
    scenario: dict[str, Any] = {
        "name": "e2e-broken-fanin",
        "patterns": [PATTERN],
        "load": {"duration_s": 25, "rate_per_s": 10, "users": 2},
        "workload": {"mix": {"insert": 50, "update": 40, "delete": 10}},
        "pattern_variables": {PATTERN: {"fanin_package": str(package)}},
        "check": {"converge_timeout_s": 120, "lag_window_s": 2},
    }

    run, run_dir = run_scenario(tmp_path, scenario)

    pattern = json.loads((run_dir / "results.json").read_text())["patterns"][PATTERN]
    error = pattern["error"]
    assert error.startswith("Lambda mapping ") and "-fanin <- arn:aws:dynamodb:" in error
    assert "RuntimeError: fan-in is broken (one batch failed " in error
    assert error in run.stderr.splitlines()  # one line, as it is
    changes = committed(run_dir)
    live = [c for c in final_state(changes).values() if c.op != "delete"]
    projections = pattern["projections"]
    assert_exact(projections["tables"], len(changes))
    for name in ("bus", "archive", "read_model"):
        projection = projections[name]
        # the wait ended on the failure, long before the convergence deadline
        assert projection["convergence"]["converged"] is False, name
        assert projection["convergence"]["seconds"] < 30, name
        assert projection["observed"] == 0, name
        expected = len(changes) if projection["kind"] == "event_log" else len(live)
        # final (the wait ended on a failed service), so the missing changes make it invalid
        assert projection["check"]["counts"] == {"missing": expected, "unconverged": 1}, name
        assert projection["check"]["valid"] is False, name
    assert pattern["valid"] is False
    assert run.returncode == 1, run.stderr[-3000:]
