"""Corrupt a correct projection on purpose, to prove the checkers find each anomaly class.

Every injector takes the ledger, a projection (a state snapshot or an event log), a
count n and a seed, and returns a corrupted copy holding exactly n more anomalies of
the class it is filed under in `STATE_INJECTORS` / `EVENT_INJECTORS` /
`NET_CHANGE_INJECTORS` and no other change in what the checker reports: it only touches
rows or events that are correct, where the change leaves every other row or event
classified as before, picked with `random.Random(seed)`. It raises ValueError when there
are fewer than n such candidates. Injected events copy their other fields from an event of
the log.
"""

import itertools
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import TypeVar

from harness.load.ledger import COMMITTED, Change, Entity, final_state
from harness.observe.base import Observation

T = TypeVar("T")
Snapshot = dict[Entity, int]
Log = list[Observation]
StateInjector = Callable[[Sequence[Change], Snapshot, int, int], Snapshot]
EventInjector = Callable[[Sequence[Change], Log, int, int], Log]


def perfect_snapshot(changes: Sequence[Change]) -> Snapshot:
    """What a correct state projection shows once converged: every live row's version."""
    return {e: c.version for e, c in final_state(changes).items() if c.op != "delete"}


def perfect_log(changes: Sequence[Change], projection: str = "log") -> Log:
    """What a correct event log holds: one event per committed change, in ledger order,
    except that each key's events are in version order (its commit order: a ledger in
    acknowledgement order may list a key's version before the one it follows, see
    `Change.acked_ns`): each key's changes fill its places in the ledger by version."""
    ledger = [c for c in changes if c.status == COMMITTED]
    by_entity: dict[Entity, list[Change]] = {}
    for c in ledger:
        by_entity.setdefault(c.entity, []).append(c)
    in_version_order = {e: iter(sorted(cs, key=lambda c: c.version)) for e, cs in by_entity.items()}
    committed = (next(in_version_order[c.entity]) for c in ledger)
    return [
        Observation(
            projection=projection,
            table=c.table,
            key=c.key,
            version=c.version,
            op="delete" if c.op == "delete" else "upsert",
            seen_ns=c.acked_ns,
            position=str(i),
            digest=c.digest,
        )
        for i, c in enumerate(committed)
    ]


def net_log(changes: Sequence[Change], projection: str = "log", seed: int = 0) -> Log:
    """What a correct net-change feed may hold: `perfect_log` without about half of each
    key's events before its last committed change (picked with `random.Random(seed)`)."""
    rng = random.Random(seed)
    last = _last_versions(changes)
    return [
        o
        for o in perfect_log(changes, projection)
        if o.version == last[o.entity] or rng.random() < 0.5
    ]


def _pick(candidates: list[T], n: int, rng: random.Random, what: str) -> list[T]:
    if len(candidates) < n:
        raise ValueError(f"asked for {n} {what}, only {len(candidates)} candidates")
    return rng.sample(candidates, n)


def _fresh_entities(changes: Sequence[Change], taken: Iterable[Entity], n: int) -> list[Entity]:
    """n entities of the ledger's tables that neither the ledger nor `taken` has."""
    tables = sorted({c.table for c in changes})
    if not tables:
        raise ValueError("the ledger has no table to add entities to")
    used = {c.entity for c in changes} | set(taken)
    fresh = ((tables[i % len(tables)], f"injected-{i}") for i in itertools.count())
    return list(itertools.islice((e for e in fresh if e not in used), n))


# State projections


def _correct_live_rows(changes: Sequence[Change], snapshot: Snapshot) -> list[Change]:
    """The last change of every live row the snapshot shows at its last version."""
    return [
        c
        for e, c in final_state(changes).items()
        if c.op != "delete" and snapshot.get(e) == c.version
    ]


def _row_versions(changes: Sequence[Change]) -> dict[Entity, list[int]]:
    """Committed versions that were rows (not delete tombstones), per entity."""
    rows: dict[Entity, list[int]] = {}
    for c in changes:
        if c.status == COMMITTED and c.op != "delete":
            rows.setdefault(c.entity, []).append(c.version)
    return rows


