"""Anomalies injected into a correct event log are found by check_events, each class with
its exact count and naming exactly the events (or changes) it touched."""

import itertools
from collections import Counter
from pathlib import Path

import pytest

from harness.check.inject import (
    EVENT_INJECTORS,
    Log,
    add_aborted_events,
    add_unknown_events,
    drop_last_version,
    drop_middle_version,
    duplicate_events,
    perfect_log,
    swap_events,
)
from harness.check.result import CheckResult
from harness.load.ledger import COMMITTED, Change, final_state, ledger_writer, read_ledger
from tests.unit.synthetic import (
    inject_two_at_their_most,
    inject_until_exhausted,
    judge_events,
    synthetic_ledger,
)

CHANGES = synthetic_ledger()
LAST = {e: c.version for e, c in final_state(CHANGES).items()}
LOG = perfect_log(CHANGES, "events")

Named = set[tuple[str, str, int]]

counts_and_convergence = pytest.mark.parametrize(
    ("n", "converged"), [(1, True), (3, True), (7, True), (1, False), (7, False)]
)


def named(events: Log) -> Named:
    return {(o.table, o.key, o.version) for o in events}


def dropped(corrupted: Log) -> Log:
    return list((Counter(LOG) - Counter(corrupted)).elements())


def added(corrupted: Log) -> Log:
    return list((Counter(corrupted) - Counter(LOG)).elements())


def check_exactly(
    kind: str, corrupted: Log, n: int, converged: bool, expected: Named
) -> CheckResult:
    """check_events finds n of `kind`, nothing else, and names exactly `expected`."""
    result = judge_events(CHANGES, corrupted, converged=converged, max_examples=10)
    assert result.counts == {kind: n, **({} if converged else {"unconverged": 1})}
    assert result.valid == (False if converged or kind != "missing" else "unknown")
    assert {
        (case["table"], case["key"], case["version"]) for case in result.examples[kind]
    } == expected
    return result


def test_inject_nothing_into_a_perfect_log_is_valid() -> None:
    assert len(LOG) == sum(c.status == COMMITTED for c in CHANGES)

    result = judge_events(CHANGES, LOG, converged=True)

    assert result.valid is True
    assert result.counts == {}


def test_a_perfect_log_holds_each_keys_versions_in_version_order_whatever_the_acks(
    tmp_path: Path,
) -> None:
    """Two users of one process wrote versions 2 and 3 of key 1; the one holding version 3
    was resumed first and saw its commit acknowledged 0.27 ms earlier. The ledger, read
    in acknowledgement order, lists version 3 first; a correct log (the commit order)
    still holds version 2 first."""

    def change(key: str, version: int, acked_ns: int, txid: int) -> Change:
        op = "insert" if version == 1 else "update"
        digest = f"widgets/{key}@{version}"
        return Change(
            "widgets", key, version, op, COMMITTED, acked_ns - 5_000_000, acked_ns, txid, digest
        )

    with ledger_writer(tmp_path) as ledger:
        for c in [
            change("1", 1, 1_000_000, 1),
            change("1", 2, 2_270_000, 2),
            change("1", 3, 2_000_000, 3),
            change("2", 1, 2_100_000, 4),
        ]:
            ledger.append(c)
    changes = read_ledger(tmp_path)
    assert [(c.key, c.version) for c in changes] == [("1", 1), ("1", 3), ("2", 1), ("1", 2)]

    log = perfect_log(changes)

    assert [(o.key, o.version) for o in log] == [("1", 1), ("1", 2), ("2", 1), ("1", 3)]
    result = judge_events(changes, log, converged=True)
    assert (result.valid, result.counts) == (True, {})


def test_inject_nothing_while_not_converged_is_valid_but_flagged() -> None:
    result = judge_events(CHANGES, LOG, converged=False)

    assert result.valid is True
    assert result.counts == {"unconverged": 1}


@counts_and_convergence
def test_inject_missing_by_dropping_last_versions(n: int, converged: bool) -> None:
    corrupted = drop_last_version(CHANGES, LOG, n, seed=n)

    check_exactly("missing", corrupted, n, converged, named(dropped(corrupted)))

    assert all(LAST[t, k] == v for t, k, v in named(dropped(corrupted)))


