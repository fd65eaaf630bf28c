"""A small synthetic ledger following the ledger's version rules, and the checkers called
on a ledger and a projection given as plain data, for the checker tests."""

import random
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from harness.check.divergent import check_divergent
from harness.check.events import check_events
from harness.check.protocol import Convergence, Evidence
from harness.check.result import CheckResult
from harness.check.state import check_state
from harness.load.ledger import ABORTED, COMMITTED, Change, Entity
from harness.observe.base import Observation, SnapshotRow

TABLES = ("widgets", "gadgets")


def synthetic_ledger(changes: int = 400, seed: int = 7) -> list[Change]:
    """`changes` changes over two tables: 20 keys inserted first, then inserts of new keys
    (ids from a per-table sequence; a deleted row comes back only under a new key),
    updates and deletes of live keys, one in eight aborted. An aborted change takes the
    version the key's next committed change then takes; an aborted insert burns its id."""
    rng = random.Random(seed)
    next_id = dict.fromkeys(TABLES, 1)
    live: dict[tuple[str, str], int] = {}
    ledger: list[Change] = []
    while len(ledger) < changes:
        early = len(ledger) < 20
        op = (
            "insert"
            if early or not live
            else rng.choices(("insert", "update", "delete"), (1, 12, 1))[0]
        )
        if op == "insert":
            table = TABLES[len(ledger) % 2] if early else rng.choice(TABLES)
            entity, version = (table, str(next_id[table])), 1
            next_id[table] += 1
        else:
            entity = rng.choice(sorted(live))
            version = live[entity] + 1
        status = ABORTED if not early and rng.random() < 1 / 8 else COMMITTED
        t = 1_000_000 * len(ledger)
        ledger.append(
            Change(
                table=entity[0],
                key=entity[1],
                version=version,
                op=op,
                status=status,
                intended_ns=t,
                acked_ns=t + rng.randrange(100_000, 900_000),
                txid=len(ledger) + 1,
                digest="" if op == "delete" else f"{entity[0]}/{entity[1]}@{version}",
            )
        )
        if status == COMMITTED:
            if op == "delete":
                del live[entity]
            else:
                live[entity] = version
    return ledger


def evidence(
    changes: Sequence[Change],
    observations: Sequence[Observation] = (),
    snapshot: dict[Entity, int] | None = None,
    converged: bool = True,
    max_examples: int = 5,
    settled: bool = False,
) -> Evidence:
    """Evidence of a projection: its log, or its snapshot as entity -> version (rows without
    an image digest)."""
    rows = None
    if snapshot is not None:
        rows = [SnapshotRow(t, k, v, "", tombstone=False) for (t, k), v in snapshot.items()]
    reached = Convergence(converged=converged, settled=settled, seconds=0.0)
    return Evidence(changes, observations, rows, reached, max_examples)


def judge_state(
    changes: Sequence[Change], snapshot: dict[Entity, int], converged: bool, **kw: Any
) -> CheckResult:
    return check_state(evidence(changes, snapshot=snapshot, converged=converged, **kw))


def judge_events(
    changes: Sequence[Change], log: Sequence[Observation], converged: bool, **kw: Any
) -> CheckResult:
    return check_events(evidence(changes, log, converged=converged, **kw))


def judge_divergent(
    changes: Sequence[Change], log: Sequence[Observation], max_examples: int = 5
) -> CheckResult:
    return check_divergent(evidence(changes, log, max_examples=max_examples))


Injector = Callable[[Sequence[Change], Any, int, int], Any]
Check = Callable[..., CheckResult]


def most(inject: Injector, changes: Sequence[Change], projection: Any) -> int:
    """The largest count `inject` can put into `projection` (at most one per change)."""
    low, high = 0, len(changes)
    while low < high:
        mid = (low + high + 1) // 2
        try:
            inject(changes, projection, mid, 0)
        except ValueError:
            high = mid - 1
        else:
            low = mid
    return low


def inject_until_exhausted(
    injectors: dict[str, Injector], check: Check, changes: Sequence[Change], projection: Any
) -> tuple[set[str], Counter[str]]:
    """Inject 2 of every class in turn, asserting the exact counts after each step, until
    only `extra` has candidates left: (classes left, counts injected)."""
    expected = Counter[str]()
    active = dict(injectors)
    for seed in range(len(changes)):
        for kind, inject in list(active.items()):
            try:
                projection = inject(changes, projection, 2, seed)
            except ValueError:
                del active[kind]
                continue
            expected[kind] += 2
            assert check(changes, projection, converged=True).counts == expected
        if set(active) <= {"extra"}:
            break
    return set(active), expected


def inject_two_at_their_most(
    injectors: dict[str, Injector],
    check: Check,
    changes: Sequence[Change],
    projection: Any,
    first: str,
    second: str,
) -> tuple[CheckResult, int, int]:
    """As many of `first` as fit, then as many of `second`: (check result, n, m)."""
    n = most(injectors[first], changes, projection)
    once = injectors[first](changes, projection, n, 1)
    m = most(injectors[second], changes, once)
    twice = injectors[second](changes, once, m, 2)
    return check(changes, twice, converged=True), n, m