def drop_rows(changes: Sequence[Change], snapshot: Snapshot, n: int, seed: int = 0) -> Snapshot:
    """Remove n live rows: missing."""
    out = dict(snapshot)
    for c in _pick(_correct_live_rows(changes, snapshot), n, random.Random(seed), "rows to drop"):
        del out[c.entity]
    return out


def roll_back_rows(
    changes: Sequence[Change], snapshot: Snapshot, n: int, seed: int = 0
) -> Snapshot:
    """Show n live rows at an older committed version: stale."""
    rng = random.Random(seed)
    rows = _row_versions(changes)
    candidates = [
        c for c in _correct_live_rows(changes, snapshot) if min(rows[c.entity]) < c.version
    ]
    out = dict(snapshot)
    for c in _pick(candidates, n, rng, "rows to roll back"):
        out[c.entity] = rng.choice([v for v in rows[c.entity] if v < c.version])
    return out


def resurrect_rows(
    changes: Sequence[Change], snapshot: Snapshot, n: int, seed: int = 0
) -> Snapshot:
    """Show n deleted rows again, at a committed version from before the delete: resurrected."""
    rng = random.Random(seed)
    rows = _row_versions(changes)
    candidates = [
        e
        for e, c in final_state(changes).items()
        if c.op == "delete" and e not in snapshot and e in rows
    ]
    out = dict(snapshot)
    for e in _pick(candidates, n, rng, "deleted rows to resurrect"):
        out[e] = rng.choice(rows[e])
    return out


def add_extra_rows(
    changes: Sequence[Change], snapshot: Snapshot, n: int, seed: int = 0
) -> Snapshot:
    """Add n rows of keys the source never had: extra."""
    rng = random.Random(seed)
    out = dict(snapshot)
    for e in _fresh_entities(changes, snapshot, n):
        out[e] = rng.randint(1, 3)
    return out


def set_phantom_versions(
    changes: Sequence[Change], snapshot: Snapshot, n: int, seed: int = 0
) -> Snapshot:
    """Show n live rows at a version past their last committed one: phantom."""
    rng = random.Random(seed)
    out = dict(snapshot)
    for c in _pick(_correct_live_rows(changes, snapshot), n, rng, "rows to advance"):
        out[c.entity] = c.version + rng.randint(1, 3)
    return out


STATE_INJECTORS: dict[str, StateInjector] = {
    "missing": drop_rows,
    "stale": roll_back_rows,
    "resurrected": resurrect_rows,
    "extra": add_extra_rows,
    "phantom": set_phantom_versions,
}


# Event logs


def _last_versions(changes: Sequence[Change]) -> dict[Entity, int]:
    return {e: c.version for e, c in final_state(changes).items()}


def _sequences(changes: Sequence[Change], log: Log) -> dict[Entity, list[tuple[int, int, bool]]]:
    """Per entity, its events of committed versions in log order as (index, version, clean):
    clean when every earlier one of the entity is lower and every later one higher."""
    last = _last_versions(changes)
    events: dict[Entity, list[tuple[int, int]]] = {}
    for i, o in enumerate(log):
        if 0 < o.version <= last.get(o.entity, 0):
            events.setdefault(o.entity, []).append((i, o.version))
    sequences = {}
    for e, seq in events.items():
        below = [0] * len(seq)
        for j in range(1, len(seq)):
            below[j] = max(below[j - 1], seq[j - 1][1])
        above = float("inf")
        clean = [False] * len(seq)
        for j in range(len(seq) - 1, -1, -1):
            clean[j] = below[j] < seq[j][1] < above
            above = min(above, seq[j][1])
        sequences[e] = [(i, v, ok) for (i, v), ok in zip(seq, clean, strict=True)]
    return sequences


def _deletes(changes: Sequence[Change]) -> set[tuple[Entity, int]]:
    """(entity, tombstone) of every committed delete."""
    return {(c.entity, c.version) for c in changes if c.status == COMMITTED and c.op == "delete"}


