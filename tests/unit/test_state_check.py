"""check_state classifies projection snapshots against the ledger;
compose / merge_validity combine checker results."""

from dataclasses import replace

import pytest

from harness.check.result import CheckResult, Validity, compose, merge_validity
from harness.load.ledger import ABORTED, COMMITTED, Change
from tests.unit.synthetic import judge_state

TABLE = "widgets"


def change(
    key: str, version: int, op: str = "update", table: str = TABLE, status: str = COMMITTED
) -> Change:
    """A change; only table, key, version, op and status matter to the state check."""
    return Change(
        table=table,
        key=key,
        version=version,
        op=op,
        status=status,
        intended_ns=0,
        acked_ns=0,
        txid=version,
        digest="" if op == "delete" else f"d{key}v{version}",
    )


def history(key: str, version: int, op: str = "update", table: str = TABLE) -> list[Change]:
    """A key's committed history: insert v1, updates, then `op` at `version`."""
    earlier = [change(key, v, "insert" if v == 1 else "update", table) for v in range(1, version)]
    return [*earlier, change(key, version, "insert" if version == 1 else op, table)]


def ledger_of(*histories: list[Change]) -> list[Change]:
    return [c for h in histories for c in h]


def test_matching_snapshot_is_valid_with_no_counts() -> None:
    changes = ledger_of(
        history("1", 1, "insert"),
        history("2", 3, "update"),
        history("3", 4, "delete"),
        history("1", 2, "update", table="gadgets"),
    )
    snapshot = {(TABLE, "1"): 1, (TABLE, "2"): 3, ("gadgets", "1"): 2}

    result = judge_state(changes, snapshot, converged=True)

    assert result.valid is True
    assert result.counts == {}
    assert result.examples == {}


def test_live_row_absent_from_snapshot_is_missing() -> None:
    changes = ledger_of(history("1", 2), history("2", 1, "insert"), history("3", 5))
    snapshot = {(TABLE, "2"): 1}

    result = judge_state(changes, snapshot, converged=True)

    assert result.counts == {"missing": 2}
    assert result.examples == {
        "missing": [
            {"table": TABLE, "key": "1", "expected": 2},
            {"table": TABLE, "key": "3", "expected": 5},
        ]
    }


def test_older_version_in_snapshot_is_stale() -> None:
    changes = ledger_of(history("1", 4), history("2", 2))
    snapshot = {(TABLE, "1"): 3, (TABLE, "2"): 2}

    result = judge_state(changes, snapshot, converged=True)

    assert result.counts == {"stale": 1}
    assert result.examples == {"stale": [{"table": TABLE, "key": "1", "expected": 4, "shown": 3}]}


def test_deleted_row_still_present_is_resurrected() -> None:
    # The delete took version 5 (its tombstone), so the deleted row was version 4.
    changes = ledger_of(history("1", 5, "delete"), history("2", 2, "delete"))
    snapshot = {(TABLE, "1"): 4}

    result = judge_state(changes, snapshot, converged=True)

    assert result.counts == {"resurrected": 1}
    assert result.examples == {
        "resurrected": [{"table": TABLE, "key": "1", "deleted_version": 4, "shown": 4}]
    }


def test_entity_the_source_never_had_is_extra() -> None:
    changes = ledger_of(history("1", 1, "insert"))
    snapshot = {(TABLE, "1"): 1, (TABLE, "99"): 7, ("gadgets", "1"): 1}

    result = judge_state(changes, snapshot, converged=True)

    assert result.counts == {"extra": 2}
    assert result.examples == {
        "extra": [
            {"table": TABLE, "key": "99", "shown": 7},
            {"table": "gadgets", "key": "1", "shown": 1},
        ]
    }


def test_version_newer_than_last_committed_is_phantom() -> None:
    changes = ledger_of(history("1", 2), history("2", 1, "insert"))
    snapshot = {(TABLE, "1"): 3, (TABLE, "2"): 1}

    result = judge_state(changes, snapshot, converged=True)

    assert result.counts == {"phantom": 1}
    assert result.examples == {"phantom": [{"table": TABLE, "key": "1", "expected": 2, "shown": 3}]}


def test_version_newer_than_a_delete_tombstone_is_phantom() -> None:
    # Deleted keys are never written again, so no version above the tombstone was ever
    # committed: like any other never-committed version it is wrong whatever the lag.
    changes = ledger_of(history("1", 3, "delete"))
    snapshot = {(TABLE, "1"): 4}

    result = judge_state(changes, snapshot, converged=False)

    assert result.counts == {"phantom": 1, "unconverged": 1}
    assert result.valid is False


def test_delete_tombstone_version_shown_is_phantom() -> None:
    changes = history("1", 3, "delete")

    result = judge_state(changes, {(TABLE, "1"): 3}, converged=True)

    assert result.counts == {"phantom": 1}


def test_entity_written_only_by_aborted_transactions_is_phantom() -> None:
    changes = [
        change("1", 1, "insert"),
        change("1", 2, status=ABORTED),
        change("1", 2),
        change("2", 1, "insert", status=ABORTED),
    ]
    snapshot = {(TABLE, "1"): 2, (TABLE, "2"): 1}

    result = judge_state(changes, snapshot, converged=False)

    assert result.valid is False
    assert result.counts == {"phantom": 1, "unconverged": 1}
    assert result.examples["phantom"] == [{"table": TABLE, "key": "2", "shown": 1}]


