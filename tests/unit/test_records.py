"""Ledger files: CSV round trip, torn last lines, wrong files, per-process files merged;
and final_state."""

import random
from pathlib import Path

import pytest

from harness.load.ledger import (
    ABORTED,
    COMMITTED,
    Change,
    final_state,
    ledger_writer,
    read_ledger,
)
from harness.observe.base import Observation, SnapshotRow, read_snapshot, write_snapshot
from harness.records import RecordWriter, read_records

T0 = 1_700_000_000_123_456_789


def change(
    key: str,
    version: int,
    op: str = "update",
    status: str = COMMITTED,
    table: str = "widgets",
    digest: str = "0123456789abcdef",
) -> Change:
    return Change(
        table=table,
        key=key,
        version=version,
        op=op,
        status=status,
        intended_ns=T0 + version,
        acked_ns=T0 + 1_000_000 * version,
        txid=2**40 + version,
        digest=digest,
    )


def write_ledger(path: Path, changes: list[Change]) -> None:
    """One ledger file, as one Locust process writes it."""
    with RecordWriter(path, Change) as writer:
        for c in changes:
            writer.append(c)


def read_file(path: Path) -> list[Change]:
    return list(read_records(path, Change))


AWKWARD_CHANGES = [
    change("1", 1, "insert", digest="5d41402abc4b2a76"),
    change("ключ 日本", 2, digest="ünïcødé"),
    change('a,b "quoted", c', 3, table='tab,le "x"'),
    change('"', 4, digest=","),
    change("line\nbreak", 5, "delete", digest=""),
    change("", 6, status=ABORTED, digest="   leading and trailing spaces   "),
    change("0042", 7, digest="-1"),  # numeric-looking strings stay strings
]


