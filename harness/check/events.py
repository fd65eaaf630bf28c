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

import dataclasses
from typing import Any

from harness.check.protocol import Evidence
from harness.check.result import CheckResult, judge
from harness.load.ledger import COMMITTED, Entity

_LAG_LIKE = frozenset({"missing"})
_NET_LAG_LIKE = frozenset({"missing", "stale"})


class _Findings:
    """Counts per class, with the first `limit` cases of each."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.counts: dict[str, int] = {}
        self.examples: dict[str, list[dict[str, Any]]] = {}

    def add(self, kind: str, table: str, key: str, version: int, **detail: Any) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        cases = self.examples.setdefault(kind, [])
        if len(cases) < self.limit:
            cases.append({"table": table, "key": key, "version": version, **detail})


def check_events(evidence: Evidence) -> CheckResult:
    """`evidence.observations`: what the log holds, in log order (by position within it). A
    log that settled stopped growing past its floor without converging (see `judge`)."""
    changes, observations = evidence.changes, evidence.observations
    keys: dict[Entity, list[int]] = {}
    """entity -> [last committed version, highest of them seen so far in the log]"""
    aborted: set[Entity] = set()
    rolled_back = {c.txid for c in changes if c.status != COMMITTED}
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

    found = _Findings(evidence.max_examples)
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

    counts = found.counts
    reached = evidence.convergence
    valid = judge(counts, _LAG_LIKE, reached.converged, reached.settled)
    return CheckResult(valid=valid, counts=counts, examples=found.examples)


def check_event_store(evidence: Evidence) -> CheckResult:
    """`check_events` over each key's events in version order (a stable sort keeps copies
    of one change in log order)."""
    ordered = sorted(evidence.observations, key=lambda o: o.version)
    return check_events(dataclasses.replace(evidence, observations=ordered))


def check_net_changes(evidence: Evidence) -> CheckResult:
    """`evidence.observations`: what the feed holds, in log order."""
    last: dict[Entity, int] = {}
    """entity -> its last committed version"""
    deletes: set[tuple[str, str, int]] = set()
    """(table, key, tombstone) of every committed delete"""
    aborted: set[Entity] = set()
    rolled_back: set[int] = set()
    for change in evidence.changes:
        entity = (change.table, change.key)
        if change.status == COMMITTED:
            if change.version > last.get(entity, 0):
                last[entity] = change.version
            if change.op == "delete":
                deletes.add((change.table, change.key, change.version))
        else:
            aborted.add(entity)
            rolled_back.add(change.txid)

    found = _Findings(evidence.max_examples)
    shown: dict[Entity, set[int]] = {}
    """entity -> its committed versions shown so far"""
    newest: dict[Entity, int] = {}
    for seen in evidence.observations:
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

    counts = found.counts
    reached = evidence.convergence
    valid = judge(counts, _NET_LAG_LIKE, reached.converged, reached.settled)
    return CheckResult(valid=valid, counts=counts, examples=found.examples)
