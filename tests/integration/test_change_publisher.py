"""The poller patterns' publisher (terraform/shared/change_publisher) on the embedded
PostgreSQL: change tracking reports net changes per key with the row read at poll time; the
naive watermark loses a transaction that took its change version before a later one but
committed after it was read, the correct one (bounded by the snapshot's xmin) waits for it;
the process installs the tracking, sends to Kinesis or DynamoDB and removes the tracking
when stopped; an unreachable source is one line and exit code 2."""

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest

from harness.load import schema
from harness.load.row_image import row_digest
from harness.load.transactions import Outcome, connect, execute
from harness.load.workload import Plan
from harness.observe.formats.change_event import decode_change_event
from harness.targets import Target
from tests import helpers
from tests.helpers import REPO

PUBLISHER = REPO / "terraform" / "shared" / "change_publisher"
WIDGET = (
    "INSERT INTO widgets (version, written_at, name, price, attrs) "
    "VALUES (1, now(), %s, %s, '{\"a\": 1.5}') RETURNING id"
)
BUMP = "UPDATE widgets SET version = version + 1, name = %s WHERE id = %s"


def tracking() -> ModuleType:
    return helpers.function_module(PUBLISHER, "change_tracking")


@pytest.fixture
def source(local_target: Target) -> Iterator[psycopg.Connection[Any]]:
    schema.reset(local_target.source_dsn)
    with psycopg.connect(local_target.source_dsn, autocommit=True) as conn:
        tracking().install(conn, list(schema.TABLES))
        yield conn
        tracking().uninstall(conn)


def poll(conn: psycopg.Connection[Any], after: Any, correct: bool) -> list[Any]:
    """One poll as the publisher makes it: one snapshot, bounded by its xmin if correct."""
    ct = tracking()
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    try:
        with conn.transaction():
            below = ct.snapshot_xmin(conn) if correct else ct.UNBOUNDED
            return list(ct.read_changes(conn, after, below, 1000))
    finally:
        conn.isolation_level = None


def test_changes_are_net_per_key_with_the_row_at_poll_time(
    source: psycopg.Connection[Any], local_target: Target
) -> None:
    ct = tracking()
    first = source.execute(WIDGET, ("one", "12.3400")).fetchone()[0]
    second = source.execute(WIDGET, ("two", "1")).fetchone()[0]
    seen = poll(source, ct.START, correct=True)
    assert [(c.key, c.operation) for c in seen] == [(str(first), "I"), (str(second), "I")]
    position = seen[-1].position

    source.execute(BUMP, ("one again", first))
    source.execute(BUMP, ("one thrice", first))
    source.execute("DELETE FROM widgets WHERE id = %s", (second,))
    # a rolled-back change is not tracked
    with pytest.raises(psycopg.errors.RaiseException), source.transaction():
        source.execute(BUMP, ("never", first))
        source.execute("DO $$ BEGIN RAISE EXCEPTION 'roll back'; END $$")
    third = source.execute(WIDGET, ("three", "0.0001")).fetchone()[0]
    source.execute(BUMP, ("three again", third))

    net = {c.key: c for c in poll(source, position, correct=True)}
    assert {k: c.operation for k, c in net.items()} == {
        str(first): "U",  # two updates, one net change with the latest row
        str(second): "D",
        str(third): "I",  # inserted since the position: I even though updated since
    }
    assert net[str(first)].row["name"] == "one thrice" and net[str(first)].row["version"] == 3
    assert net[str(second)].row is None and net[str(second)].deleted["version"] == 1
    assert str(net[str(third)].row["price"]) == "0.0001"  # exact
    assert net[str(first)].columns["price"] == "numeric(19,4)"
    event = decode_change_event(helpers_event(net[str(first)]), "test")
    row = source.execute("SELECT * FROM widgets WHERE id = %s", (first,)).fetchone()
    assert event is not None and event.version == 3
    cursor = source.cursor(row_factory=psycopg.rows.dict_row)
    image = cursor.execute("SELECT * FROM widgets WHERE id = %s", (first,)).fetchone()
    assert row is not None and event.digest == row_digest("widgets", image)
    deleted = decode_change_event(helpers_event(net[str(second)]), "test")
    assert deleted is not None and (deleted.op, deleted.version) == ("delete", 2)