def test_ledger_round_trip_preserves_every_field(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    write_ledger(path, AWKWARD_CHANGES)

    assert read_file(path) == AWKWARD_CHANGES


def test_ledger_round_trip_keeps_types(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    write_ledger(path, AWKWARD_CHANGES)

    for read in read_file(path):
        assert isinstance(read.version, int)
        assert isinstance(read.acked_ns, int)
        assert isinstance(read.txid, int)
        assert isinstance(read.key, str)
        assert isinstance(read.digest, str)


def test_writer_counts_appended_records(tmp_path: Path) -> None:
    with RecordWriter(tmp_path / "ledger.csv", Change) as writer:
        for c in AWKWARD_CHANGES:
            writer.append(c)
        assert writer.count == len(AWKWARD_CHANGES)


def test_each_ledger_writer_gets_its_own_file_and_the_reader_merges_them(tmp_path: Path) -> None:
    first = [change("1", 1, "insert"), change("1", 3)]
    second = [change("2", 2, "insert")]
    for changes in (first, second):
        with ledger_writer(tmp_path) as writer:
            for c in changes:
                writer.append(c)

    assert len(list(tmp_path.glob("ledger-*.csv"))) == 2
    assert read_ledger(tmp_path) == sorted(first + second, key=lambda c: c.acked_ns)


def test_empty_ledger_directory_reads_as_no_changes(tmp_path: Path) -> None:
    assert read_ledger(tmp_path) == []


def test_empty_ledger_reads_as_no_changes(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    write_ledger(path, [])

    assert read_file(path) == []


def _full_row(path: Path, torn: Change) -> str:
    """The exact CSV text RecordWriter writes for `torn`, without its line terminator."""
    scratch = path.with_suffix(".scratch")
    write_ledger(scratch, [torn])
    _header, row, _ = scratch.read_bytes().decode("utf-8").split("\r\n")
    return row


TORN = change('key, "quoted"', 9, digest="fedcba9876543210")


@pytest.mark.parametrize(
    "cut",
    [
        "after-table",
        "inside-quoted-key",
        "inside-a-timestamp",
        "before-last-column",
        "inside-last-column",
    ],
)
def test_torn_last_line_is_skipped(tmp_path: Path, cut: str) -> None:
    path = tmp_path / "ledger.csv"
    kept = AWKWARD_CHANGES[:3]
    write_ledger(path, kept)
    row = _full_row(path, TORN)
    timestamp = str(TORN.acked_ns)
    ends = {
        "after-table": row.index(",") + 1,
        "inside-quoted-key": row.index("quoted"),
        "inside-a-timestamp": row.index(timestamp) + len(timestamp) // 2,
        "before-last-column": row.rindex(",") + 1,
        "inside-last-column": len(row) - 4,
    }
    with open(path, "a", encoding="utf-8", newline="") as f:
        f.write(row[: ends[cut]])  # a crash mid-write: no line terminator

    assert read_file(path) == kept


def test_wrong_header_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text("table,key,version\r\nwidgets,1,1\r\n", encoding="utf-8")

    with pytest.raises(ValueError, match="not a Change file"):
        read_file(path)


def test_a_ledger_written_before_a_field_was_added_reads_with_its_default(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.csv"
    header = "table,key,version,op,status,intended_ns,acked_ns,txid,digest"
    path.write_text(f"{header}\r\nwidgets,1,1,insert,committed,5,6,7,abc\r\n", encoding="utf-8")

    assert read_file(path) == [Change("widgets", "1", 1, "insert", COMMITTED, 5, 6, 7, "abc")]
    assert read_file(path)[0].added is False


def test_a_file_missing_a_field_without_default_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text("table,key,version,op,status,intended_ns,acked_ns,txid\r\n", encoding="utf-8")

    with pytest.raises(ValueError, match="not a Change file"):
        read_file(path)


def test_observation_log_is_not_a_ledger(tmp_path: Path) -> None:
    path = tmp_path / "observations.csv"
    with RecordWriter(path, Observation) as writer:
        writer.append(Observation("read_model", "widgets", "1", 1, "upsert", T0, "seq-1"))

    with pytest.raises(ValueError, match="not a Change file"):
        read_file(path)


def test_empty_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    path.write_text("", encoding="utf-8")

    with pytest.raises(ValueError):
        read_file(path)


def test_final_state_picks_highest_committed_version_per_entity() -> None:
    changes = [
        change("1", 1, "insert"),
        change("1", 2),
        change("1", 3),
        change("2", 1, "insert"),
        change("2", 2, "delete"),
        change("1", 1, "insert", table="gadgets"),
    ]
    shuffled = changes[:]
    random.Random(7).shuffle(shuffled)

    state = final_state(shuffled)

    assert state == {
        ("widgets", "1"): changes[2],
        ("widgets", "2"): changes[4],
        ("gadgets", "1"): changes[5],
    }


def test_final_state_ignores_aborted_changes() -> None:
    changes = [
        change("1", 1, "insert"),
        change("1", 2, status=ABORTED),
        change("1", 2, "delete", status=ABORTED),
        change("2", 1, "insert", status=ABORTED),  # never committed at all
        change("3", 1, "insert"),
        change("3", 2, status=ABORTED),
        change("3", 2),
    ]

    state = final_state(changes)

    assert state == {("widgets", "1"): changes[0], ("widgets", "3"): changes[6]}


def test_final_state_of_empty_ledger_is_empty() -> None:
    assert final_state([]) == {}


def test_snapshot_round_trip_keeps_booleans(tmp_path: Path) -> None:
    rows = [
        SnapshotRow("widgets", "1", 3, "abc", tombstone=False),
        SnapshotRow("widgets", "2", 2, "", tombstone=True),
    ]
    write_snapshot(tmp_path / "snapshot.csv", rows)

    assert read_snapshot(tmp_path / "snapshot.csv") == rows


def test_a_boolean_field_holds_only_true_or_false(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.csv"
    path.write_text("table,key,version,digest,tombstone\nwidgets,1,3,abc,yes\n")

    with pytest.raises(ValueError, match="not a boolean: 'yes'"):
        read_snapshot(path)