@counts_and_convergence
def test_inject_gap_by_dropping_middle_versions(n: int, converged: bool) -> None:
    corrupted = drop_middle_version(CHANGES, LOG, n, seed=n)

    result = check_exactly("gap", corrupted, n, converged, named(dropped(corrupted)))

    assert all(case["version"] < case["newest_seen"] for case in result.examples["gap"])


@counts_and_convergence
def test_inject_duplicate_by_delivering_events_twice(n: int, converged: bool) -> None:
    corrupted = duplicate_events(CHANGES, LOG, n, seed=n)

    check_exactly("duplicate", corrupted, n, converged, named(added(corrupted)))

    assert len(corrupted) == len(LOG) + n


@counts_and_convergence
def test_inject_out_of_order_by_swapping_a_keys_events(n: int, converged: bool) -> None:
    corrupted = swap_events(CHANGES, LOG, n, seed=n)
    lowered = [new for new, old in zip(corrupted, LOG, strict=True) if new.version < old.version]

    result = check_exactly("out_of_order", corrupted, n, converged, named(lowered))

    assert sorted(corrupted, key=lambda o: int(o.position)) == LOG
    assert all(case["version"] < case["after"] for case in result.examples["out_of_order"])


@counts_and_convergence
def test_inject_phantom_by_adding_aborted_changes(n: int, converged: bool) -> None:
    corrupted = add_aborted_events(CHANGES, LOG, n, seed=n)
    aborted = {(c.table, c.key, c.version) for c in CHANGES if c.status != COMMITTED}

    check_exactly("phantom", corrupted, n, converged, named(added(corrupted)))

    assert named(added(corrupted)) <= aborted


@counts_and_convergence
def test_inject_extra_by_adding_unknown_keys(n: int, converged: bool) -> None:
    corrupted = add_unknown_events(CHANGES, LOG, n, seed=n)

    check_exactly("extra", corrupted, n, converged, named(added(corrupted)))

    assert not {(o.table, o.key) for o in added(corrupted)} & {c.entity for c in CHANGES}


@pytest.mark.parametrize(("first", "second"), list(itertools.permutations(EVENT_INJECTORS, 2)))
def test_inject_two_classes_counts_both(first: str, second: str) -> None:
    once = EVENT_INJECTORS[first](CHANGES, LOG, 3, 1)
    twice = EVENT_INJECTORS[second](CHANGES, once, 2, 2)

    result = judge_events(CHANGES, twice, converged=True)

    assert result.counts == {first: 3, second: 2}
    assert result.valid is False


def test_inject_every_class_at_once() -> None:
    log = LOG
    for seed, kind in enumerate(EVENT_INJECTORS, start=1):
        log = EVENT_INJECTORS[kind](CHANGES, log, seed, seed)

    result = judge_events(CHANGES, log, converged=True)

    assert result.counts == {kind: seed for seed, kind in enumerate(EVENT_INJECTORS, start=1)}


@pytest.mark.parametrize("kind", EVENT_INJECTORS)
def test_inject_is_deterministic_and_leaves_its_input_alone(kind: str) -> None:
    inject = EVENT_INJECTORS[kind]

    assert inject(CHANGES, LOG, 5, 3) == inject(CHANGES, LOG, 5, 3)
    assert perfect_log(CHANGES, "events") == LOG


@pytest.mark.parametrize("kind", sorted(set(EVENT_INJECTORS) - {"extra"}))
def test_inject_more_than_there_are_candidates_raises(kind: str) -> None:
    with pytest.raises(ValueError, match="candidates"):
        EVENT_INJECTORS[kind](CHANGES, LOG, len(LOG) + 1, 0)


def test_inject_into_an_empty_log_raises() -> None:
    with pytest.raises(ValueError, match="empty log"):
        add_unknown_events(CHANGES, [], 1)


def test_inject_every_class_again_and_again_until_candidates_run_out() -> None:
    active, expected = inject_until_exhausted(EVENT_INJECTORS, judge_events, CHANGES, LOG)

    assert active == {"extra"}
    assert all(expected[kind] >= 8 for kind in EVENT_INJECTORS)


@pytest.mark.parametrize(("first", "second"), list(itertools.permutations(EVENT_INJECTORS, 2)))
def test_inject_two_classes_each_at_its_most(first: str, second: str) -> None:
    result, n, m = inject_two_at_their_most(
        EVENT_INJECTORS, judge_events, CHANGES, LOG, first, second
    )

    assert n > 0
    assert result.counts == {first: n, **({second: m} if m else {})}
