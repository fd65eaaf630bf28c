"""pytest-benchmark timings of the harness's in-process hot paths, each in a group with a
reference measured in the same run, so the table's relative figures read as ratios to it.

Groups (hot path -> reference):

- `check_state`: `check_state` on the snapshot a correct state projection shows once
  converged (valid, no anomaly) and on a damaged one (exactly the missing, stale,
  phantom and extra rows put into it) -> a bare dict fold of every change into
  entity -> version (as `checker.py` times it);
- `measure_lag`: `measure_lag(changes, observations, 1.0)` (every committed change seen,
  none superseded; the median and maximum lag from commit those of the observations'
  times) -> the same dict fold;
- `check_events`: the event-log checker on the observations taken as a log, damaged with
  copies of some events (duplicate), events of entities the source never had (extra) and
  some events left out (gap, or missing for a key's last version) -> the same dict fold;
- `row_digest`: `row_image.row_digest` of widgets and orders rows as the load driver
  writes them (psycopg values: Decimal, datetime, jsonb as dict, NULLs, unicode,
  LOB-sized notes), the first of them a fixed row of known digest ->
  `json.dumps(row, sort_keys=True, default=str)` of the same rows;
- `read_records`: `records.read_records` of a ledger file (written by `ledger_writer`),
  every record equal to the one written -> `csv.reader` over the same file, counting rows;
- `decode dms_json` and `decode change_event`: `Messages(format).decode`, the observers'
  per-message call from a record's bytes to a `Decoded` change, of DMS stream messages
  (tab-indented JSON, NULLs left out, as `observers.py` puts them on Kinesis) and of the
  `dms_ddb_streams_kinesis` pattern's change events (made by its fan-in's
  `change_events` module from DynamoDB Streams records of the items DMS writes) ->
  `json.loads` of the same bytes. Every decoded change must carry the key, the ledger's
  version and the digest of the source row it came from.

The data is built once per session, untimed: the ledger, snapshots and observations with
`checker.py`'s generators (100,000 changes over 10,000 keys, Zipf 0.9, 1.5 % aborted;
written with the ledger writer and read back as a run holds them), the row changes with
`observers.py`'s generator of the smoke scenario's workload (10,000 rows and messages).
Each round starts after a full garbage collection; the collector stays on while it runs,
as in a run. Every benchmark checks the result of its last round.

    .venv/bin/pytest benchmarks/test_hot_paths.py
    .venv/bin/pytest benchmarks/test_hot_paths.py \
        --benchmark-storage=file://benchmarks/baselines --benchmark-compare=0001

CDCBENCH_BENCH_SCALE (default 1) scales every size, e.g. 0.05 for a quick try; the
saved baseline is at scale 1.
"""

import csv
import gc
import importlib.util
import json
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from checker import (
    build_ledger,
    converged_snapshot,
    damaged,
    observations_of,
    reference_fold,
    rows_of,
    write_ledger,
)
from observers import RowChange, _message, _text, generate
from pytest_benchmark.fixture import BenchmarkFixture

from harness.check.events import check_events
from harness.check.lag import LagReport, measure_lag
from harness.check.protocol import Evidence
from harness.check.result import CheckResult
from harness.check.state import check_state
from harness.load.ledger import COMMITTED, Change, Entity, read_ledger
from harness.load.row_image import row_digest
from harness.load.schema import COLUMNS
from harness.observe.base import Observation, SnapshotRow
from harness.observe.formats import Decoded
from harness.observe.formats.messages import Messages
from harness.records import read_records

SCALE = float(os.environ.get("CDCBENCH_BENCH_SCALE", "1"))
CHANGES = max(1_000, int(100_000 * SCALE))
"""Ledger changes for the checkers, lag and record decoding."""
KEYS = CHANGES // 10
ROWS = max(100, int(10_000 * SCALE))
"""Row images digested, and messages of each format decoded."""
ZIPF, ABORT_SHARE, DAMAGE_EVERY, SEED = 0.9, 0.015, 1_000, 1
EVENT_DAMAGE_EVERY = 1_000
"""One observation in this many is copied to the log's end, one left out."""

LONG_ROUNDS = 5
"""Rounds of a benchmark over the whole ledger, its reference's included."""
SHORT_ROUNDS = 15
"""Rounds of a benchmark over the row images or messages."""

KNOWN_ROW = {
    "id": 7,
    "version": 3,
    "written_at": datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC),
    "name": 'wïdget, "quoted"\nline',
    "price": Decimal("12.3400"),
    "produced_at": None,
    "attrs": {"color": "red", "batch": 5, "tags": ["a", "ß"]},
    "notes": "日本",
}
KNOWN_DIGEST = "92c0518850f43973"
"""`row_digest("widgets", KNOWN_ROW)`: the canonical image's digest must not drift."""