def test_a_column_added_during_a_poll_stays_out_of_its_rows(
    source: psycopg.Connection[Any], local_target: Target
) -> None:
    """A column added after a poll's snapshot is taken, before it reads the rows, is not in
    that snapshot's columns, though PostgreSQL reads the rows with it: each event's row holds
    exactly its columns (the next change of the row carries the new column)."""
    ct = tracking()
    source.execute(WIDGET, ("before", "1"))
    with psycopg.connect(local_target.source_dsn) as poller:
        poller.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with poller.transaction():
            below = ct.snapshot_xmin(poller)  # the poll's snapshot is taken here
            source.execute("ALTER TABLE widgets ADD COLUMN colour text DEFAULT 'red'")
            (change,) = ct.read_changes(poller, ct.START, below, 1000)
    try:
        assert "colour" not in change.columns
        assert change.row is not None and set(change.row) == set(change.columns)
    finally:
        source.execute("ALTER TABLE widgets DROP COLUMN colour")


def helpers_event(change: Any) -> bytes:
    sinks = helpers.function_module(PUBLISHER, "sinks")
    data: bytes = sinks.change_event(change)
    return data


def test_a_late_commit_is_lost_by_the_naive_watermark_and_waited_for_by_the_correct_one(
    source: psycopg.Connection[Any], local_target: Target
) -> None:
    ct = tracking()
    late, early = (source.execute(WIDGET, (n, "1")).fetchone()[0] for n in ("late", "early"))
    start = poll(source, ct.START, correct=True)[-1].position
    with psycopg.connect(local_target.source_dsn, autocommit=True) as held:
        with held.transaction():
            held.execute(BUMP, ("held", late))  # takes its change version first...
            source.execute(BUMP, ("quick", early))  # ...this one commits first
            naive = poll(source, start, correct=False)
            correct = poll(source, start, correct=True)
            assert [c.key for c in naive] == [str(early)]
            assert correct == []  # the held transaction is below nothing it could commit into
        # the held transaction has committed now
        assert poll(source, naive[-1].position, correct=False) == []  # lost for good
        caught = poll(source, start, correct=True)
        assert [c.key for c in caught] == [str(late), str(early)]
        assert caught[0].row["name"] == "held"


def test_a_held_transaction_commits_after_its_hold(local_target: Target) -> None:
    """The workload's open-transaction knob: the writes are made, then the transaction stays
    open (its rows invisible to others) for the hold, then commits."""
    schema.reset(local_target.source_dsn)
    plan = Plan("insert", None, False, {"name": "held", "price": None}, hold_s=1.0)
    outcomes: list[Outcome] = []
    with connect(local_target.source_dsn) as conn, connect(local_target.source_dsn) as other:
        started = time.time_ns()
        writer = threading.Thread(target=lambda: outcomes.append(execute(conn, plan, started)))
        writer.start()
        time.sleep(0.5)
        assert other.execute("SELECT count(*) AS n FROM widgets").fetchone() == {"n": 0}
        writer.join()
        assert other.execute("SELECT count(*) AS n FROM widgets").fetchone() == {"n": 1}
    (change,) = outcomes[0].changes
    assert change.status == "committed" and change.acked_ns - started >= 1e9


