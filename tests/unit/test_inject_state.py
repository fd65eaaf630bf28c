"""Anomalies injected into a correct state snapshot are found by check_state, each class
with its exact count and naming exactly the rows it touched; so are a naive projector's."""

import itertools
import random
from collections import Counter

import pytest

from harness.check.inject import (
    STATE_INJECTORS,
    Snapshot,
    add_extra_rows,
    drop_rows,
    perfect_snapshot,
    resurrect_rows,
    roll_back_rows,
    set_phantom_versions,
)
from harness.check.result import CheckResult
from harness.load.ledger import ABORTED, COMMITTED, Entity, final_state
from tests.unit.synthetic import (
    inject_two_at_their_most,
    inject_until_exhausted,
    judge_state,
    synthetic_ledger,
)

CHANGES = synthetic_ledger()
LAST = final_state(CHANGES)
SNAPSHOT = perfect_snapshot(CHANGES)
LAG_LIKE = {"missing", "stale", "resurrected"}

counts_and_convergence = pytest.mark.parametrize(
    ("n", "converged"), [(1, True), (3, True), (7, True), (1, False), (7, False)]
)


def touched(corrupted: Snapshot) -> set[Entity]:
    return {e for e in SNAPSHOT.keys() | corrupted.keys() if SNAPSHOT.get(e) != corrupted.get(e)}


def check_exactly(kind: str, corrupted: Snapshot, n: int, converged: bool) -> CheckResult:
    """check_state finds n of `kind`, nothing else, and names exactly the touched rows."""
    result = judge_state(CHANGES, corrupted, converged=converged, max_examples=10)
    assert result.counts == {kind: n, **({} if converged else {"unconverged": 1})}
    assert result.valid == (False if converged or kind not in LAG_LIKE else "unknown")
    assert {(case["table"], case["key"]) for case in result.examples[kind]} == touched(corrupted)
    return result


def test_inject_nothing_into_a_perfect_snapshot_is_valid() -> None:
    kinds = Counter((c.op, c.status) for c in CHANGES)
    assert all(
        kinds[op, status]
        for op in ("insert", "update", "delete")
        for status in (COMMITTED, ABORTED)
    )
    assert len({c.entity for c in CHANGES}) >= 50

    result = judge_state(CHANGES, SNAPSHOT, converged=True)

    assert result.valid is True
    assert result.counts == {}


@counts_and_convergence
def test_inject_missing_by_dropping_live_rows(n: int, converged: bool) -> None:
    corrupted = drop_rows(CHANGES, SNAPSHOT, n, seed=n)

    result = check_exactly("missing", corrupted, n, converged)

    assert len(corrupted) == len(SNAPSHOT) - n
    assert all(
        case["expected"] == SNAPSHOT[case["table"], case["key"]]
        for case in result.examples["missing"]
    )


@counts_and_convergence
def test_inject_stale_by_rolling_rows_back(n: int, converged: bool) -> None:
    corrupted = roll_back_rows(CHANGES, SNAPSHOT, n, seed=n)

    result = check_exactly("stale", corrupted, n, converged)

    assert all(case["shown"] < case["expected"] for case in result.examples["stale"])


@counts_and_convergence
def test_inject_resurrected_by_re_adding_deleted_rows(n: int, converged: bool) -> None:
    corrupted = resurrect_rows(CHANGES, SNAPSHOT, n, seed=n)

    result = check_exactly("resurrected", corrupted, n, converged)

    for case in result.examples["resurrected"]:
        assert LAST[case["table"], case["key"]].op == "delete"
        assert 1 <= case["shown"] <= case["deleted_version"]


@counts_and_convergence
def test_inject_extra_by_adding_unknown_rows(n: int, converged: bool) -> None:
    corrupted = add_extra_rows(CHANGES, SNAPSHOT, n, seed=n)

    check_exactly("extra", corrupted, n, converged)

    assert not touched(corrupted) & {c.entity for c in CHANGES}