def test_every_class_is_counted_exactly_in_one_snapshot() -> None:
    changes = ledger_of(
        *(history(f"m{i}", 2) for i in range(3)),  # missing
        *(history(f"s{i}", 5) for i in range(2)),  # stale
        history("r0", 3, "delete"),  # resurrected
        *(history(f"p{i}", 1, "insert") for i in range(4)),  # phantom
        *(history(f"ok{i}", 2) for i in range(5)),  # fine
        history("gone", 2, "delete"),  # fine: absent
    )
    snapshot = {
        **{(TABLE, f"s{i}"): 4 for i in range(2)},
        (TABLE, "r0"): 2,
        **{(TABLE, f"p{i}"): 2 for i in range(4)},
        **{(TABLE, f"ok{i}"): 2 for i in range(5)},
        **{(TABLE, f"x{i}"): 1 for i in range(6)},  # extra
    }

    result = judge_state(changes, snapshot, converged=True)

    assert result.counts == {"missing": 3, "stale": 2, "resurrected": 1, "phantom": 4, "extra": 6}
    assert result.valid is False


SOFT_CASES = {
    "missing": (history("1", 2), {}),
    "stale": (history("1", 2), {(TABLE, "1"): 1}),
    "resurrected": (history("1", 2, "delete"), {(TABLE, "1"): 1}),
}
HARD_CASES = {
    "extra": ([], {(TABLE, "1"): 1}),
    "phantom": (history("1", 2), {(TABLE, "1"): 3}),
}


@pytest.mark.parametrize("kind", SOFT_CASES)
def test_soft_class_is_invalid_once_converged(kind: str) -> None:
    changes, snapshot = SOFT_CASES[kind]

    result = judge_state(changes, snapshot, converged=True)

    assert result.valid is False
    assert result.counts == {kind: 1}


@pytest.mark.parametrize("kind", SOFT_CASES)
def test_soft_class_is_unknown_when_not_converged(kind: str) -> None:
    changes, snapshot = SOFT_CASES[kind]

    result = judge_state(changes, snapshot, converged=False)

    assert result.valid == "unknown"
    assert result.counts == {kind: 1, "unconverged": 1}


@pytest.mark.parametrize("kind", SOFT_CASES)
def test_soft_class_is_invalid_once_settled_without_converging(kind: str) -> None:
    changes, snapshot = SOFT_CASES[kind]

    result = judge_state(changes, snapshot, converged=False, settled=True)

    assert result.valid is False
    assert result.counts == {kind: 1, "unconverged": 1}


@pytest.mark.parametrize("kind", HARD_CASES)
@pytest.mark.parametrize("converged", [True, False])
def test_extra_and_phantom_are_invalid_even_when_not_converged(kind: str, converged: bool) -> None:
    changes, snapshot = HARD_CASES[kind]

    result = judge_state(changes, snapshot, converged=converged)

    assert result.valid is False
    assert result.counts[kind] == 1
    assert ("unconverged" in result.counts) is not converged


def test_hard_class_outweighs_soft_classes_when_not_converged() -> None:
    changes = ledger_of(history("1", 2), history("2", 2))
    snapshot = {(TABLE, "1"): 1, (TABLE, "2"): 3}

    result = judge_state(changes, snapshot, converged=False)

    assert result.valid is False
    assert result.counts == {"stale": 1, "phantom": 1, "unconverged": 1}


def test_examples_are_limited_but_counts_are_not() -> None:
    changes = ledger_of(*(history(str(i), 1, "insert") for i in range(10)))

    result = judge_state(changes, {}, converged=True, max_examples=3)

    assert result.counts == {"missing": 10}
    assert [case["key"] for case in result.examples["missing"]] == ["0", "1", "2"]


@pytest.mark.parametrize(
    ("values", "merged"),
    [
        ([], True),
        ([True, True], True),
        ([True, "unknown", True], "unknown"),
        (["unknown", False], False),
        ([True, False, "unknown"], False),
        ([False, True], False),
    ],
)
def test_merge_validity_false_beats_unknown_beats_true(
    values: list[Validity], merged: Validity
) -> None:
    assert merge_validity(values) == merged
    assert type(merge_validity(values)) is type(merged)


def test_compose_merges_validity_and_sums_counts() -> None:
    results = [
        CheckResult(valid=True),
        CheckResult(valid="unknown", counts={"missing": 2, "unconverged": 1}),
        CheckResult(valid=False, counts={"missing": 3, "extra": 1}),
    ]

    composed = compose(results)

    assert composed.valid is False
    assert composed.counts == {"missing": 5, "unconverged": 1, "extra": 1}


def test_compose_unknown_without_false_is_unknown() -> None:
    composed = compose([CheckResult(valid=True), CheckResult(valid="unknown")])

    assert composed.valid == "unknown"


def test_compose_concatenates_examples_in_order_up_to_the_limit() -> None:
    first = CheckResult(
        valid=False,
        counts={"missing": 3},
        examples={"missing": [{"key": "a"}, {"key": "b"}, {"key": "c"}]},
    )
    second = CheckResult(
        valid=False,
        counts={"missing": 2, "extra": 1},
        examples={"missing": [{"key": "d"}, {"key": "e"}], "extra": [{"key": "x"}]},
    )

    composed = compose([first, second], max_examples=4)

    assert composed.examples == {
        "missing": [{"key": "a"}, {"key": "b"}, {"key": "c"}, {"key": "d"}],
        "extra": [{"key": "x"}],
    }
    assert composed.counts == {"missing": 5, "extra": 1}


def test_each_anomaly_carries_when_its_entity_s_last_change_was_committed() -> None:
    """For placing anomalies among a run's faults; an extra entity has no commit."""
    changes = [replace(c, acked_ns=c.version * 10) for c in ledger_of(history("1", 4))]
    snapshot = {(TABLE, "1"): 3, (TABLE, "9"): 1}

    result = judge_state(changes, snapshot, converged=True)

    assert result.counts == {"stale": 1, "extra": 1}
    assert result.committed_ns == {"stale": [40]}
