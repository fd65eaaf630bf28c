"""check_events places every event and every committed change of a small log once."""

from dataclasses import replace

from harness.load.ledger import ABORTED, COMMITTED, Change
from harness.observe.base import Observation
from tests.unit.synthetic import judge_events

TABLE = "widgets"


def change(key: str, version: int, status: str = COMMITTED) -> Change:
    op = "insert" if version == 1 else "update"
    return Change(TABLE, key, version, op, status, 0, 0, version, f"{key}@{version}")


def history(key: str, last: int) -> list[Change]:
    return [change(key, v) for v in range(1, last + 1)]


def log(*events: tuple[str, int]) -> list[Observation]:
    return [
        Observation("events", TABLE, key, version, "upsert", 0, str(i))
        for i, (key, version) in enumerate(events)
    ]


def test_redelivery_after_later_versions_is_a_duplicate_only() -> None:
    result = judge_events(history("1", 3), log(("1", 1), ("1", 2), ("1", 3), ("1", 1)), True)

    assert result.counts == {"duplicate": 1}
    assert result.examples == {
        "duplicate": [{"table": TABLE, "key": "1", "version": 1, "position": "3"}]
    }


def test_late_first_sighting_is_out_of_order_not_a_gap() -> None:
    result = judge_events(history("1", 3), log(("1", 1), ("1", 3), ("1", 2)), True)

    assert result.counts == {"out_of_order": 1}
    assert result.examples["out_of_order"] == [
        {"table": TABLE, "key": "1", "version": 2, "position": "2", "after": 3}
    ]


def test_skipped_version_is_a_gap_and_wrong_whatever_the_lag() -> None:
    result = judge_events(history("1", 4), log(("1", 1), ("1", 3), ("1", 4)), False)

    assert result.valid is False
    assert result.counts == {"gap": 1, "unconverged": 1}
    assert result.examples["gap"] == [{"table": TABLE, "key": "1", "version": 2, "newest_seen": 4}]


def test_versions_past_the_newest_seen_are_missing_and_unknown_until_converged() -> None:
    events = log(("1", 1), ("2", 1))
    changes = [*history("1", 3), *history("2", 1)]

    lagging = judge_events(changes, events, converged=False)
    converged = judge_events(changes, events, converged=True)

    assert lagging.valid == "unknown"
    assert lagging.counts == {"missing": 2, "unconverged": 1}
    assert converged.valid is False
    assert [case["version"] for case in converged.examples["missing"]] == [2, 3]
    settled = judge_events(changes, events, converged=False, settled=True)
    assert settled.valid is False
    assert settled.counts == {"missing": 2, "unconverged": 1}


def test_uncommitted_versions_are_phantom_and_unknown_keys_extra_per_event() -> None:
    changes = [*history("1", 2), change("1", 3, ABORTED), change("2", 1, ABORTED)]
    events = log(("1", 1), ("1", 2), ("1", 3), ("2", 1), ("9", 1), ("9", 2))

    result = judge_events(changes, events, converged=True)

    assert result.counts == {"phantom": 2, "extra": 2}
    assert result.examples["phantom"][0] == {
        "table": TABLE,
        "key": "1",
        "version": 3,
        "position": "2",
        "last": 2,
    }


def test_examples_are_limited_but_counts_are_not() -> None:
    result = judge_events(history("1", 10), [], converged=True, max_examples=3)

    assert result.counts == {"missing": 10}
    assert [case["version"] for case in result.examples["missing"]] == [1, 2, 3]


def test_each_anomaly_carries_when_its_change_was_committed() -> None:
    """For placing anomalies among a run's faults: a duplicate and the missing changes by
    their commits, an extra entity by none."""
    changes = [replace(change("1", v), acked_ns=v * 10) for v in (1, 2, 3)]

    result = judge_events(changes, log(("1", 1), ("1", 1), ("9", 1)), converged=True)

    assert result.counts == {"duplicate": 1, "extra": 1, "missing": 2}
    assert result.committed_ns == {"duplicate": [10], "missing": [20, 30]}
    assert "committed_ns" not in result.model_dump()  # recomputed, never saved
