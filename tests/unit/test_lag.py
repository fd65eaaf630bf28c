"""measure_lag: when a projection first shows each committed change, from hand-built records."""

import pytest

from harness.check.hops import hop_lag
from harness.check.lag import measure_lag, sightings
from harness.load.ledger import ABORTED, COMMITTED, Change
from harness.observe.base import GONE, Observation

TABLE = "widgets"
T0 = 1_700_000_000_000_000_000
"""An epoch-like origin in nanoseconds."""
MS = 1_000_000
"""Nanoseconds per millisecond."""


def change(
    key: str,
    version: int,
    acked_ms: float,
    intended_ms: float | None = None,
    op: str = "update",
    status: str = COMMITTED,
) -> Change:
    intended = acked_ms if intended_ms is None else intended_ms
    return Change(
        table=TABLE,
        key=key,
        version=version,
        op=op,
        status=status,
        intended_ns=T0 + int(intended * MS),
        acked_ns=T0 + int(acked_ms * MS),
        txid=version,
        digest="" if op == "delete" else "digest",
    )


def seen(key: str, version: int, seen_ms: float, op: str = "upsert") -> Observation:
    return Observation(
        projection="read_model",
        table=TABLE,
        key=key,
        version=version,
        op=op,
        seen_ns=T0 + int(seen_ms * MS),
        position=f"{key}-{version}",
    )


def approx(ms: float) -> object:
    return pytest.approx(ms, rel=1e-3)


def test_lag_is_measured_from_commit_and_from_intent() -> None:
    # Intended at 0, committed at 5 ms, shown at 25 ms.
    report = measure_lag([change("1", 1, acked_ms=5, intended_ms=0)], [seen("1", 1, 25)], 1.0)

    assert report.from_commit_ms.count == 1
    assert report.from_commit_ms.p50 == approx(20)
    assert report.from_commit_ms.max == approx(20)
    assert report.from_intent_ms.count == 1
    assert report.from_intent_ms.p50 == approx(25)
    assert report.from_intent_ms.max == approx(25)
    assert (report.seen, report.unseen, report.superseded) == (1, 0, 0)


def test_percentiles_over_many_changes() -> None:
    # Key i committed at 10*i ms and shown i ms later: lags 1..100 ms.
    changes = [change(str(i), 1, acked_ms=10 * i) for i in range(1, 101)]
    observations = [seen(str(i), 1, 10 * i + i) for i in range(1, 101)]

    lag = measure_lag(changes, observations, 10.0).from_commit_ms

    assert lag.count == 100
    assert lag.p50 == approx(50)
    assert lag.p90 == approx(90)
    assert lag.p99 == approx(99)
    assert lag.p999 == approx(100)
    assert lag.max == approx(100)


def test_only_the_first_appearance_of_a_version_counts() -> None:
    changes = [change("1", 1, acked_ms=0)]
    observations = [seen("1", 1, 40), seen("1", 1, 12), seen("1", 1, 90)]

    report = measure_lag(changes, observations, 1.0)

    assert report.from_commit_ms.max == approx(12)


def test_change_overwritten_before_shown_is_superseded_with_lag_until_newer_version() -> None:
    # v1 at 0 ms and v2 at 10 ms; the projection only ever shows v2, at 30 ms.
    changes = [change("1", 1, acked_ms=0, op="insert"), change("1", 2, acked_ms=10)]
    observations = [seen("1", 2, 30)]

    report = measure_lag(changes, observations, 1.0)

    assert (report.seen, report.unseen, report.superseded) == (2, 0, 1)
    assert report.from_commit_ms.count == 2
    assert report.from_commit_ms.max == approx(30)  # v1: until v2 appeared
    assert report.from_commit_ms.p50 == approx(20)  # v2 itself