CHANGE_EVENTS_PY = (
    Path(__file__).resolve().parents[1]
    / "terraform/patterns/dms_ddb_streams_kinesis/functions/change_events.py"
)
SOURCE_TABLES = {"run-widgets": "widgets", "run-orders": "orders"}
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/{}/stream/2026-12-02T07:00:00.000"
EVENT_NAMES = {"insert": "INSERT", "update": "MODIFY", "delete": "REMOVE"}


def _collect() -> None:
    gc.collect()


def timed(benchmark: BenchmarkFixture, fn: Callable[[], Any], rounds: int) -> Any:
    """`fn` timed `rounds` times, each round after a full collection (not timed, so no
    earlier garbage is its cost); the last round's result."""
    return benchmark.pedantic(fn, setup=_collect, rounds=rounds, iterations=1, warmup_rounds=1)


# --- data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ledger:
    path: Path
    """The one ledger file the changes were written to."""
    changes: list[Change]
    """As `read_ledger` returns them, in acknowledgement order."""
    snapshot: list[SnapshotRow]
    """What a correct state projection shows once converged."""
    broken: list[SnapshotRow]
    damage: dict[str, int]
    """The anomalies in `broken`, by class."""
    observations: list[Observation]
    """One per committed change, in the order a correct projection shows them."""


@pytest.fixture(scope="session")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    directory = tmp_path_factory.mktemp("ledger")
    built = build_ledger(CHANGES, KEYS, ZIPF, ABORT_SHARE, SEED)
    write_ledger(directory, built)
    changes = read_ledger(directory)
    assert changes == built
    (path,) = directory.glob("ledger-*.csv")
    snapshot = converged_snapshot(changes)
    broken, damage = damaged(snapshot, DAMAGE_EVERY)
    return Ledger(
        path, changes, rows_of(snapshot), rows_of(broken), damage, observations_of(changes, SEED)
    )


@dataclass(frozen=True)
class EventLog:
    observations: list[Observation]
    counts: dict[str, int]
    """What the event-log checker must find in it, by class."""