def run_publisher(
    settings: dict[str, Any], dsn: str, records: Path, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    path = records / "settings.json"
    records.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings))
    args = ["--settings", str(path), "--dsn", dsn, "--records-dir", str(records)]
    return subprocess.Popen(
        [sys.executable, str(PUBLISHER / "publisher.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, **env},
    )


SETTINGS = {
    "variant": "correct",
    "poll_interval_ms": 100,
    "batch_size": 2,
    "tables": ["widgets", "orders"],
}


@pytest.mark.parametrize("restart", [False, True], ids=["steady", "source-restarted"])
def test_the_publisher_sends_every_key_to_kinesis_and_removes_its_tracking(
    local_target: Target, tmp_path: Path, restart: bool
) -> None:
    """Restarted (the `source_restart` fault), the source drops the publisher's connection
    and refuses it for a while: the publisher polls again until it is back."""
    schema.reset(local_target.source_dsn)
    kinesis = local_target.aws.client("kinesis")
    stream = f"changes-{restart}"
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    settings = {**SETTINGS, "sink": "kinesis", "stream_name": stream}
    proc = run_publisher(settings, local_target.source_dsn, tmp_path, local_target.aws.env())
    try:
        assert json.loads(proc.stdout.readline()) == {"ready": True}
        with psycopg.connect(local_target.source_dsn, autocommit=True) as conn:
            keys = [conn.execute(WIDGET, (f"w{i}", f"{i}.5")).fetchone()[0] for i in range(2)]
        if restart:
            local_target.take_down("source", True)
            time.sleep(1.0)  # ten polls refused
            local_target.take_down("source", False)
        with psycopg.connect(local_target.source_dsn, autocommit=True) as conn:
            keys += [conn.execute(WIDGET, (f"w{i}", f"{i}.5")).fetchone()[0] for i in range(3)]
            conn.execute(BUMP, ("bumped", keys[0]))
            conn.execute("DELETE FROM widgets WHERE id = %s", (keys[1],))
        events = read_stream(kinesis, stream, want=5)
    finally:
        proc.terminate()
        assert proc.wait(20) == 0, proc.stderr.read().decode()
    assert ("lost the source database" in proc.stderr.read().decode()) is restart
    latest = {(e["table"], str(e["keys"]["id"])): e for _, e in events}
    assert set(latest) == {("widgets", str(k)) for k in keys}
    assert latest[("widgets", str(keys[1]))]["op"] == "delete"
    assert all(key == f"widgets#{e['keys']['id']}" for key, e in events)
    polls = [json.loads(line) for line in (tmp_path / "polls.jsonl").read_text().splitlines()]
    assert sum(p["sent"] for p in polls) == len(events) and max(p["sent"] for p in polls) <= 2
    with psycopg.connect(local_target.source_dsn, autocommit=True) as conn:
        assert conn.execute("SELECT to_regnamespace('change_tracking')").fetchone() == (None,)
        assert conn.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'change_tracking'"
        ).fetchone() == (0,)


def read_stream(kinesis: Any, stream: str, want: int) -> list[tuple[str, dict[str, Any]]]:
    """(partition key, event) of every record, once every key's latest is there."""
    deadline = time.monotonic() + 30
    while True:
        found = []
        for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
            iterator = kinesis.get_shard_iterator(
                StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for record in kinesis.get_records(ShardIterator=iterator)["Records"]:
                found.append((record["PartitionKey"], json.loads(record["Data"])))
        if len({e["keys"]["id"] for _, e in found}) >= want and any(
            e["op"] == "delete" for _, e in found
        ):
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.2)


def test_an_unreachable_source_is_one_line_and_exit_2(local_target: Target, tmp_path: Path) -> None:
    settings = {**SETTINGS, "sink": "kinesis", "stream_name": "nowhere"}
    dsn = "postgresql://nobody@127.0.0.1:1/none"
    proc = run_publisher(settings, dsn, tmp_path, local_target.aws.env())
    assert proc.wait(30) == 2
    err = proc.stderr.read().decode().strip()
    assert err.startswith("publisher: cannot reach the source database") and "\n" not in err


def test_an_unknown_table_or_an_unreachable_stream_is_one_line_and_exit_2(
    local_target: Target, tmp_path: Path
) -> None:
    schema.reset(local_target.source_dsn)
    unknown = {**SETTINGS, "tables": ["widgets", "gadgets"], "sink": "kinesis"}
    proc = run_publisher(unknown, local_target.source_dsn, tmp_path / "a", local_target.aws.env())
    assert proc.wait(30) == 2
    err = proc.stderr.read().decode().strip()
    assert err.startswith("publisher: cannot install change tracking on widgets, gadgets")
    assert "gadgets" in err and "\n" not in err

    nowhere = {**SETTINGS, "sink": "kinesis", "stream_name": "nowhere", "give_up_after_s": 1}
    proc = run_publisher(nowhere, local_target.source_dsn, tmp_path / "b", local_target.aws.env())
    assert json.loads(proc.stdout.readline()) == {"ready": True}
    with psycopg.connect(local_target.source_dsn, autocommit=True) as conn:
        conn.execute(WIDGET, ("lost", "1"))
        assert proc.wait(30) == 2
        err = proc.stderr.read().decode().strip()
        assert err.startswith("publisher: ResourceNotFoundException") and "\n" not in err
        # it removed its tracking on the way out
        assert conn.execute("SELECT to_regnamespace('change_tracking')").fetchone() == (None,)
