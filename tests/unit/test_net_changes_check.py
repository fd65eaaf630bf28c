"""A net-change feed (change tracking: per poll one event per changed key at its latest state)
is judged by its own rule: skipped versions are no anomaly; going backwards, copies, versions
never committed, unknown keys, deleted rows shown again and keys whose final state never
showed are, each class found with its exact count when injected into a correct feed."""

import itertools
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness import evaluation
from harness.check.events import check_net_changes
from harness.check.inject import (
    NET_CHANGE_INJECTORS,
    Log,
    add_aborted_events,
    add_unknown_events,
    drop_final_events,
    drop_keys,
    duplicate_events,
    net_log,
    resurrect_deleted,
    swap_events,
)
from harness.check.projection import check_projection
from harness.check.protocol import CONVERGED
from harness.check.result import CheckResult
from harness.errors import UserError
from harness.load.ledger import ABORTED, COMMITTED, Change, final_state, ledger_writer
from harness.observe.base import Observation
from harness.patterns import Projection, discover
from harness.patterns.descriptor import DESCRIPTOR, Hop
from harness.records import RecordWriter
from harness.report.results import PatternResult, ProjectionResult
from harness.run_files import PatternFiles
from harness.scenario import CheckSpec
from tests.unit.synthetic import (
    evidence,
    inject_two_at_their_most,
    inject_until_exhausted,
    synthetic_ledger,
)

CHANGES = synthetic_ledger()
FINAL = final_state(CHANGES)
LAST = {e: c.version for e, c in FINAL.items()}
LOG = net_log(CHANGES, "feed", seed=3)
LAG_LIKE = {"missing", "stale"}
TABLE = "widgets"

Named = set[tuple[str, str, int]]

counts_and_convergence = pytest.mark.parametrize(
    ("n", "converged"), [(1, True), (3, True), (7, True), (1, False), (7, False)]
)


def judge_net(
    changes: Sequence[Change], log: Sequence[Observation], converged: bool, **kw: Any
) -> CheckResult:
    return check_net_changes(evidence(changes, log, converged=converged, **kw))


def named(events: Log) -> Named:
    return {(o.table, o.key, o.version) for o in events}


def dropped(corrupted: Log) -> Log:
    return list((Counter(LOG) - Counter(corrupted)).elements())


def added(corrupted: Log) -> Log:
    return list((Counter(corrupted) - Counter(LOG)).elements())


def check_exactly(
    kind: str, corrupted: Log, n: int, converged: bool, expected: Named
) -> CheckResult:
    """check_net_changes finds n of `kind`, nothing else, and names exactly `expected`."""
    result = judge_net(CHANGES, corrupted, converged=converged, max_examples=10)
    assert result.counts == {kind: n, **({} if converged else {"unconverged": 1})}
    assert result.valid == (False if converged or kind not in LAG_LIKE else "unknown")
    assert {
        (case["table"], case["key"], case["version"]) for case in result.examples[kind]
    } == expected
    return result


# A small feed, placed by hand


def change(key: str, version: int, op: str = "", status: str = COMMITTED) -> Change:
    op = op or ("insert" if version == 1 else "update")
    digest = "" if op == "delete" else f"{key}@{version}"
    return Change(TABLE, key, version, op, status, 0, 0, version, digest)


def history(key: str, last: int, deleted: bool = False) -> list[Change]:
    """Versions 1..last of `key`; with `deleted`, the last one is its delete (tombstone)."""
    return [change(key, v, "delete" if deleted and v == last else "") for v in range(1, last + 1)]


def feed(*events: tuple[str, int]) -> list[Observation]:
    return [
        Observation("feed", TABLE, key, version, "upsert", 0, str(i))
        for i, (key, version) in enumerate(events)
    ]


def test_skipped_versions_are_no_anomaly_only_the_final_state_counts() -> None:
    changes = [*history("1", 5), *history("2", 3, deleted=True)]

    result = judge_net(changes, feed(("1", 2), ("2", 3), ("1", 5)), converged=True)

    assert (result.valid, result.counts) == (True, {})


def test_going_backwards_is_out_of_order_and_a_copy_is_a_duplicate() -> None:
    result = judge_net(history("1", 5), feed(("1", 3), ("1", 2), ("1", 5), ("1", 5)), True)

    assert result.counts == {"out_of_order": 1, "duplicate": 1}
    assert result.examples["out_of_order"] == [
        {"table": TABLE, "key": "1", "version": 2, "position": "1", "after": 3}
    ]


def test_a_row_shown_after_its_delete_is_resurrected_a_copy_of_the_delete_a_duplicate() -> None:
    result = judge_net(
        history("1", 3, deleted=True), feed(("1", 1), ("1", 3), ("1", 3), ("1", 1)), True
    )

    assert result.counts == {"duplicate": 1, "resurrected": 1}
    assert result.examples["resurrected"] == [
        {"table": TABLE, "key": "1", "version": 1, "position": "3", "after": 3}
    ]


