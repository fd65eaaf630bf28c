"""The Locust driver (loadtests/locustfile.py) in real, short runs against local PostgreSQL.

Every run is a Locust subprocess from the repository root, as the harness starts it.
The ledger it writes must describe the database exactly: every live row with its
version and digest, committed versions consecutive per key, aborted changes marked.
"""

import csv
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from psycopg.rows import dict_row

from harness.load import schema
from harness.load.clock import read_offset
from harness.load.ledger import (
    ABORTED,
    COMMITTED,
    Change,
    Entity,
    final_state,
    read_ledger,
)
from harness.load.row_image import row_digest
from harness.load.schema_change import read_schema_change
from harness.process import free_port
from harness.records import read_records
from harness.targets import Target
from tests.helpers import REPO

pytestmark = [pytest.mark.slow, pytest.mark.serial]

LOCUST = str(Path(sys.executable).with_name("locust"))
LOCUSTFILE = "loadtests/locustfile.py"
ALL_OPS = {"insert": 40, "update": 30, "delete": 10, "order": 20}
GRACEFUL = ("--stop-timeout", "10")
"""An explicit stop timeout (the locustfile raises it to its minimum): at the end, running
users finish their transaction (see test_stopping_loses_no_committed_change)."""


def run_locust(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`locust -f loadtests/locustfile.py ARGS` from the repository root; killed after `timeout`."""
    return subprocess.run(
        [LOCUST, "-f", LOCUSTFILE, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def write_scenario(
    path: Path, load: dict[str, Any], workload: dict[str, Any] | None = None, **more: Any
) -> Path:
    data: dict[str, Any] = {"name": "driver", "patterns": ["direct"], "load": load, **more}
    if workload is not None:
        data["workload"] = workload
    path.write_text(yaml.safe_dump(data))
    return path


def cdcbench_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("cdcbench:")]


def describe(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stderr (tail) ---\n{result.stderr[-3000:]}"


def locust_rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def db_rows(dsn: str) -> dict[Entity, dict[str, Any]]:
    rows: dict[Entity, dict[str, Any]] = {}
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        for table in schema.TABLES:
            for row in conn.execute(f"SELECT * FROM {table}"):
                rows[(table, str(row["id"]))] = row
    return rows


def assert_ledger_matches_db(changes: Sequence[Change], dsn: str) -> None:
    """The ledger's committed changes are exactly what the database holds."""
    committed = [c for c in changes if c.status == COMMITTED]
    assert committed, "no committed change in the ledger"
    assert {c.status for c in changes} <= {COMMITTED, ABORTED}

    # (table, key, version) names exactly one committed change
    named = Counter((c.table, c.key, c.version) for c in committed)
    duplicates = [k for k, n in named.items() if n > 1]
    assert not duplicates, f"committed (table, key, version) twice: {duplicates[:5]}"

    # committed versions per key are 1..n; an insert starts a key, a delete ends it
    history: dict[Entity, list[Change]] = defaultdict(list)
    for change in committed:
        history[change.entity].append(change)
    for entity, entity_changes in history.items():
        entity_changes.sort(key=lambda c: c.version)
        versions = [c.version for c in entity_changes]
        assert versions == list(range(1, len(versions) + 1)), f"{entity}: versions {versions}"
        ops = [c.op for c in entity_changes]
        assert ops[0] == "insert", f"{entity}: {ops}"
        assert "insert" not in ops[1:], f"{entity}: {ops}"
        assert "delete" not in ops[:-1], f"{entity}: {ops}"
        # Version order is the commit order. Acks are the users' observations, after their
        # commits: a later version's ack can come first (two users resumed in either order),
        # but never by more than the earlier version's own delay from its intended start
        # (it started after that, committed before the later version, which was then acked).
        for earlier, later in pairwise(entity_changes):
            ahead_ns = earlier.acked_ns - later.acked_ns
            assert ahead_ns < earlier.acked_ns - earlier.intended_ns, (
                f"{entity}: v{later.version} acked {ahead_ns / 1e6:.3f} ms before "
                f"v{earlier.version}, which was acked "
                f"{(earlier.acked_ns - earlier.intended_ns) / 1e6:.3f} ms after its intended start"
            )

    # the ledger's last image of every entity is the database's row
    rows = db_rows(dsn)
    final = final_state(changes)
    missing = [e for e in rows if e not in final]
    assert not missing, f"{len(missing)} DB rows the ledger never committed, e.g. {missing[:5]}"
    for entity, row in rows.items():
        last = final[entity]
        assert last.op != "delete", f"{entity} is in the DB but the ledger deleted it"
        assert last.version == row["version"], f"{entity}: ledger v{last.version}, DB {row}"
        assert last.digest == row_digest(entity[0], row), (
            f"{entity}: ledger digest differs from {row}"
        )
    gone = [e for e, c in final.items() if c.op != "delete" and e not in rows]
    assert not gone, f"ledger-live entities missing from the DB: {gone[:5]}"

    # a transaction's changes share its txid, status and times
    by_txid: dict[int, list[Change]] = defaultdict(list)
    for change in changes:
        by_txid[change.txid].append(change)
    for txid, tx in by_txid.items():
        assert len({(c.status, c.intended_ns, c.acked_ns) for c in tx}) == 1, f"txid {txid}: {tx}"

    # an order is one transaction: its widget's update and the order's insert
    for txid, tx in by_txid.items():
        order_inserts = [c for c in tx if c.table == "orders" and c.op == "insert"]
        if not order_inserts:
            continue
        assert sorted((c.table, c.op) for c in tx) == [
            ("orders", "insert"),
            ("widgets", "update"),
        ], f"txid {txid}: {tx}"
        order = rows.get(order_inserts[0].entity)
        widget = next(c for c in tx if c.table == "widgets")
        if order is not None and tx[0].status == COMMITTED:
            assert str(order["widget_id"]) == widget.key

    # orders are deleted only together with their widget
    for txid, tx in by_txid.items():
        if any(c.table == "orders" and c.op == "delete" for c in tx):
            assert any(c.table == "widgets" and c.op == "delete" for c in tx), f"txid {txid}"

    # an aborted change carries the version it would have taken
    for change in changes:
        if change.status != ABORTED:
            continue
        taken = [c.version for c in history.get(change.entity, [])]
        if change.op == "insert":
            assert change.version == 1 and not taken, f"aborted insert reused: {change}"
        else:
            assert 2 <= change.version <= len(taken) + 1, f"{change} vs committed {taken}"


@pytest.fixture
def dsn(local_target: Target) -> Iterator[str]:
    """The session PostgreSQL, with both tables emptied and their sequences restarted."""
    schema.reset(local_target.source_dsn)
    yield local_target.source_dsn


@pytest.mark.timeout(90)
def test_standalone_run_ledger_describes_the_database_exactly(tmp_path: Path, dsn: str) -> None:
    scenario = write_scenario(
        tmp_path / "scenario.yaml",
        load={"duration_s": 6, "rate_per_s": 40, "users": 4},
        workload={
            "mix": ALL_OPS,
            "abort_ratio": 0.1,
            "keys": "zipf",
            "lob_ratio": 0.2,
            "lob_bytes": 20_000,
        },
    )
    ledger_dir = tmp_path / "ledger"
    result = run_locust(
        "--headless",
        "--scenario", str(scenario),
        "--dsn", dsn,
        "--ledger-dir", str(ledger_dir),
        "--csv", str(tmp_path / "locust"),
        *GRACEFUL,
    )  # fmt: skip
    assert result.returncode == 0, describe(result)
    assert "Traceback" not in result.stderr, describe(result)

    stats = locust_rows(tmp_path / "locust_stats.csv")
    assert int(stats["Aggregated"]["Request Count"]) > 0
    assert int(stats["Aggregated"]["Failure Count"]) == 0, stats["Aggregated"]

    assert len(list(ledger_dir.glob("ledger-*.csv"))) == 1
    changes = read_ledger(ledger_dir)
    assert_ledger_matches_db(changes, dsn)

    committed = [c for c in changes if c.status == COMMITTED]
    assert sum(c.status == ABORTED for c in changes) > 0
    assert {(c.table, c.op) for c in committed} >= {
        ("widgets", "insert"),
        ("widgets", "update"),
        ("widgets", "delete"),
        ("orders", "insert"),
    }
    orders = {c.txid for c in committed if c.table == "orders" and c.op == "insert"}
    assert orders, "no committed order transaction"
    large = [r for r in db_rows(dsn).values() if r.get("notes") is not None]
    assert large and all(len(r["notes"]) == 20_000 for r in large)


def _per_user_schedules(changes: Sequence[Change], interval_ns: int) -> list[list[int]]:
    """Intended times grouped by user: each user's schedule is its own phase mod the interval."""
    by_phase: dict[int, set[int]] = defaultdict(set)
    for change in changes:
        by_phase[change.intended_ns % interval_ns].add(change.intended_ns)
    return [sorted(times) for times in by_phase.values()]


@pytest.mark.timeout(60)
def test_pacing_follows_each_users_schedule_with_small_delay(tmp_path: Path, dsn: str) -> None:
    rate, users, duration = 50, 2, 6
    interval_ns = int(1e9 / (rate / users))
    scenario = write_scenario(
        tmp_path / "scenario.yaml",
        load={"duration_s": duration, "rate_per_s": rate, "users": users},
        workload={"mix": {"insert": 1}},
    )
    ledger_dir = tmp_path / "ledger"
    result = run_locust(
        "--headless",
        "--scenario", str(scenario),
        "--dsn", dsn,
        "--ledger-dir", str(ledger_dir),
        *GRACEFUL,
    )  # fmt: skip
    assert result.returncode == 0, describe(result)

    changes = read_ledger(ledger_dir)
    assert_ledger_matches_db(changes, dsn)
    # one insert per scheduled slot: about rate x duration (the second user starts later;
    # Locust asks the shape once a second, so the run may last up to a second longer)
    assert 0.85 * rate * duration <= len(changes) <= rate * (duration + 1) + users
    schedules = _per_user_schedules(changes, interval_ns)
    assert len(schedules) == users
    for times in schedules:
        gaps = {b - a for a, b in pairwise(times)}
        assert gaps == {interval_ns}, f"intended times off the schedule: {sorted(gaps)[:5]}"
    span_s = (max(c.intended_ns for c in changes) - min(c.intended_ns for c in changes)) / 1e9
    assert duration - 1.5 <= span_s <= duration + 1

    delays_ms = [(c.acked_ns - c.intended_ns) / 1e6 for c in changes]
    assert statistics.median(delays_ms) < 50, statistics.quantiles(delays_ms, n=10)
    # no change starts before its scheduled time, the first of each user included
    early = [
        f"user {u} change #{times.index(c.intended_ns) + 1}: {d:.1f} ms"
        for c, d in zip(changes, delays_ms, strict=True)
        for u, times in enumerate(schedules)
        if d < 0 and c.intended_ns in times
    ]
    assert not early, f"acknowledged before the intended start: {early}"


@pytest.mark.timeout(60)
def test_saturated_driver_keeps_its_schedule_so_delay_grows(tmp_path: Path, dsn: str) -> None:
    """Coordinated omission is not hidden: one user offered 50000/s cannot keep up (a fast
    machine commits a few thousand a second), and the intended times stay on the schedule,
    so the ledger shows the delay growing."""
    rate, duration = 50000, 3
    interval_ns = int(1e9 / rate)
    scenario = write_scenario(
        tmp_path / "scenario.yaml",
        load={"duration_s": duration, "rate_per_s": rate, "users": 1},
        workload={"mix": {"insert": 1}},
    )
    ledger_dir = tmp_path / "ledger"
    result = run_locust(
        "--headless", "--scenario", str(scenario), "--dsn", dsn, "--ledger-dir", str(ledger_dir)
    )
    assert result.returncode == 0, describe(result)

    changes = read_ledger(ledger_dir)
    assert 20 <= len(changes) < 0.5 * rate * duration, "the driver was not saturated"
    (times,) = _per_user_schedules(changes, interval_ns)
    assert len(times) == len(changes)
    assert {b - a for a, b in pairwise(times)} == {interval_ns}

    delays_s = [(c.acked_ns - c.intended_ns) / 1e9 for c in changes]  # in intended order
    assert min(delays_s) >= 0
    tenth = max(1, len(delays_s) // 10)
    early, late = statistics.median(delays_s[:tenth]), statistics.median(delays_s[-tenth:])
    assert late > early + 1.0, (early, late)
    assert delays_s[-1] > 1.0
    # the delay only grows: each change is acknowledged after the previous one
    acks = [c.acked_ns for c in changes]
    assert acks == sorted(acks)


@pytest.mark.timeout(60)
def test_stopping_loses_no_committed_change(tmp_path: Path, dsn: str) -> None:
    """The locustfile promises that stopping never cuts a transaction off between its commit
    and its ledger entry, and documents plain `locust -f loadtests/locustfile.py --headless`
    (no --stop-timeout). Saturated users are always inside a transaction when the shape ends
    the run, so a user killed while its COMMIT is in flight leaves a row the ledger lacks."""
    scenario = write_scenario(
        tmp_path / "scenario.yaml",
        load={"duration_s": 2, "rate_per_s": 4000, "users": 4},
        workload={"mix": {"insert": 1}},
    )
    ledger_dir = tmp_path / "ledger"
    result = run_locust(
        "--headless", "--scenario", str(scenario), "--dsn", dsn, "--ledger-dir", str(ledger_dir)
    )
    assert result.returncode == 0, describe(result)
    final = final_state(read_ledger(ledger_dir))
    rows = db_rows(dsn)
    missing = sorted(e for e in rows if e not in final)
    assert not missing, f"{len(rows)} rows in the DB, committed but not in the ledger: {missing}"
    assert_ledger_matches_db(read_ledger(ledger_dir), dsn)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.timeout(90)
def test_distributed_run_merges_worker_ledgers_that_describe_the_database(
    tmp_path: Path, dsn: str, added_column: tuple[str, str, str]
) -> None:
    """Two worker processes; one of them adds a column mid-run, both then write it."""
    table, column, sql_type = added_column
    scenario = write_scenario(
        tmp_path / "scenario.yaml",
        load={"duration_s": 5, "rate_per_s": 40, "users": 4},
        workload={"mix": ALL_OPS, "abort_ratio": 0.05, "keys": "uniform", "lob_ratio": 0.1,
                  "lob_bytes": 5_000},
        schema_change={"at_s": 2, "table": table, "column": column, "sql_type": sql_type},
    )  # fmt: skip
    ledger_dir = tmp_path / "ledger"
    port = str(free_port())
    master_cmd = [
        LOCUST, "-f", LOCUSTFILE, "--master", "--headless", "--expect-workers", "2",
        "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
        "--scenario", str(scenario), "--dsn", dsn, "--ledger-dir", str(ledger_dir),
        "--csv", str(tmp_path / "locust"), *GRACEFUL,
    ]  # fmt: skip
    worker_cmd = [
        LOCUST, "-f", LOCUSTFILE, "--worker",
        "--master-host", "127.0.0.1", "--master-port", port,
    ]  # fmt: skip
    procs: list[subprocess.Popen[bytes]] = []
    logs = [tmp_path / name for name in ("master.log", "worker-1.log", "worker-2.log")]
    try:
        for cmd, log in zip([master_cmd, worker_cmd, worker_cmd], logs, strict=True):
            with open(log, "wb") as out:
                procs.append(
                    subprocess.Popen(
                        cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                    )
                )  # fmt: skip
        codes = [p.wait(timeout=60) for p in procs]
    finally:
        for proc in procs:
            _stop(proc)
    output = "\n".join(f"--- {log.name}\n{log.read_text()[-2000:]}" for log in logs)
    assert codes == [0, 0, 0], output
    assert "Traceback" not in _without_csv_writer_race(output), output

    stats = locust_rows(tmp_path / "locust_stats.csv")
    assert int(stats["Aggregated"]["Request Count"]) > 0

    files = sorted(ledger_dir.glob("ledger-*.csv"))
    per_file = {f.name: len(list(read_records(f, Change))) for f in files}
    offsets = [read_offset(f) for f in files]
    assert all(o is not None for o in offsets), "a worker stored no clock offset"
    # one host, one clock: each estimate of the database's offset is zero within its bound
    assert all(abs(o.offset_ns) <= o.bound_ns for o in offsets if o), offsets
    assert len([n for n in per_file.values() if n > 0]) >= 2, per_file
    changes = read_ledger(ledger_dir)
    assert len(changes) == sum(per_file.values())
    assert_ledger_matches_db(changes, dsn)

    ddl = read_schema_change(ledger_dir)
    assert ddl is not None and (ddl.table, ddl.column, ddl.sql_type) == added_column
    assert int(stats["add column"]["Request Count"]) == 2  # one per process
    assert int(stats["add column"]["Failure Count"]) == 0
    for f in files:  # each process writes the column once it exists, never before the DDL
        written = [c for c in read_records(f, Change) if c.added]
        assert written, f"{f.name} never wrote {column}"
        assert min(c.acked_ns for c in written) > ddl.acked_ns
    final = final_state(changes)  # the ledger knows which rows hold the column
    holding = {e for e, r in db_rows(dsn).items() if r.get(column) is not None}
    assert holding == {e for e, c in final.items() if c.added and c.op != "delete"}


@pytest.mark.timeout(60)
def test_step_shape_drives_user_count_and_ends_the_run(tmp_path: Path, dsn: str) -> None:
    duration = 6
    scenario = write_scenario(
        tmp_path / "scenario.yaml",
        load={
            "duration_s": duration,
            "rate_per_s": 20,
            "users": 4,
            "shape": {"kind": "step", "steps": 2, "step_s": 3},
        },
        workload={"mix": {"insert": 3, "update": 1}},
    )
    started = time.monotonic()
    result = run_locust(
        "--headless",
        "--scenario", str(scenario),
        "--dsn", dsn,
        "--ledger-dir", str(tmp_path / "ledger"),
        "--csv", str(tmp_path / "locust"),
        "--csv-full-history",
        *GRACEFUL,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert result.returncode == 0, describe(result)
    assert "Shape test stopping" in result.stderr  # the shape's None ended it, not a timer
    assert elapsed < duration + 15

    with open(tmp_path / "locust_stats_history.csv", newline="") as f:
        history = [row for row in csv.DictReader(f) if row["Name"] == "Aggregated"]
    counts = [int(row["User Count"]) for row in history]
    running = [c for c in counts if c > 0]
    assert running and max(running) == 4, counts
    assert running.count(2) >= 2 and running.count(4) >= 2, counts
    assert running.index(2) < running.index(4), counts
    after_top = running[running.index(4) :]
    assert all(c == 4 for c in after_top), counts
    assert_ledger_matches_db(read_ledger(tmp_path / "ledger"), dsn)


@pytest.mark.timeout(60)
def test_unreachable_database_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    scenario = write_scenario(
        tmp_path / "scenario.yaml", load={"duration_s": 3, "rate_per_s": 10, "users": 1}
    )
    result = run_locust(
        "--headless",
        "--scenario", str(scenario),
        "--dsn", "host=127.0.0.1 port=1 connect_timeout=2 user=x dbname=x",
        "--ledger-dir", str(tmp_path / "ledger"),
    )  # fmt: skip
    assert result.returncode == 2, describe(result)
    lines = cdcbench_lines(result.stderr)
    assert len(lines) == 1, describe(result)
    assert lines[0].startswith("cdcbench: error: cannot connect to PostgreSQL at 127.0.0.1:1")
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "ledger").exists()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("load", "field"),
    [
        (
            {"duration_s": 3, "rate_per_s": 10, "shape": {"kind": "step", "steps": 0, "step_s": 1}},
            "load.shape.step.steps",
        ),
        (
            {"duration_s": 3, "rate_per_s": 10, "shape": {"kind": "sine", "period_s": 0}},
            "load.shape.sine.period_s",
        ),
        ({"duration_s": 3, "rate_per_s": 10, "users": 0}, "load.users"),
    ],
)
def test_invalid_scenario_is_one_line_naming_the_field(
    tmp_path: Path, dsn: str, load: dict[str, Any], field: str
) -> None:
    scenario = write_scenario(tmp_path / "scenario.yaml", load=load)
    result = run_locust(
        "--headless",
        "--scenario", str(scenario),
        "--dsn", dsn,
        "--ledger-dir", str(tmp_path / "ledger"),
    )  # fmt: skip
    assert result.returncode == 2, describe(result)
    lines = cdcbench_lines(result.stderr)
    assert len(lines) == 1, describe(result)
    assert lines[0].startswith("cdcbench: error: ")
    assert field in lines[0], lines[0]
    assert str(scenario) in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_environment_is_left_alone() -> None:
    """Sanity: the driver's subprocesses inherit a normal environment (monkey patching on)."""
    assert "LOCUST_SKIP_MONKEY_PATCH" not in os.environ


@pytest.mark.timeout(90)
def test_web_ui_starts_a_scenario_run_and_serves_its_stats(tmp_path: Path, dsn: str) -> None:
    scenario = write_scenario(
        tmp_path / "scenario.yaml",
        load={"duration_s": 60, "rate_per_s": 40, "users": 2},
        workload={"mix": {"insert": 1}},
    )
    port = free_port()
    ui = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [LOCUST, "-f", LOCUSTFILE, "--web-host", "127.0.0.1", "--web-port", str(port),
         "--scenario", str(scenario), "--dsn", dsn, "--ledger-dir", str(tmp_path / "ledger")],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert urllib.request.urlopen(f"{ui}/", timeout=2).status == 200
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
                time.sleep(0.3)
        form = urllib.parse.urlencode({"user_count": 2, "spawn_rate": 2}).encode()
        urllib.request.urlopen(f"{ui}/swarm", data=form, timeout=5)
        inserts = 0
        while inserts < 20 and time.monotonic() < deadline:
            time.sleep(0.5)
            stats = json.load(urllib.request.urlopen(f"{ui}/stats/requests", timeout=5))
            inserts = sum(s["num_requests"] for s in stats["stats"] if s["name"] == "insert")
        assert inserts >= 20, stats
        urllib.request.urlopen(f"{ui}/stop", data=b"", timeout=30)
    finally:
        proc.terminate()
        proc.wait(60)
    committed = [c for c in read_ledger(tmp_path / "ledger") if c.status == COMMITTED]
    assert len(committed) >= 20


def _without_csv_writer_race(output: str) -> str:
    """The output less Locust's own shutdown race: its CSV stats greenlet, never stopped,
    may wake after the master closed the CSV files and fail on them (results unaffected:
    the exit code is already decided, and the ledger is the harness's)."""
    race = (
        r"Traceback \(most recent call last\):\n(?:  .*\n)*?.*stats_writer\n(?:  .*\n)*"
        r"ValueError: I/O operation on closed file\.\n"
    )
    return re.sub(race, "", output)
