"""Compare an event-log projection (an S3 event store, a Kafka topic, a Kinesis stream)
with the ledger: every committed change should appear exactly once, in per-key
version order.

The observation list order is the log order. Every observation is placed once:
extra (an entity the source never had), phantom (a version never committed: past
the key's last, of an entity only ever written by aborted transactions, or from a
transaction the projection names and the ledger has rolled back),
duplicate (a committed change already seen: each copy after the first, wherever it
is), out_of_order (the first sighting of a committed change after a higher version
of its key). Every committed change never observed is placed once too: gap if the
log shows a later version of its key (skipped: it cannot arrive in order any more),
missing otherwise (it may still arrive: lag). Missing makes the result unknown if
the log had neither converged nor settled, false if it had; every other class is
wrong whatever the lag. Extra, phantom, duplicate and out_of_order count observations; missing and
gap count committed changes.

An event store (`check_event_store`) is judged the same way with each key's events taken in
version order: its readers sort it, so arrival order is not an anomaly (nor a gap).

A net-change feed (`check_net_changes`: change tracking, per poll one event per changed key
at its latest state) may skip a key's intermediate versions: no gap. Each observation is
placed once: extra and phantom as above, then resurrected (a row version after its key's
delete, the newest version shown of it: a reader would recreate the deleted row), duplicate
(a version already shown), out_of_order (a first sighting below the newest version shown).
Each key's final committed change (a delete's: its tombstone) never shown is missing if
nothing of the key was shown, stale if an older version was; both may be lag, as missing
above. Resurrected, duplicate and out_of_order count observations; missing and stale keys.
"""

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from harness.check.protocol import Evidence
from harness.check.result import CheckResult, judge
from harness.load.ledger import COMMITTED, Change, Entity, Ledger
from harness.observe.base import Observation, Observations

_LAG_LIKE = frozenset({"missing"})
_NET_LAG_LIKE = frozenset({"missing", "stale"})


class _Findings:
    """Counts per class, with the first `limit` cases of each and when the change of each
    was committed (of `changes`, a committed one before one rolled back)."""

    def __init__(self, limit: int, changes: Sequence[Change]) -> None:
        self.limit = limit
        self.counts: dict[str, int] = {}
        self.examples: dict[str, list[dict[str, Any]]] = {}
        self.committed_ns: dict[str, list[int]] = {}
        self._when = {
            (c.table, c.key, c.version): c.acked_ns
            for c in sorted(changes, key=lambda c: c.status == COMMITTED)
        }

    def add(self, kind: str, table: str, key: str, version: int, **detail: Any) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        cases = self.examples.setdefault(kind, [])
        if len(cases) < self.limit:
            cases.append({"table": table, "key": key, "version": version, **detail})
        when = self._when.get((table, key, version))
        if when is not None:
            self.committed_ns.setdefault(kind, []).append(when)


def check_events(evidence: Evidence) -> CheckResult:
    """`evidence.observations`: what the log holds, in log order (by position within it). A
    log that settled stopped growing past its floor without converging (see `judge`)."""
    return _check_log(evidence, Observations.of(evidence.observations))


def _check_log(
    evidence: Evidence, log: Observations, order: np.ndarray | None = None
) -> CheckResult:
    """`check_events` of the log, taken in `order` (indices of its observations) if given."""
    ledger = Ledger.of(evidence.changes)
    entity, version = ledger.entity_of(log), log.numbers("version")
    phantom = ledger.rolled_back_in(log.numbers("txid"))
    if order is not None:
        entity, version, phantom = entity[order], version[order], phantom[order]
    wrong = _out_of_step(ledger, entity, version, phantom)
    shown = np.flatnonzero(np.isin(entity, wrong))
    shown = shown if order is None else order[shown]
    return _judged(evidence, ledger, wrong, log.records(shown), _judge_events, _LAG_LIKE)


def _judged(
    evidence: Evidence,
    ledger: Ledger,
    wrong: np.ndarray,
    shown: Sequence[Observation],
    judge_records: Callable[[Sequence[Change], set[int], Sequence[Observation], _Findings], None],
    lag_like: frozenset[str],
) -> CheckResult:
    """The result once the `wrong` entities (what the log `shown` of them, in order) went
    through the per-record judge; every other entity is right."""
    changes = ledger.records(np.flatnonzero(np.isin(ledger.entity, wrong))) if len(wrong) else []
    found = _Findings(evidence.max_examples, changes)
    if len(wrong):
        judge_records(changes, set(ledger.rolled_back.tolist()), shown, found)
    reached = evidence.convergence
    valid = judge(found.counts, lag_like, reached.converged, reached.settled)
    return CheckResult(
        valid=valid,
        counts=found.counts,
        examples=found.examples,
        committed_ns=found.committed_ns,
    )