def _model(log: Log, rng: random.Random) -> Observation:
    """An event of the log for an injected one to copy its other fields from."""
    if not log:
        raise ValueError("an empty log has no event to model injected ones on")
    return rng.choice(log)


def _without(log: Log, indices: list[int]) -> Log:
    drop = set(indices)
    return [o for i, o in enumerate(log) if i not in drop]


def _after(log: Log, added: dict[int, Observation]) -> Log:
    """`log` with each event of `added` right after the event at its index."""
    return [copy for i, o in enumerate(log) for copy in ((o, added[i]) if i in added else (o,))]


def _with(log: Log, added: list[Observation], rng: random.Random) -> Log:
    """`log` with `added` inserted at random places."""
    places = sorted((rng.randint(0, len(log)), j) for j in range(len(added)))
    out: Log = []
    start = 0
    for at, j in places:
        out.extend(log[start:at])
        out.append(added[j])
        start = at
    out.extend(log[start:])
    return out


def drop_last_version(changes: Sequence[Change], log: Log, n: int, seed: int = 0) -> Log:
    """Remove the event of n keys' last committed version: missing. Only where the version
    before it is in the log, so no skipped version turns from gap to missing."""
    last = _last_versions(changes)
    candidates = []
    for e, seq in _sequences(changes, log).items():
        seen = {v for _, v, _ in seq}
        candidates += [i for i, v, ok in seq if ok and v == last[e] and (v == 1 or v - 1 in seen)]
    return _without(log, _pick(candidates, n, random.Random(seed), "last versions to drop"))


def drop_middle_version(changes: Sequence[Change], log: Log, n: int, seed: int = 0) -> Log:
    """Remove n events of versions below the newest one of their key in the log: gap."""
    candidates = []
    for seq in _sequences(changes, log).values():
        newest = max(v for _, v, _ in seq)
        candidates += [i for i, v, ok in seq if ok and v < newest]
    return _without(log, _pick(candidates, n, random.Random(seed), "middle versions to drop"))


def duplicate_events(changes: Sequence[Change], log: Log, n: int, seed: int = 0) -> Log:
    """Deliver n events twice, the copy right after the original: duplicate."""
    candidates = [i for seq in _sequences(changes, log).values() for i, _, ok in seq if ok]
    twice = _pick(candidates, n, random.Random(seed), "events to duplicate")
    return _after(log, {i: log[i] for i in twice})


def swap_events(changes: Sequence[Change], log: Log, n: int, seed: int = 0) -> Log:
    """Swap n pairs of one key's consecutive events: out_of_order (the lower of each pair).
    Never a delete with the row version before it (in a net-change feed: resurrected)."""
    deletes = _deletes(changes)
    pairs = []
    for e, seq in _sequences(changes, log).items():
        j = 0
        while j + 1 < len(seq):
            if seq[j][2] and seq[j + 1][2] and (e, seq[j + 1][1]) not in deletes:
                pairs.append((seq[j][0], seq[j + 1][0]))
                j += 2
            else:
                j += 1
    out = list(log)
    for a, b in _pick(pairs, n, random.Random(seed), "event pairs to swap"):
        out[a], out[b] = log[b], log[a]
    return out


def add_aborted_events(changes: Sequence[Change], log: Log, n: int, seed: int = 0) -> Log:
    """Add events of n aborted changes whose version was never committed (and that the log
    does not show yet): phantom."""
    rng = random.Random(seed)
    last = _last_versions(changes)
    shown = {(o.table, o.key, o.version) for o in log}
    aborted = [
        c
        for c in changes
        if c.status != COMMITTED
        and c.version > last.get(c.entity, 0)
        and (c.table, c.key, c.version) not in shown
    ]
    added = [
        replace(
            _model(log, rng),
            table=c.table,
            key=c.key,
            version=c.version,
            op="delete" if c.op == "delete" else "upsert",
            position="injected",
        )
        for c in _pick(aborted, n, rng, "aborted changes to show")
    ]
    return _with(log, added, rng)


