"""Images corrupted on purpose are found by check_divergent with their exact count, in an
event log, in a state projection's observations and in its final snapshot; no other
injected anomaly is taken for a divergent image."""

import pytest

from harness.check.divergent import SNAPSHOT_POSITION, check_divergent
from harness.check.inject import EVENT_INJECTORS, Log, corrupt_images, perfect_log
from harness.check.protocol import Evidence
from harness.check.result import compose
from harness.load.ledger import COMMITTED
from harness.observe.base import SnapshotRow
from tests.unit.synthetic import judge_divergent, judge_events, synthetic_ledger

CHANGES = synthetic_ledger()
LOG = perfect_log(CHANGES, "events")


def corrupted_versions(corrupted: Log) -> set[tuple[str, str, int]]:
    return {(o.table, o.key, o.version) for o, was in zip(corrupted, LOG, strict=True) if o != was}


def test_inject_nothing_shows_no_divergent_image() -> None:
    result = judge_divergent(CHANGES, LOG)

    assert result.valid is True
    assert result.counts == {}


@pytest.mark.parametrize("n", [1, 3, 17])
def test_inject_divergent_images_are_counted_exactly(n: int) -> None:
    corrupted = corrupt_images(CHANGES, LOG, n, seed=n)

    result = judge_divergent(CHANGES, corrupted, max_examples=20)

    assert result.valid is False
    assert result.counts == {"divergent": n}
    named = {(c["table"], c["key"], c["version"]) for c in result.examples["divergent"]}
    assert named == corrupted_versions(corrupted)
    assert all(c["shown_digest"] != c["expected_digest"] for c in result.examples["divergent"])
    acked = {(c.table, c.key, c.version): c.acked_ns for c in CHANGES if c.status == COMMITTED}
    when = sorted(acked[version] for version in corrupted_versions(corrupted))
    assert sorted(result.committed_ns["divergent"]) == when


def test_inject_divergent_counts_a_version_once_however_often_it_was_seen() -> None:
    corrupted = corrupt_images(CHANGES, LOG, 5, seed=1)
    wrong = [o for o, was in zip(corrupted, LOG, strict=True) if o != was]

    assert judge_divergent(CHANGES, corrupted + wrong + wrong).counts == {"divergent": 5}


def test_inject_divergent_until_every_version_is_wrong() -> None:
    corrupted = LOG
    total = 0
    while True:
        try:
            corrupted = corrupt_images(CHANGES, corrupted, 25, seed=total)
        except ValueError:
            break
        total += 25
        assert judge_divergent(CHANGES, corrupted).counts == {"divergent": total}
    rows = sum(o.digest != "" for o in LOG)
    assert total == rows - rows % 25


@pytest.mark.parametrize("kind", sorted(EVENT_INJECTORS))
def test_inject_other_classes_are_not_divergent(kind: str) -> None:
    corrupted = EVENT_INJECTORS[kind](CHANGES, LOG, 3, 0)

    result = compose(
        [judge_events(CHANGES, corrupted, converged=True), judge_divergent(CHANGES, corrupted)]
    )

    assert result.counts == {kind: 3}


def test_inject_divergent_leaves_the_event_classes_alone() -> None:
    corrupted = corrupt_images(CHANGES, LOG, 4, seed=2)

    result = compose(
        [judge_events(CHANGES, corrupted, converged=True), judge_divergent(CHANGES, corrupted)]
    )

    assert result.counts == {"divergent": 4}
    assert result.valid is False


def test_a_wrong_image_in_the_final_snapshot_is_divergent_once() -> None:
    corrupted = corrupt_images(CHANGES, LOG, 3, seed=4)
    wrong = [o for o, was in zip(corrupted, LOG, strict=True) if o != was]
    rows = [SnapshotRow(o.table, o.key, o.version, o.digest, tombstone=False) for o in wrong]
    tombstone = SnapshotRow(wrong[0].table, wrong[0].key, wrong[0].version, "", tombstone=True)

    alone = check_divergent(Evidence(CHANGES, LOG, [*rows, tombstone]))
    with_the_log = check_divergent(Evidence(CHANGES, corrupted, rows))

    assert alone.counts == {"divergent": 3}
    assert {c["position"] for c in alone.examples["divergent"]} == {SNAPSHOT_POSITION}
    assert with_the_log.counts == {"divergent": 3}  # seen in the log and the snapshot: once