def _out_of_step(
    ledger: Ledger, entity: np.ndarray, version: np.ndarray, phantom: np.ndarray
) -> np.ndarray:
    """The entities whose events (of `entity` and `version`, in log order; `phantom`: of a
    rolled-back transaction) are not exactly each committed version once, in version order
    (1, 2, ... the last): those the log shows something wrong of, or lacks something of;
    every other entity is right."""
    order = np.argsort(entity, kind="stable")
    grouped, version = entity[order], version[order]
    first = np.ones(len(grouped), dtype=bool)
    first[1:] = grouped[1:] != grouped[:-1]
    # in step: each entity's first event of version 1, every next one of the version after
    in_step = version == 1
    in_step[1:] = np.where(first[1:], in_step[1:], version[1:] == version[:-1] + 1)
    in_step &= ~phantom[order]
    del order, version
    starts = np.flatnonzero(first)
    shown = grouped[starts]
    step_ok = np.logical_and.reduceat(in_step, starts) if len(starts) else in_step[:0]
    lengths = np.diff(np.append(starts, len(grouped)))
    last = ledger.last
    committed = np.flatnonzero(last >= 0)
    size = max(ledger.entities, int(shown.max(initial=-1)) + 1)
    top = np.zeros(size, dtype=np.int64)
    top[committed] = ledger.numbers("version")[last[committed]]
    count = np.zeros(size, dtype=np.int64)
    count[shown] = lengths
    judged = np.zeros(size, dtype=bool)
    judged[committed] = judged[shown] = True
    good = np.zeros(size, dtype=bool)
    good[committed] = True
    good[shown] &= step_ok
    good &= count == top
    return np.flatnonzero(judged & ~good)


def _judge_events(
    changes: Sequence[Change],
    rolled_back: set[int],
    observations: Sequence[Observation],
    found: _Findings,
) -> None:
    """Place every observation and every committed change as the module says (`changes`
    and `observations`: those of the entities judged, in the ledger's and the log's order;
    `rolled_back`: the transactions the whole ledger rolled back)."""
    keys: dict[Entity, list[int]] = {}
    """entity -> [last committed version, highest of them seen so far in the log]"""
    aborted: set[Entity] = set()
    for change in changes:
        if change.status == COMMITTED:
            entity = (change.table, change.key)
            versions = keys.get(entity)
            if versions is None:
                keys[entity] = [change.version, 0]
            elif change.version > versions[0]:
                versions[0] = change.version
        else:
            aborted.add((change.table, change.key))

    holes: dict[Entity, set[int]] = {}
    """entity -> committed versions below the highest seen, not seen so far"""
    for seen in observations:
        entity = (seen.table, seen.key)
        versions = keys.get(entity)
        version = seen.version
        if seen.txid and seen.txid in rolled_back:
            found.add("phantom", seen.table, seen.key, version, position=seen.position)
            continue
        if versions is None:
            kind = "phantom" if entity in aborted else "extra"
            found.add(kind, seen.table, seen.key, version, position=seen.position)
            continue
        top, high = versions
        if version == high + 1 and version <= top:
            versions[1] = version
        elif not 0 < version <= top:
            found.add("phantom", seen.table, seen.key, version, position=seen.position, last=top)
        elif version > high:
            holes.setdefault(entity, set()).update(range(high + 1, version))
            versions[1] = version
        elif version in holes.get(entity, ()):
            holes[entity].discard(version)
            found.add(
                "out_of_order", seen.table, seen.key, version, position=seen.position, after=high
            )
        else:
            found.add("duplicate", seen.table, seen.key, version, position=seen.position)

    for (table, key), (top, high) in keys.items():
        for version in sorted(holes.get((table, key), ())):
            found.add("gap", table, key, version, newest_seen=high)
        for version in range(high + 1, top + 1):
            found.add("missing", table, key, version)


def check_event_store(evidence: Evidence) -> CheckResult:
    """`check_events` over each key's events in version order (a stable sort keeps copies
    of one change in log order)."""
    log = Observations.of(evidence.observations)
    return _check_log(evidence, log, np.argsort(log.numbers("version"), kind="stable"))