@pytest.fixture(scope="session")
def event_log(ledger: Ledger) -> EventLog:
    """The observations as a log with one in EVENT_DAMAGE_EVERY left out (gap, or missing if
    its key shows no later version), another copied to the end (duplicate), and an event
    of an entity the source never had after each copy (extra)."""
    shown = ledger.observations
    every = EVENT_DAMAGE_EVERY
    dropped = set(range(every // 2, len(shown), every))
    copies = [o for i, o in enumerate(shown) if i % every == 0 and i not in dropped]
    log = [o for i, o in enumerate(shown) if i not in dropped]
    newest: dict[Entity, int] = {}
    for o in log:
        newest[o.entity] = max(newest.get(o.entity, 0), o.version)
    counts: Counter[str] = Counter()
    for i in dropped:
        o = shown[i]
        counts["gap" if newest.get(o.entity, 0) > o.version else "missing"] += 1
    for n, o in enumerate(copies):
        log.append(o)
        log.append(Observation(o.projection, o.table, f"never-{n}", 1, "upsert", o.seen_ns, "", ""))
    counts["duplicate"] = counts["extra"] = len(copies)
    return EventLog(log, dict(counts))


@pytest.fixture(scope="session")
def row_changes() -> list[RowChange]:
    """ROWS row changes of the smoke scenario's workload, rows as the load driver writes
    them (a delete's: the deleted row)."""
    return generate(ROWS, SEED)[0].rows


def _expected(changes: Sequence[RowChange]) -> list[tuple[str, str, int, str, str]]:
    """What decoding each change's message must give: table, key, ledger version, op and
    the source row's digest ("" for a delete)."""
    return [
        (
            c.table,
            str(c.row["id"]),
            c.version,
            "delete" if c.op == "delete" else "upsert",
            "" if c.op == "delete" else row_digest(c.table, c.row),
        )
        for c in changes
    ]


def _fields(decoded: Sequence[Decoded | None]) -> list[tuple[str, str, int, str, str]]:
    return [(d.table, d.key, d.version, d.op, d.digest) for d in decoded if d is not None]


def _change_events_module() -> ModuleType:
    """The pattern's `change_events` module, as its functions import it."""
    spec = importlib.util.spec_from_file_location("cdcbench_change_events", CHANGE_EVENTS_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _item(change: RowChange) -> dict[str, Any]:
    """The DynamoDB item DMS writes for the row: numbers as N, the rest as S, in DMS's text;
    NULL columns left out."""
    item: dict[str, dict[str, str]] = {}
    for column, kind in COLUMNS[change.table].items():
        value = change.row[column]
        if value is None:
            continue
        text = str(_text(value))
        item[column] = {"N" if kind in ("int", "numeric") else "S": text}
    return item


def change_event_bodies(changes: Sequence[RowChange]) -> list[bytes]:
    """Each change as the fan-in puts it on the event bus: a DynamoDB Streams record of the
    table's copy (NEW_AND_OLD_IMAGES) made into a change event."""
    module = _change_events_module()
    copies = {table: copy for copy, table in SOURCE_TABLES.items()}
    images: dict[Entity, dict[str, Any]] = {}
    bodies = []
    for seq, change in enumerate(changes):
        old = _item(change) if change.op == "delete" else images.get(change.entity)
        new = None if change.op == "delete" else _item(change)
        stream: dict[str, Any] = {
            "Keys": {"id": {"N": str(change.row["id"])}},
            "SequenceNumber": str(seq),
            "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
            "ApproximateCreationDateTime": 1764658800.0,
        }
        if old is not None:
            stream["OldImage"] = old
        if new is not None:
            stream["NewImage"] = new
            images[change.entity] = new
        record = {
            "eventID": f"e{seq}",
            "eventName": EVENT_NAMES[change.op],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": stream,
            "eventSourceARN": STREAM_ARN.format(copies[change.table]),
        }
        bodies.append(module.encode(module.change_event(record, SOURCE_TABLES)))
    return bodies


@dataclass(frozen=True)
class MessageSet:
    format: str
    bodies: list[bytes]
    expected: list[tuple[str, str, int, str, str]]


@pytest.fixture(scope="session")
def dms_messages(row_changes: list[RowChange]) -> MessageSet:
    return MessageSet("dms_json", [_message(c) for c in row_changes], _expected(row_changes))


@pytest.fixture(scope="session")
def change_events(row_changes: list[RowChange]) -> MessageSet:
    return MessageSet("change_event", change_event_bodies(row_changes), _expected(row_changes))


# --- the state checker ---------------------------------------------------------------


def _assert_folded(folded: dict[Entity, int], ledger: Ledger) -> None:
    assert len(folded) == len({c.entity for c in ledger.changes})


@pytest.mark.benchmark(group="check_state")
def test_state_reference_dict_fold(benchmark: BenchmarkFixture, ledger: Ledger) -> None:
    _assert_folded(timed(benchmark, lambda: reference_fold(ledger.changes), LONG_ROUNDS), ledger)


@pytest.mark.benchmark(group="check_state")
def test_state_check_state(benchmark: BenchmarkFixture, ledger: Ledger) -> None:
    evidence = Evidence(ledger.changes, snapshot=ledger.snapshot)
    result: CheckResult = timed(benchmark, lambda: check_state(evidence), LONG_ROUNDS)
    assert result.valid is True and not result.counts


@pytest.mark.benchmark(group="check_state")
def test_state_check_state_damaged(benchmark: BenchmarkFixture, ledger: Ledger) -> None:
    evidence = Evidence(ledger.changes, snapshot=ledger.broken)
    result: CheckResult = timed(benchmark, lambda: check_state(evidence), LONG_ROUNDS)
    assert ledger.damage and result.counts == ledger.damage
    assert result.valid is False


# --- lag -----------------------------------------------------------------------------


@pytest.mark.benchmark(group="measure_lag")
def test_lag_reference_dict_fold(benchmark: BenchmarkFixture, ledger: Ledger) -> None:
    _assert_folded(timed(benchmark, lambda: reference_fold(ledger.changes), LONG_ROUNDS), ledger)


@pytest.mark.benchmark(group="measure_lag")
def test_lag_measure_lag(benchmark: BenchmarkFixture, ledger: Ledger) -> None:
    changes, observations = ledger.changes, ledger.observations
    lag: LagReport = timed(benchmark, lambda: measure_lag(changes, observations, 1.0), LONG_ROUNDS)
    committed = sum(c.status == COMMITTED for c in changes)
    assert (lag.seen, lag.unseen, lag.superseded, lag.skipped) == (committed, 0, 0, 0)
    # each committed change is seen once, at its own version: its lag is that sighting's
    seen = {(o.table, o.key, o.version): o.seen_ns for o in observations}
    lags_ms = sorted(
        (seen[c.table, c.key, c.version] - c.acked_ns) / 1e6
        for c in changes
        if c.status == COMMITTED
    )
    summary = lag.from_commit_ms
    assert summary.count == committed
    assert summary.p50 == pytest.approx(lags_ms[(len(lags_ms) - 1) // 2], rel=0.01)
    assert summary.max == pytest.approx(lags_ms[-1], rel=0.01)


# --- the event-log checker -----------------------------------------------------------


@pytest.mark.benchmark(group="check_events")
def test_events_reference_dict_fold(benchmark: BenchmarkFixture, ledger: Ledger) -> None:
    _assert_folded(timed(benchmark, lambda: reference_fold(ledger.changes), LONG_ROUNDS), ledger)


@pytest.mark.benchmark(group="check_events")
def test_events_check_events(
    benchmark: BenchmarkFixture, ledger: Ledger, event_log: EventLog
) -> None:
    evidence = Evidence(ledger.changes, event_log.observations)
    result: CheckResult = timed(benchmark, lambda: check_events(evidence), LONG_ROUNDS)
    assert event_log.counts["duplicate"] and result.counts == event_log.counts
    assert result.valid is False


# --- row digests ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def rows(row_changes: list[RowChange]) -> list[tuple[str, dict[str, Any]]]:
    """(table, row) of KNOWN_ROW and of every row change but the last."""
    return [("widgets", KNOWN_ROW), *((c.table, c.row) for c in row_changes[:-1])]


@pytest.mark.benchmark(group="row_digest")
def test_row_digest_reference_json_dumps(
    benchmark: BenchmarkFixture, rows: list[tuple[str, dict[str, Any]]]
) -> None:
    def dump() -> list[str]:
        return [json.dumps(row, sort_keys=True, default=str) for _, row in rows]

    dumped: list[str] = timed(benchmark, dump, SHORT_ROUNDS)
    assert len(dumped) == len(rows) and dumped[0].startswith('{"attrs": {"batch": 5')


@pytest.mark.benchmark(group="row_digest")
def test_row_digest(benchmark: BenchmarkFixture, rows: list[tuple[str, dict[str, Any]]]) -> None:
    def digest() -> list[str]:
        return [row_digest(table, row) for table, row in rows]

    digests: list[str] = timed(benchmark, digest, SHORT_ROUNDS)
    assert len(digests) == len(rows) and digests[0] == KNOWN_DIGEST
    assert all(len(d) == 16 for d in digests)


# --- record decoding -----------------------------------------------------------------


@pytest.mark.benchmark(group="read_records")
def test_records_reference_csv_reader(benchmark: BenchmarkFixture, ledger: Ledger) -> None:
    def count() -> int:
        with open(ledger.path, newline="", encoding="utf-8") as f:
            return sum(1 for _ in csv.reader(f))

    assert timed(benchmark, count, LONG_ROUNDS) == len(ledger.changes) + 1  # and the header


@pytest.mark.benchmark(group="read_records")
def test_records_read_records(benchmark: BenchmarkFixture, ledger: Ledger) -> None:
    records: list[Change] = timed(
        benchmark, lambda: list(read_records(ledger.path, Change)), LONG_ROUNDS
    )
    assert len(records) == len(ledger.changes) and records == ledger.changes


# --- message decoding ----------------------------------------------------------------


def _loads(messages: MessageSet) -> list[Any]:
    return [json.loads(body) for body in messages.bodies]


def _decode(messages: MessageSet) -> list[Decoded | None]:
    decode = Messages(messages.format).decode
    return [decode(body, f"message {i}") for i, body in enumerate(messages.bodies)]


@pytest.mark.benchmark(group="decode dms_json")
def test_dms_json_reference_json_loads(
    benchmark: BenchmarkFixture, dms_messages: MessageSet
) -> None:
    documents = timed(benchmark, lambda: _loads(dms_messages), SHORT_ROUNDS)
    assert [d["metadata"]["table-name"] for d in documents] == [e[0] for e in dms_messages.expected]


@pytest.mark.benchmark(group="decode dms_json")
def test_dms_json_decode(benchmark: BenchmarkFixture, dms_messages: MessageSet) -> None:
    decoded = timed(benchmark, lambda: _decode(dms_messages), SHORT_ROUNDS)
    assert _fields(decoded) == dms_messages.expected


@pytest.mark.benchmark(group="decode change_event")
def test_change_event_reference_json_loads(
    benchmark: BenchmarkFixture, change_events: MessageSet
) -> None:
    documents = timed(benchmark, lambda: _loads(change_events), SHORT_ROUNDS)
    assert [d["table"] for d in documents] == [e[0] for e in change_events.expected]


@pytest.mark.benchmark(group="decode change_event")
def test_change_event_decode(benchmark: BenchmarkFixture, change_events: MessageSet) -> None:
    decoded = timed(benchmark, lambda: _decode(change_events), SHORT_ROUNDS)
    assert _fields(decoded) == change_events.expected