@counts_and_convergence
def test_inject_phantom_by_setting_uncommitted_versions(n: int, converged: bool) -> None:
    corrupted = set_phantom_versions(CHANGES, SNAPSHOT, n, seed=n)

    result = check_exactly("phantom", corrupted, n, converged)

    assert all(case["shown"] > case["expected"] for case in result.examples["phantom"])


@pytest.mark.parametrize(("first", "second"), list(itertools.permutations(STATE_INJECTORS, 2)))
def test_inject_two_classes_counts_both(first: str, second: str) -> None:
    once = STATE_INJECTORS[first](CHANGES, SNAPSHOT, 3, 1)
    twice = STATE_INJECTORS[second](CHANGES, once, 2, 2)

    result = judge_state(CHANGES, twice, converged=True)

    assert result.counts == {first: 3, second: 2}
    assert result.valid is False


@pytest.mark.parametrize("kind", STATE_INJECTORS)
def test_inject_is_deterministic_and_leaves_its_input_alone(kind: str) -> None:
    inject = STATE_INJECTORS[kind]

    assert inject(CHANGES, SNAPSHOT, 5, 3) == inject(CHANGES, SNAPSHOT, 5, 3)
    assert perfect_snapshot(CHANGES) == SNAPSHOT


@pytest.mark.parametrize("kind", sorted(set(STATE_INJECTORS) - {"extra"}))
def test_inject_more_than_there_are_candidates_raises(kind: str) -> None:
    with pytest.raises(ValueError, match="candidates"):
        STATE_INJECTORS[kind](CHANGES, SNAPSHOT, len(LAST) + 1, 0)


def test_inject_extra_rows_needs_a_table() -> None:
    with pytest.raises(ValueError, match="no table"):
        add_extra_rows([], {}, 1)


def naive_projection(seed: int, batch: int = 10) -> Snapshot:
    """The final table of a projector that puts every message unconditionally (a delete
    message puts the row's last image, the version before the delete's tombstone), a
    queue batch at a time with the puts of a batch in flight together (in any order)."""
    rng = random.Random(seed)
    committed = [c for c in CHANGES if c.status == COMMITTED]
    table: Snapshot = {}
    for start in range(0, len(committed), batch):
        messages = committed[start : start + batch]
        rng.shuffle(messages)
        for c in messages:
            table[c.entity] = c.version - 1 if c.op == "delete" else c.version
    return table


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inject_naive_projector_resurrects_deleted_rows_and_leaves_stale_ones(seed: int) -> None:
    table = naive_projection(seed)
    deleted = {e for e, c in LAST.items() if c.op == "delete"}
    behind = {e for e, c in LAST.items() if c.op != "delete" and table[e] < c.version}

    result = judge_state(CHANGES, table, converged=True, max_examples=len(LAST))

    assert result.valid is False
    assert result.counts == {"resurrected": len(deleted), "stale": len(behind)}
    assert result.counts["stale"] > 0
    assert {(case["table"], case["key"]) for case in result.examples["resurrected"]} == deleted
    assert {(case["table"], case["key"]) for case in result.examples["stale"]} == behind
    for case in result.examples["stale"]:
        assert case["shown"] == table[case["table"], case["key"]] < case["expected"]


def test_inject_every_class_again_and_again_until_candidates_run_out() -> None:
    active, expected = inject_until_exhausted(STATE_INJECTORS, judge_state, CHANGES, SNAPSHOT)

    assert active == {"extra"}
    assert all(expected[kind] >= 8 for kind in STATE_INJECTORS)


@pytest.mark.parametrize(("first", "second"), list(itertools.permutations(STATE_INJECTORS, 2)))
def test_inject_two_classes_each_at_its_most(first: str, second: str) -> None:
    result, n, m = inject_two_at_their_most(
        STATE_INJECTORS, judge_state, CHANGES, SNAPSHOT, first, second
    )

    assert n > 0
    assert result.counts == {first: n, **({second: m} if m else {})}