def add_unknown_events(changes: Sequence[Change], log: Log, n: int, seed: int = 0) -> Log:
    """Add one event each of n keys the source never had: extra."""
    rng = random.Random(seed)
    added = [
        replace(_model(log, rng), table=t, key=k, version=1, op="upsert", position="injected")
        for t, k in _fresh_entities(changes, (o.entity for o in log), n)
    ]
    return _with(log, added, rng)


EVENT_INJECTORS: dict[str, EventInjector] = {
    "missing": drop_last_version,
    "gap": drop_middle_version,
    "duplicate": duplicate_events,
    "out_of_order": swap_events,
    "phantom": add_aborted_events,
    "extra": add_unknown_events,
}


# Net-change feeds


def _final_events(
    changes: Sequence[Change], log: Log
) -> dict[Entity, tuple[int, list[tuple[int, int, bool]]]]:
    """Per key whose last committed version the log shows as a clean event: that event's
    index, and the key's `_sequences`."""
    last = _last_versions(changes)
    finals = {}
    for e, seq in _sequences(changes, log).items():
        final = [i for i, v, ok in seq if ok and v == last[e]]
        if final:
            finals[e] = (final[0], seq)
    return finals


def drop_keys(changes: Sequence[Change], log: Log, n: int, seed: int = 0) -> Log:
    """Remove every event of n keys whose events are all clean: missing."""
    candidates = [
        seq for _, seq in _final_events(changes, log).values() if all(ok for _, _, ok in seq)
    ]
    keys = _pick(candidates, n, random.Random(seed), "keys to drop")
    return _without(log, [i for seq in keys for i, _, _ in seq])


def drop_final_events(changes: Sequence[Change], log: Log, n: int, seed: int = 0) -> Log:
    """Remove the event of n keys' last committed version where an older one of the key is
    in the log: stale."""
    candidates = [i for i, seq in _final_events(changes, log).values() if len(seq) > 1]
    return _without(log, _pick(candidates, n, random.Random(seed), "final events to drop"))


def resurrect_deleted(changes: Sequence[Change], log: Log, n: int, seed: int = 0) -> Log:
    """Show n deleted rows again, at a committed version from before the delete, right
    after the delete's event: resurrected."""
    rng = random.Random(seed)
    rows, deletes = _row_versions(changes), _deletes(changes)
    candidates = [
        i
        for e, (i, _) in _final_events(changes, log).items()
        if e in rows and (e, log[i].version) in deletes
    ]
    added = {}
    for i in _pick(candidates, n, rng, "deleted rows to resurrect"):
        version = rng.choice(rows[log[i].entity])
        added[i] = replace(log[i], version=version, op="upsert", position="injected")
    return _after(log, added)


NET_CHANGE_INJECTORS: dict[str, EventInjector] = {
    "missing": drop_keys,
    "stale": drop_final_events,
    "resurrected": resurrect_deleted,
    "duplicate": duplicate_events,
    "out_of_order": swap_events,
    "phantom": add_aborted_events,
    "extra": add_unknown_events,
}


# Row images (any projection's observations)


def corrupt_images(changes: Sequence[Change], log: Log, n: int, seed: int = 0) -> Log:
    """Give one observation each of n committed row versions, all of whose observations
    show the ledger's image, another image digest: divergent."""
    rng = random.Random(seed)
    images = {
        (c.table, c.key, c.version): c.digest
        for c in changes
        if c.status == COMMITTED and c.op != "delete"
    }
    shown: dict[tuple[str, str, int], list[int]] = {}
    wrong: set[tuple[str, str, int]] = set()
    for i, o in enumerate(log):
        version = (o.table, o.key, o.version)
        if o.digest and version in images:
            if o.digest == images[version]:
                shown.setdefault(version, []).append(i)
            else:
                wrong.add(version)
    candidates = sorted(v for v in shown if v not in wrong)
    out = list(log)
    for version in _pick(candidates, n, rng, "row versions to corrupt"):
        i = rng.choice(shown[version])
        out[i] = replace(log[i], digest=f"{rng.getrandbits(64):016x}")
    return out