def test_a_final_state_never_shown_is_stale_or_missing_unknown_until_converged() -> None:
    changes = [*history("1", 4), *history("2", 2), *history("3", 3, deleted=True)]
    shown = feed(("1", 2), ("3", 2))

    lagging = judge_net(changes, shown, converged=False)
    converged = judge_net(changes, shown, converged=True)
    settled = judge_net(changes, shown, converged=False, settled=True)

    assert (lagging.valid, lagging.counts) == (
        "unknown",
        {"stale": 2, "missing": 1, "unconverged": 1},
    )
    assert converged.valid is False and settled.valid is False
    assert converged.examples == {
        "stale": [
            {"table": TABLE, "key": "1", "version": 4, "newest_seen": 2},
            {"table": TABLE, "key": "3", "version": 3, "newest_seen": 2},
        ],
        "missing": [{"table": TABLE, "key": "2", "version": 2}],
    }


def test_uncommitted_versions_are_phantom_and_unknown_keys_extra() -> None:
    changes = [*history("1", 2), change("1", 3, status=ABORTED), change("2", 1, status=ABORTED)]
    rolled_back = Observation("feed", TABLE, "1", 2, "upsert", 0, "r", "", 3)

    result = judge_net(
        changes, [*feed(("1", 2), ("1", 3), ("2", 1), ("9", 1)), rolled_back], converged=True
    )

    assert result.counts == {"phantom": 3, "extra": 1}


def test_the_feed_picks_the_checker() -> None:
    changes, shown = history("1", 3), feed(("1", 1), ("1", 3))

    assert check_projection("event_log", "every_change", evidence(changes, shown)).counts == {
        "gap": 1
    }
    assert check_projection("event_log", "net_changes", evidence(changes, shown)).valid is True


def test_only_an_event_log_takes_a_net_change_feed(tmp_path: Path) -> None:
    projection = "{kind: %s, observer: o, resources: {}, feed: net_changes, hop: {via: v}}"
    for kind in ("event_log", "state"):
        (tmp_path / kind).mkdir()
        (tmp_path / kind / DESCRIPTOR).write_text(
            f"summary: x\nprojections: {{a: {projection % kind}}}\n"
        )

    with pytest.raises(UserError, match="feed net_changes is for kind event_log, not state"):
        discover(tmp_path)
    (tmp_path / "state" / DESCRIPTOR).unlink()
    assert discover(tmp_path)["event_log"].projections[0].feed == "net_changes"


def test_a_run_takes_the_feed_from_the_descriptor_and_counts_skipped_versions_as_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = PatternFiles(tmp_path / "poller")
    with ledger_writer(files.ledger) as ledger:
        for c in history("1", 3):
            ledger.append(c)
    with RecordWriter(files.observations("feed"), Observation) as observations:
        for o in feed(("1", 1), ("1", 3)):
            observations.append(o)
    described = Projection(
        name="feed",
        kind="event_log",
        observer="o",
        resources={},
        feed="net_changes",
        hop=Hop(via="a change-tracking publisher"),
    )
    monkeypatch.setattr(
        evaluation, "patterns", lambda: {"poller": SimpleNamespace(projections=(described,))}
    )
    recorded = ProjectionResult(
        kind="event_log", observer="o", floor_ms=0, observed=2, convergence=CONVERGED
    )
    result = PatternResult(summary="x", projections={"feed": recorded})

    evaluation.evaluate("poller", result, files, CheckSpec(), 1.0, {}, emulated=False)

    assert recorded.feed == "net_changes"
    assert (recorded.check.valid, recorded.check.counts) == (True, {})
    assert recorded.lag is not None
    assert (recorded.lag.seen, recorded.lag.unseen, recorded.lag.superseded) == (3, 0, 1)


def test_results_from_before_feeds_read_as_every_change() -> None:
    old = {"kind": "event_log", "observer": "o", "floor_ms": 0, "observed": 0}

    assert ProjectionResult.model_validate(old).feed == "every_change"


# Injected into a correct feed


def test_a_correct_feed_skips_versions_and_is_valid() -> None:
    shown = named(LOG)
    assert len(LOG) < sum(c.status == COMMITTED for c in CHANGES)
    assert all((t, k, v) in shown for (t, k), v in LAST.items())

    converged = judge_net(CHANGES, LOG, converged=True)
    lagging = judge_net(CHANGES, LOG, converged=False)

    assert (converged.valid, converged.counts) == (True, {})
    assert (lagging.valid, lagging.counts) == (True, {"unconverged": 1})