def test_in_an_event_log_a_change_is_shown_only_by_its_own_version() -> None:
    # v2 was lost on the way; v3 shows at 40 ms, v1 late at 50 ms
    changes = [change("1", v, acked_ms=10 * v, op="update") for v in (1, 2, 3)]
    observations = [seen("1", 3, 40), seen("1", 1, 50)]

    report = measure_lag(changes, observations, 1.0, exact=True)

    assert (report.seen, report.unseen, report.superseded) == (2, 1, 0)
    assert report.from_commit_ms.max == approx(40)  # v1: its own sighting, not v3's


def test_older_version_shown_later_does_not_count_for_a_newer_change() -> None:
    # v2 appears at 20 ms; a late, out-of-order v1 at 50 ms must not change v2's lag,
    # and v1 was already covered by v2 at 20 ms.
    changes = [change("1", 1, acked_ms=0, op="insert"), change("1", 2, acked_ms=5)]
    observations = [seen("1", 2, 20), seen("1", 1, 50)]

    report = measure_lag(changes, observations, 1.0)

    assert (report.seen, report.superseded) == (2, 1)
    assert report.from_commit_ms.max == approx(20)
    assert report.from_commit_ms.p50 == approx(15)


def test_changes_never_shown_are_unseen() -> None:
    changes = [
        change("1", 1, acked_ms=0, op="insert"),
        change("2", 1, acked_ms=1, op="insert"),  # never observed
        change("1", 2, acked_ms=2),  # only v1 was ever shown
    ]
    observations = [seen("1", 1, 10)]

    report = measure_lag(changes, observations, 1.0)

    assert (report.seen, report.unseen, report.superseded) == (1, 2, 0)
    assert report.from_commit_ms.count == 1


def test_observation_of_another_table_does_not_match() -> None:
    observation = Observation("read_model", "gadgets", "1", 1, "upsert", T0 + 10 * MS, "p")

    report = measure_lag([change("1", 1, acked_ms=0)], [observation], 1.0)

    assert (report.seen, report.unseen) == (0, 1)


def test_aborted_changes_are_ignored() -> None:
    changes = [
        change("9", 1, acked_ms=0, status=ABORTED, op="insert"),  # never shown: not unseen
        change("1", 1, acked_ms=100, op="insert"),
        change("1", 2, acked_ms=110, status=ABORTED),
        change("1", 2, acked_ms=120),  # takes the version the aborted change gave back
    ]
    observations = [seen("1", 1, 105), seen("1", 2, 150)]

    report = measure_lag(changes, observations, 0.05)

    assert (report.seen, report.unseen, report.superseded) == (2, 0, 0)
    assert report.from_commit_ms.count == 2
    assert report.from_commit_ms.max == approx(30)
    # 50 ms windows start at the first *committed* change (100 ms), not the aborted one at 0.
    assert [w.start_s for w in report.over_time] == [0.0]


def test_delete_is_matched_by_its_tombstone_observation() -> None:
    # Row v1 inserted, then deleted: the delete takes version 2 (the tombstone), and the
    # observer reports the removal as version 2 (deleted version + 1).
    changes = [change("1", 1, acked_ms=0, op="insert"), change("1", 2, acked_ms=10, op="delete")]
    observations = [seen("1", 1, 12), seen("1", 2, 40, op="delete")]

    report = measure_lag(changes, observations, 1.0)

    assert (report.seen, report.unseen, report.superseded) == (2, 0, 0)
    assert report.from_commit_ms.p50 == approx(12)
    assert report.from_commit_ms.max == approx(30)


def test_windows_group_by_commit_time_with_configured_width() -> None:
    acked = [0, 100, 480, 600, 1700]
    lags = [10, 20, 30, 35, 40]
    changes = [change(str(i), 1, acked_ms=a) for i, a in enumerate(acked)]
    # The change committed at 480 ms is shown at 510 ms: its commit time, not the time it
    # was shown, decides its window.
    pairs = enumerate(zip(acked, lags, strict=True))
    observations = [seen(str(i), 1, a + lag) for i, (a, lag) in pairs]

    windows = measure_lag(changes, observations, 0.5).over_time

    assert [w.start_s for w in windows] == [0.0, 0.5, 1.5]
    assert [w.count for w in windows] == [3, 1, 1]
    assert [w.max for w in windows] == [approx(30), approx(35), approx(40)]
    assert windows[0].p50 == approx(20)
    assert windows[0].p99 == approx(30)


