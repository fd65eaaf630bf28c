"""Faults scheduled by the scenario, applied on the local target through the AWS API or its
own controls, one after the other: `dms_ddb_streams_kinesis` with its DMS task stopped and
resumed from its checkpoint, its Lambda functions throttled, its replication instance
rebooted, its source database restarted, its functions failing, its link to the source
slowed and its DynamoDB tables' writes throttled loses nothing; a burst of rows past its LOB
limit corrupts those rows only; and each fault's recovery is measured per projection."""

import json
from pathlib import Path

import pytest

from harness.load.ledger import read_ledger
from tests.helpers import REPO, run_cli

pytestmark = pytest.mark.e2e

PATTERN = "dms_ddb_streams_kinesis"
FED_BY_LAMBDA = {"bus", "read_model"}
"""Its projections behind a function (the fan-in writes the bus, the projector the model)."""
UNBATCHED = {"tables", *FED_BY_LAMBDA}
"""Its projections whose own lag is well under the faults' 8 s (not the archive's buffer)."""


def test_each_fault_kind_leaves_nothing_lost_and_its_recovery_is_measured(
    tmp_path: Path,
) -> None:
    reports = tmp_path / "reports"
    scenario = REPO / "tests/data/scenarios/faults-e2e.yaml"
    result = run_cli("run", str(scenario), "--reports-dir", str(reports))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run_dir = (reports / "latest").resolve()
    pattern = json.loads((run_dir / "results.json").read_text())["patterns"][PATTERN]
    assert pattern["status"] == "completed", pattern.get("error")
    committed = [c for c in read_ledger(run_dir / PATTERN / "ledger") if c.status == "committed"]
    for name, projection in pattern["projections"].items():
        lag = projection["lag"]
        assert lag["unseen"] == 0 and lag["seen"] + lag["skipped"] == len(committed), name
        assert set(projection["check"]["counts"]) <= {"duplicate", "divergent"}, projection["check"]

    stop, throttle, reboot, restart, errors, delay, writes, burst = pattern["faults"]
    assert [f["kind"] for f in pattern["faults"]] == [
        "dms_task_stop",
        "lambda_throttle",
        "dms_instance_reboot",
        "source_restart",
        "lambda_errors",
        "network_delay",
        "dynamodb_throttle",
        "lob_burst",
    ]
    assert [":task:" in arn for arn in stop["targets"]] == [True]
    assert len(throttle["targets"]) == 2  # the fan-in and the projector
    assert errors["targets"] == throttle["targets"]
    assert [":rep:" in arn for arn in reboot["targets"]] == [True]
    assert restart["targets"] == ["source"]
    assert [":endpoint:" in arn for arn in delay["targets"]] == [True]  # the source endpoint
    assert len(writes["targets"]) == 3  # DMS's copy of each source table, the projector's model
    assert burst["targets"] == ["source"]
    # the burst's rows carried notes past the 32 KB limit: DMS's copy shows them truncated
    # (and the verdict found every divergent row among them)
    past = [c for c in committed if c.lob_bytes > 32 * 1024]
    assert past and all(c.table == "widgets" and c.op != "delete" for c in past)
    assert pattern["projections"]["tables"]["check"]["counts"].get("divergent", 0) > 0
    for fault in pattern["faults"]:
        assert fault["error"] is None, fault["error"]
        assert fault["ended_ns"] - fault["started_ns"] >= 7.9e9  # its 8 s
        assert fault["met"] is True, fault["reasons"]
        line = f"{PATTERN}: fault {fault['kind']} at {fault['at_s']:g} s: as expected"
        assert line in result.stdout
    # what waited for the fault shows it: the projections after the stopped or crashed
    # task, those behind a function after the throttle and the errors (the mappings retry
    # the failed batches); after the source's restart, the changes committed once it is
    # back wait for the task's own restart (5 s after the outage began, then 10 s after that
    # failed attempt); the tables DMS and the projector write after their writes' throttle
    for fault, hit, delay_ms in (
        (stop, UNBATCHED, 4_000),
        (throttle, FED_BY_LAMBDA, 4_000),
        (reboot, UNBATCHED, 4_000),
        (restart, UNBATCHED, 3_000),
        (errors, FED_BY_LAMBDA, 4_000),
        (writes, {"tables", "read_model"}, 4_000),
    ):
        for name in hit:
            recovery = fault["recovery"][name]
            assert recovery["peak_ms"] > recovery["before_ms"] + delay_ms, (fault["kind"], name)
            assert recovery["detect_s"] is not None and recovery["detect_s"] < 10, recovery
            assert recovery["recover_s"] is not None, recovery
    # every change committed while the link was slow crossed it 100 ms late at least: DMS's
    # table projection, 15 ms behind the source otherwise, is that much behind
    origin_ns = pattern["throughput"]["origin_ns"]
    start_s, end_s = ((delay[k] - origin_ns) / 1e9 for k in ("started_ns", "ended_ns"))
    during = [
        w["p50"]
        for w in pattern["projections"]["tables"]["lag"]["over_time"]
        if start_s <= w["start_s"] and w["start_s"] + 2 <= end_s
    ]
    assert len(during) >= 4 and min(during) >= 100, during
    html = (run_dir / "index.html").read_text()
    assert "<h2>Faults</h2>" in html and "lambda_throttle starts" in html