def check_net_changes(evidence: Evidence) -> CheckResult:
    """`evidence.observations`: what the feed holds, in log order."""
    ledger, log = Ledger.of(evidence.changes), Observations.of(evidence.observations)
    entity = ledger.entity_of(log)
    wrong = _not_netted(ledger, entity, log.numbers("version"), log.numbers("txid"))
    shown = log.records(np.flatnonzero(np.isin(entity, wrong)))
    return _judged(evidence, ledger, wrong, shown, _judge_net_changes, _NET_LAG_LIKE)


def _not_netted(
    ledger: Ledger, entity: np.ndarray, version: np.ndarray, txid: np.ndarray
) -> np.ndarray:
    """The entities whose events (of `entity`, `version`, `txid`, in log order) are not
    each a higher committed version than the one before, the last the last committed: those
    the feed shows something wrong of, or lacks something of; every other one is right."""
    order = np.argsort(entity, kind="stable")
    grouped, version = entity[order], version[order]
    first = np.ones(len(grouped), dtype=bool)
    first[1:] = grouped[1:] != grouped[:-1]
    rising = version >= 1
    rising[1:] &= first[1:] | (version[1:] > version[:-1])
    rising &= ~ledger.rolled_back_in(txid)[order]
    starts = np.flatnonzero(first)
    shown = grouped[starts]
    netted = np.logical_and.reduceat(rising, starts) if len(starts) else rising[:0]
    newest = version[np.append(starts[1:], len(grouped))[: len(starts)] - 1]
    last = ledger.last
    committed = np.flatnonzero(last >= 0)
    size = max(ledger.entities, int(shown.max(initial=-1)) + 1)
    top = np.zeros(size, dtype=np.int64)
    top[committed] = ledger.numbers("version")[last[committed]]
    good = np.zeros(size, dtype=bool)
    good[shown] = netted & (newest == top[shown])
    good &= top >= 1
    judged = np.zeros(size, dtype=bool)
    judged[committed] = judged[shown] = True
    return np.flatnonzero(judged & ~good)


def _judge_net_changes(
    changes: Sequence[Change],
    rolled_back: set[int],
    observations: Sequence[Observation],
    found: _Findings,
) -> None:
    """Place every observation and every key's final change as the module says (`changes`
    and `observations`: those of the entities judged, in the ledger's and the feed's order;
    `rolled_back`: the transactions the whole ledger rolled back)."""
    last: dict[Entity, int] = {}
    """entity -> its last committed version"""
    deletes: set[tuple[str, str, int]] = set()
    """(table, key, tombstone) of every committed delete"""
    aborted: set[Entity] = set()
    for change in changes:
        entity = (change.table, change.key)
        if change.status == COMMITTED:
            if change.version > last.get(entity, 0):
                last[entity] = change.version
            if change.op == "delete":
                deletes.add((change.table, change.key, change.version))
        else:
            aborted.add(entity)

    shown: dict[Entity, set[int]] = {}
    """entity -> its committed versions shown so far"""
    newest: dict[Entity, int] = {}
    for seen in observations:
        table, key, version = seen.table, seen.key, seen.version
        entity = (table, key)
        top = last.get(entity)
        if seen.txid and seen.txid in rolled_back:
            found.add("phantom", table, key, version, position=seen.position)
            continue
        if top is None:
            kind = "phantom" if entity in aborted else "extra"
            found.add(kind, table, key, version, position=seen.position)
            continue
        if not 0 < version <= top:
            found.add("phantom", table, key, version, position=seen.position, last=top)
            continue
        versions = shown.setdefault(entity, set())
        high = newest.get(entity, 0)
        removed = (table, key, high) in deletes  # the newest version shown deleted the row
        if version < high and removed and (table, key, version) not in deletes:
            found.add("resurrected", table, key, version, position=seen.position, after=high)
        elif version in versions:
            found.add("duplicate", table, key, version, position=seen.position)
        elif version < high:
            found.add("out_of_order", table, key, version, position=seen.position, after=high)
        versions.add(version)
        newest[entity] = max(high, version)

    for (table, key), top in last.items():
        versions = shown.get((table, key))
        if not versions:
            found.add("missing", table, key, top)
        elif top not in versions:
            found.add("stale", table, key, top, newest_seen=newest[table, key])