def test_lag_shown_before_the_commit_ack_counts_as_near_zero() -> None:
    # The projection may show a change before the database's acknowledgement arrives.
    report = measure_lag([change("1", 1, acked_ms=10)], [seen("1", 1, 8)], 1.0)

    assert report.seen == 1
    assert report.from_commit_ms.count == 1
    assert report.from_commit_ms.max == approx(0.001)


def test_no_changes_gives_empty_report() -> None:
    report = measure_lag([], [], 1.0)

    for summary in (report.from_commit_ms, report.from_intent_ms):
        assert summary.count == 0
        assert (summary.p50, summary.p90, summary.p99, summary.p999, summary.max) == (None,) * 5
    assert report.over_time == []
    assert (report.seen, report.unseen, report.superseded) == (0, 0, 0)


def test_only_aborted_changes_gives_empty_report() -> None:
    changes = [change("1", 1, acked_ms=0, status=ABORTED)]

    report = measure_lag(changes, [seen("1", 1, 5)], 1.0)

    assert report.from_commit_ms.count == 0
    assert report.from_commit_ms.p50 is None
    assert (report.seen, report.unseen) == (0, 0)


def test_a_removal_of_unknown_version_covers_every_version_of_the_row() -> None:
    # v1 shown; v2 and the delete (v3) landed between two polls: the row just vanished
    changes = [
        change("1", 1, acked_ms=0, op="insert"),
        change("1", 2, acked_ms=10),
        change("1", 3, acked_ms=20, op="delete"),
    ]
    observations = [seen("1", 1, 5), seen("1", GONE, 50, op="delete")]

    report = measure_lag(changes, observations, 1.0)

    assert (report.seen, report.unseen, report.superseded, report.skipped) == (3, 0, 1, 0)
    assert report.from_commit_ms.max == approx(40)


def test_a_row_deleted_before_a_state_projection_showed_it_is_skipped_not_unseen() -> None:
    changes = [change("1", 1, acked_ms=0, op="insert"), change("1", 2, acked_ms=10, op="delete")]
    changes += [change("2", 1, acked_ms=20, op="insert")]  # live, never shown: unseen

    as_state = measure_lag(changes, [], 1.0)
    as_log = measure_lag(changes, [], 1.0, exact=True)

    assert (as_state.seen, as_state.unseen, as_state.skipped) == (0, 1, 2)
    assert (as_log.seen, as_log.unseen, as_log.skipped) == (0, 3, 0)


def test_a_hop_lag_runs_from_the_upstream_sighting_over_changes_both_showed() -> None:
    changes = [change("1", 1, acked_ms=0, op="insert"), change("1", 2, acked_ms=10)]
    changes += [change("2", 1, acked_ms=20, op="insert")]
    upstream = sightings(changes, [seen("1", 1, 5), seen("1", 2, 15), seen("2", 1, 25)])
    downstream = sightings(changes, [seen("1", 2, 40), seen("2", 1, 24)])  # 1 v1 superseded

    hop = hop_lag("bus", upstream, downstream)

    assert downstream == {
        (TABLE, "1", 1): T0 + 40 * MS,
        (TABLE, "1", 2): T0 + 40 * MS,
        (TABLE, "2", 1): T0 + 24 * MS,
    }
    assert (hop.upstream, hop.ms.count) == ("bus", 3)
    assert hop.ms.max == approx(35)  # 1 v1: seen upstream at 5, here at 40
    assert hop.ms.p50 == approx(25)  # 1 v2: 15 -> 40; 2 v1 shown here first counts 1 µs
