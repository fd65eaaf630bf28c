"""Every discovered pattern under load on the local target, in one run (its descriptor's
`smoke_variables` applied) in which the source gains a column mid-load: every projection
converges and shows every committed change (a state projection: but a row deleted before
it showed any of it), each event log holds each change exactly once
(a net-change feed: at most once, and each key's final state), the added column arrives
wherever the pattern's descriptor says it does (with zero anomalies there) and elsewhere
exactly the changes that held it differ, and `cdcbench check` recomputes the same figures
from the run's folder. Parametrised over the patterns, so a new folder is held to this
without editing the file."""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.load.ledger import Change, final_state, read_ledger
from harness.observe.base import read_observations
from harness.observe.s3_objects import S3ObjectsObserver
from harness.patterns import patterns
from tests.browser import view
from tests.helpers import assert_exact, run_cli

NAMES = sorted(patterns())
PER_PATTERN_S = 300
"""Time allowed per pattern in the smoke run (each takes about 2 to 3 minutes)."""

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(PER_PATTERN_S * len(NAMES))]


class SmokeRun:
    def __init__(self, run_dir: Path, proc: subprocess.CompletedProcess[str]) -> None:
        self.run_dir = run_dir
        self.proc = proc
        self.results: dict[str, Any] = json.loads((run_dir / "results.json").read_text())

    def committed(self, pattern: str) -> list[Change]:
        changes = read_ledger(self.run_dir / pattern / "ledger")
        return [c for c in changes if c.status == "committed"]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory: pytest.TempPathFactory) -> SmokeRun:
    tmp = tmp_path_factory.mktemp("patterns")
    scenario = {
        "name": "e2e-patterns",
        "patterns": NAMES,
        "load": {"duration_s": 20, "rate_per_s": 20, "users": 2, "isolation": "shared"},
        "workload": {
            "mix": {"insert": 40, "update": 40, "delete": 5, "order": 15},
            "abort_ratio": 0.03,
            "lob_ratio": 0.05,
            "lob_bytes": 2000,
        },
        "schema_change": {"at_s": 8, "table": "widgets", "column": "colour"},
        "pattern_variables": {n: patterns()[n].smoke_variables for n in NAMES},
        "check": {"converge_timeout_s": 120, "lag_window_s": 2},
    }
    (tmp / "scenario.yaml").write_text(yaml.safe_dump(scenario))
    reports = tmp / "reports"
    proc = run_cli(
        "run",
        str(tmp / "scenario.yaml"),
        "--reports-dir",
        str(reports),
        timeout=PER_PATTERN_S * len(NAMES),
    )
    assert (reports / "latest").exists(), proc.stderr[-3000:]
    return SmokeRun((reports / "latest").resolve(), proc)


@pytest.mark.parametrize("name", NAMES)
def test_every_projection_converges_exact(smoke_run: SmokeRun, name: str) -> None:
    pattern = smoke_run.results["patterns"][name]
    assert pattern["status"] == "completed", pattern.get("error")
    committed = smoke_run.committed(name)
    assert committed and any(c.op == "delete" for c in committed)
    assert set(smoke_run.results["patterns"][name]["projections"]) == {
        p.name for p in patterns()[name].projections
    }
    # what it bills for, read from its state, and its cost at the run's rate
    assert pattern["resources"] and pattern["cost"]["changes_per_s"] > 0
    assert pattern["cost"]["fixed_usd_per_month"] >= 0
    holding = sum(c.added for c in committed)
    assert pattern["schema_change"]["column"] == "colour" and holding > 0
    expected = {p.name: p.added_column.arrives for p in patterns()[name].projections}
    feeds = {p.name: p.feed for p in patterns()[name].projections}
    for projection_name, projection in pattern["projections"].items():
        outcome = projection["schema_change"]
        assert outcome["arrived"] is outcome["expected_arrival"] is expected[projection_name]
        assert projection["feed"] == feeds[projection_name]
        # an event log shows every change; a state projection or a net-change feed may skip
        # superseded versions
        skips = projection["kind"] == "state" or feeds[projection_name] == "net_changes"
        shown = outcome["carried"] + outcome["stripped"]
        assert 0 < shown <= holding and (shown == holding or skips)
        if outcome["arrived"]:
            assert_exact(projection, len(committed))
            assert outcome["stripped"] == 0, projection_name
            assert outcome["first"]["after_ddl_s"] >= 0
        else:  # exactly the changes that held the column differ; nothing else is wrong
            assert outcome["note"], f"{name}/{projection_name} does not say why"
            assert outcome["carried"] == 0, projection_name
            assert projection["check"]["counts"] == {"divergent": shown}, projection_name
            assert projection["convergence"]["converged"] is True
        assert outcome["lost_near_ddl"] == 0, projection_name
        assert projection["lag"]["from_commit_ms"]["p50"] > 0, projection_name
        assert projection["floor_ms"] >= 0
        if projection["kind"] == "state":  # its final snapshot is kept beside its observations
            assert (smoke_run.run_dir / name / f"snapshot-{projection_name}.csv").exists()
        elif feeds[projection_name] == "net_changes":  # at most once, each key's final state
            assert projection["observed"] <= len(committed), projection_name
            path = smoke_run.run_dir / name / f"observations-{projection_name}.csv"
            seen = {(o.table, o.key, o.version) for o in read_observations(path)}
            final = {(c.table, c.key, c.version) for c in final_state(committed).values()}
            assert final <= seen, projection_name
        else:  # an event log or store: every committed change, once
            assert projection["observed"] == len(committed), projection_name
    assert pattern["valid"] is all(expected.values())


