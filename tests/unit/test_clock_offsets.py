"""Ledgers written on other hosts are moved onto the harness's clock by their offsets."""

from pathlib import Path

from harness.load.clock import ClockOffset, read_offset, write_offset
from harness.load.ledger import COMMITTED, Change, read_ledger
from harness.records import RecordWriter

SECOND = 1_000_000_000


def _ledger(path: Path, acked_ns: list[int]) -> None:
    with RecordWriter(path, Change) as writer:
        for i, acked in enumerate(acked_ns):
            writer.append(
                Change("widgets", str(i), 1, "insert", COMMITTED, acked - 5, acked, i, "")
            )


def test_other_hosts_times_are_shifted_by_the_difference_of_offsets(tmp_path: Path) -> None:
    here = ClockOffset(host="harness", pid=1, offset_ns=2 * SECOND, bound_ns=1_000)
    local, remote = tmp_path / "ledger-harness-1-0.csv", tmp_path / "ledger-far-9-0.csv"
    _ledger(local, [10 * SECOND])
    _ledger(remote, [11 * SECOND])
    write_offset(local, here)
    # the far host's clock runs 3 s behind the database's, the harness's 2 s behind
    write_offset(remote, ClockOffset(host="far", pid=9, offset_ns=3 * SECOND, bound_ns=50_000))

    changes = read_ledger(tmp_path, reference=here)

    assert [(c.key, c.acked_ns, c.intended_ns) for c in changes] == [
        ("0", 10 * SECOND, 10 * SECOND - 5),
        ("0", 12 * SECOND, 12 * SECOND - 5),
    ]
    assert read_offset(remote) == ClockOffset(
        host="far", pid=9, offset_ns=3 * SECOND, bound_ns=50_000
    )


def test_without_a_reference_or_an_offset_times_are_kept(tmp_path: Path) -> None:
    remote = tmp_path / "ledger-far-9-0.csv"
    _ledger(remote, [11 * SECOND])
    write_offset(remote, ClockOffset(host="far", pid=9, offset_ns=3 * SECOND, bound_ns=50_000))
    _ledger(tmp_path / "ledger-near-2-0.csv", [12 * SECOND])
    here = ClockOffset(host="harness", pid=1, offset_ns=0, bound_ns=1_000)

    assert [c.acked_ns for c in read_ledger(tmp_path)] == [11 * SECOND, 12 * SECOND]
    assert [c.acked_ns for c in read_ledger(tmp_path, reference=here)] == [
        12 * SECOND,
        14 * SECOND,
    ]