@counts_and_convergence
def test_inject_missing_by_dropping_every_event_of_keys(n: int, converged: bool) -> None:
    corrupted = drop_keys(CHANGES, LOG, n, seed=n)
    keys = {o.entity for o in dropped(corrupted)}

    check_exactly("missing", corrupted, n, converged, {(t, k, LAST[t, k]) for t, k in keys})

    assert not keys & {o.entity for o in corrupted}


@counts_and_convergence
def test_inject_stale_by_dropping_final_events(n: int, converged: bool) -> None:
    corrupted = drop_final_events(CHANGES, LOG, n, seed=n)

    result = check_exactly("stale", corrupted, n, converged, named(dropped(corrupted)))

    assert all(case["newest_seen"] < case["version"] for case in result.examples["stale"])


@counts_and_convergence
def test_inject_resurrected_by_showing_deleted_rows_again(n: int, converged: bool) -> None:
    corrupted = resurrect_deleted(CHANGES, LOG, n, seed=n)

    check_exactly("resurrected", corrupted, n, converged, named(added(corrupted)))

    assert all(FINAL[o.entity].op == "delete" for o in added(corrupted))


@counts_and_convergence
def test_inject_duplicate_by_delivering_events_twice(n: int, converged: bool) -> None:
    corrupted = duplicate_events(CHANGES, LOG, n, seed=n)

    check_exactly("duplicate", corrupted, n, converged, named(added(corrupted)))


@counts_and_convergence
def test_inject_out_of_order_by_swapping_a_keys_events(n: int, converged: bool) -> None:
    corrupted = swap_events(CHANGES, LOG, n, seed=n)
    lowered = [new for new, old in zip(corrupted, LOG, strict=True) if new.version < old.version]

    check_exactly("out_of_order", corrupted, n, converged, named(lowered))


@counts_and_convergence
def test_inject_phantom_by_adding_aborted_changes(n: int, converged: bool) -> None:
    corrupted = add_aborted_events(CHANGES, LOG, n, seed=n)

    check_exactly("phantom", corrupted, n, converged, named(added(corrupted)))


@counts_and_convergence
def test_inject_extra_by_adding_unknown_keys(n: int, converged: bool) -> None:
    corrupted = add_unknown_events(CHANGES, LOG, n, seed=n)

    check_exactly("extra", corrupted, n, converged, named(added(corrupted)))


@pytest.mark.parametrize(("first", "second"), list(itertools.permutations(NET_CHANGE_INJECTORS, 2)))
def test_inject_two_classes_counts_both(first: str, second: str) -> None:
    once = NET_CHANGE_INJECTORS[first](CHANGES, LOG, 3, 1)
    twice = NET_CHANGE_INJECTORS[second](CHANGES, once, 2, 2)

    assert judge_net(CHANGES, twice, converged=True).counts == {first: 3, second: 2}


def test_inject_every_class_at_once() -> None:
    log = LOG
    for seed, kind in enumerate(NET_CHANGE_INJECTORS, start=1):
        log = NET_CHANGE_INJECTORS[kind](CHANGES, log, seed, seed)

    result = judge_net(CHANGES, log, converged=True)

    assert result.counts == {kind: seed for seed, kind in enumerate(NET_CHANGE_INJECTORS, start=1)}


@pytest.mark.parametrize("kind", NET_CHANGE_INJECTORS)
def test_inject_is_deterministic_and_leaves_its_input_alone(kind: str) -> None:
    inject = NET_CHANGE_INJECTORS[kind]

    assert inject(CHANGES, LOG, 5, 3) == inject(CHANGES, LOG, 5, 3)
    assert net_log(CHANGES, "feed", seed=3) == LOG


@pytest.mark.parametrize("kind", sorted(set(NET_CHANGE_INJECTORS) - {"extra"}))
def test_inject_more_than_there_are_candidates_raises(kind: str) -> None:
    with pytest.raises(ValueError, match="candidates"):
        NET_CHANGE_INJECTORS[kind](CHANGES, LOG, len(LOG) + 1, 0)


def test_inject_every_class_again_and_again_until_candidates_run_out() -> None:
    active, expected = inject_until_exhausted(NET_CHANGE_INJECTORS, judge_net, CHANGES, LOG)

    assert active == {"extra"}
    assert all(expected[kind] >= 8 for kind in NET_CHANGE_INJECTORS)


@pytest.mark.parametrize(("first", "second"), list(itertools.permutations(NET_CHANGE_INJECTORS, 2)))
def test_inject_two_classes_each_at_its_most(first: str, second: str) -> None:
    result, n, m = inject_two_at_their_most(
        NET_CHANGE_INJECTORS, judge_net, CHANGES, LOG, first, second
    )

    assert n > 0
    assert result.counts == {first: n, **({second: m} if m else {})}