def test_the_run_is_checked_again_with_the_same_figures(smoke_run: SmokeRun) -> None:
    # a pattern that drops the added column is invalid: the run says so in its exit code
    code = 0 if all(p.added_column.arrives for n in NAMES for p in patterns()[n].projections) else 1
    assert smoke_run.proc.returncode == code, smoke_run.proc.stderr[-3000:]
    assert "added column arrived from widgets" in smoke_run.proc.stdout
    written = (smoke_run.run_dir / "results.json").read_text()

    again = run_cli("report", str(smoke_run.run_dir))

    assert again.returncode == code, again.stderr
    assert again.stdout == smoke_run.proc.stdout
    assert (smoke_run.run_dir / "results.json").read_text() == written


def test_the_s3_read_model_waits_for_the_event_stores_batch_window(smoke_run: SmokeRun) -> None:
    pattern = smoke_run.results["patterns"]["dms_s3_dynamodb"]
    assert pattern["variables"]["cdc_max_batch_interval"] == 3
    store, model = pattern["projections"]["event_store"], pattern["projections"]["read_model"]
    assert store["floor_ms"] == model["floor_ms"] == 3000
    # the read model is fed from the event store: it cannot show a change sooner. The store's
    # observer dates an object when a listing first shows it, up to one idle pause after it
    # landed, so the store's figures can run that much behind the truth.
    resolution_ms = S3ObjectsObserver.idle_s * 1000
    assert (
        model["lag"]["from_commit_ms"]["p50"]
        >= store["lag"]["from_commit_ms"]["p50"] - resolution_ms
    )


def test_the_event_bus_keeps_each_rows_changes_on_one_shard(smoke_run: SmokeRun) -> None:
    pattern = "dms_ddb_streams_kinesis"
    shards: dict[tuple[str, str], set[str]] = {}
    for seen in read_observations(smoke_run.run_dir / pattern / "observations-bus.csv"):
        shards.setdefault(seen.entity, set()).add(seen.position.split(":")[0])
    assert len({shard for row in shards.values() for shard in row}) == 2  # both shards used
    assert all(len(row) == 1 for row in shards.values())


def test_dms_messages_announce_the_added_column_the_event_bus_does_not(smoke_run: SmokeRun) -> None:
    """DMS's stream messages carry an add-column control record (IncludeTableAlterOperations),
    on the topic and through MSK Connect into the event store; the event bus's change
    events come from DynamoDB items, which have no schema to announce."""
    announced = {
        (name, projection): result["schema_change"]["announced"]
        for name, pattern in smoke_run.results["patterns"].items()
        for projection, result in pattern["projections"].items()
    }
    assert announced[("dms_msk_lambda", "topic")] is True
    assert announced[("dms_msk_lambda", "event_store")] is True
    assert announced[("dms_ddb_streams_kinesis", "bus")] is False
    assert announced[("dms_ddb_streams_kinesis", "archive")] is False
    assert announced[("dms_s3_dynamodb", "event_store")] is None  # CSV: rows only
    assert announced[("direct", "read_model")] is None
    page = (smoke_run.run_dir / "index.html").read_text()
    assert "<code>ALTER TABLE widgets ADD COLUMN colour text</code>" in page
    assert page.count("<td>add-column</td>") == 2


def test_the_report_draws_every_chart_and_lists_every_pattern_in_a_browser(
    smoke_run: SmokeRun, tmp_path: Path
) -> None:
    page = view(smoke_run.run_dir / "index.html", "smoke-report")

    assert page.errors == []
    assert page.charts == 1 + 2 * len(NAMES)  # the run's CDF; each pattern's lag and throughput
    assert len(page.inked) == page.charts and all(page.inked), page.inked
    for table in ("summary", "hops", "cost"):  # every pattern, each hop, each cost
        listed = [cell.split(" / ")[0] for cell in page.first_cells[table]]
        assert sorted(set(listed)) == NAMES, table

    runs = []
    for copy in ("a", "b", "c"):  # the same run three times: comparable, no regression
        run_dir = tmp_path / copy
        run_dir.mkdir()
        shutil.copyfile(smoke_run.run_dir / "results.json", run_dir / "results.json")
        runs.append(str(run_dir))
    compared = run_cli("compare", *runs, "--out", str(tmp_path / "compare.html"))
    assert compared.returncode == 0, compared.stdout + compared.stderr
    comparison = view(tmp_path / "compare.html", "smoke-compare")
    assert comparison.errors == []
    assert comparison.charts == 2 and len(comparison.inked) == 2 and all(comparison.inked)
    rows = [cell.split(" / ")[0] for cell in comparison.first_cells["comparison"]]
    assert sorted(set(rows)) == NAMES
