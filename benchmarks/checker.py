"""Checker throughput and memory on a synthetic ledger, against a bare pass over it.

The data (built first, not timed) is what a run of --changes changes (1,000,000) would
leave: about --keys keys (100,000) over two tables (3/4 `widgets`, 1/4 `gadgets`),
created by inserts spread over the run (one change in ten), then updated with a
Zipf-like key choice (exponent --zipf, the oldest keys hottest), 2 % deletes (of a key
chosen uniformly; a deleted key is never written again) and --abort-share (1.5 %) of
changes aborted. Versions follow the ledger's rules: an insert takes 1, an update the
key's version + 1, a delete the deleted version + 1 (its tombstone), and an aborted
change the version it would have taken, which the key's next committed change then
takes (an aborted insert is retried by the next insert). Changes are 0.5 ms apart,
acknowledged 1-4 ms after their intended start. The ledger is written with the
ledger writer and read back with `read_ledger`, so the checks run on records as a
run holds them (every field a string or int object of its own, as the csv reader
makes them). With it come what a correct state projection shows once converged
(entity -> version of every live row) and one observation per committed change, each
seen 5 ms + an exponential 50 ms (mean) after its commit and never before the key's
previous one, in the order they were seen.

Timed, garbage collector on as in a run, shortest of --repeat rounds for 1-4 (each
round runs them in turn, so the reference and the checker share the machine's
conditions; the slower passes run once):

1. Reference: a plain dict fold of every change into entity -> version, the least any
   check of the ledger has to do per change.
2. `final_state(changes)`, the ledger's last committed change per entity.
3. The checker: `check_state(Evidence(changes, snapshot=rows))`, the full check of
   one state projection's final snapshot, as the pipeline runs it per projection
   (it derives the final state itself). The snapshot matches, so the result must be
   valid with no anomaly.
4. The same on a damaged snapshot (one live row in --damage-every missing, shown one
   version back or joined by an entity the source never had, in turn), which takes
   the checker's second read of the ledger; the result must have exactly those
   anomalies (stale, or phantom for a row at version 1; missing; extra).
5. `measure_lag(changes, observations, 1.0)`, per-change lag from the observation log
   (the pipeline's other per-projection pass), in changes/s of the ledger.
6. `check_events(Evidence(changes, observations))`, the event-log check of the
   same observations taken as a log in the order they were seen (the log is correct,
   so the result must be valid with no anomaly).
7. `check_divergent(Evidence(changes, observations))`, the row-image check of the same
   observations, each carrying its change's digest (valid, no anomaly).

Memory, with tracemalloc (in separate untimed runs: tracing slows Python down ~10x):

- The checker's working memory: peak traced allocation during one `check_state`
  call on the whole ledger, divided by the number of changes, for the matching and
  the damaged snapshot. The larger of the two is the figure held against the goal
  of at most 150 bytes per change, because it is what checking adds
  on top of the ledger the pipeline already holds (read once, shared by every
  projection's check and lag measurement), whereas the ledger itself cannot get below
  the size of its records. Most of it is per entity rather than per change, so it
  scales with --keys / --changes (10 changes per key by default).
- The ledger's own size per change: traced allocation retained after building the
  list of `Change` records (list, records, their strings and ints) for the ledger's
  first --sample changes (the same generator and seed, checked equal to them); and
  the same after `read_ledger` has read those changes back from a ledger file, as a
  run holds them. Both are per record, so a sample gives the figure of the whole.
- With --trace-slow, the same peak figure for `measure_lag`, `check_events` and
  `check_divergent`.

    .venv/bin/python benchmarks/checker.py [--changes 1000000] [--keys 100000]
        [--zipf 0.9] [--abort-share 0.015] [--damage-every 1000] [--repeat 5]
        [--sample 100000] [--trace-slow] [--seed 1]

Progress goes to stderr; then a table of figures (ratio: changes/s over the
reference's), `checker_ratio: <checker changes/s / reference changes/s>` and, last,
`checker_changes_per_s: <x>` (row 3). The goals are a checker of at least 1,000,000
changes/s and at most 150 bytes of working memory per change.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import itertools
import os
import platform
import random
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.check.divergent import check_divergent
from harness.check.events import check_events
from harness.check.lag import measure_lag
from harness.check.protocol import Evidence
from harness.check.state import check_state
from harness.load.ledger import (
    ABORTED,
    COMMITTED,
    Change,
    Entity,
    final_state,
    ledger_writer,
    read_ledger,
)
from harness.observe.base import Observation, SnapshotRow

from bench_util import Console

T0 = 1_700_000_000_000_000_000
"""An epoch-like origin in nanoseconds."""
SPACING_NS = 500_000
"""Between intended starts: 2,000 changes/s."""
INSERT_EVERY = 10
"""One change in this many is an insert (until --keys keys exist)."""
DELETE_SHARE = 0.02
PROJECTION = "read_model"
CHECKER = "checker: check_state"
DAMAGED = "check_state, damaged"
GOAL_RATE = 1_000_000
GOAL_BYTES = 150

_console = Console("checker")
fail, log = _console.fail, _console.log


# --- data ----------------------------------------------------------------------------


def build_ledger(n: int, keys: int, zipf: float, abort_share: float, seed: int) -> list[Change]:
    """`n` changes in acknowledgement order, following the ledger's version rules (the
    first changes of a longer ledger with the same `keys`, `zipf`, `abort_share`, `seed`)."""
    rng = random.Random(seed)
    random_, randrange, getrandbits = rng.random, rng.randrange, rng.getrandbits
    keys = max(1, keys)
    insert_p = 1 / INSERT_EVERY
    delete_p = insert_p + DELETE_SHARE
    hot = list(itertools.accumulate(1.0 / (rank + 1) ** zipf for rank in range(keys)))
    version = [0] * keys
    """Per key id: last committed version (0: not inserted yet)."""
    deleted = [False] * keys
    created = alive = 0
    changes: list[Change] = []
    acked = T0
    for i in range(n):
        intended = T0 + i * SPACING_NS
        acked = max(acked + 1, intended + randrange(1_000_000, 4_000_000))
        draw = random_()
        if created == 0 or (draw < insert_p and created < keys):
            kid, op = created, "insert"
        elif draw < delete_p and alive > 1:
            kid, op = randrange(created), "delete"
        else:
            kid = bisect.bisect_left(hot, random_() * hot[created - 1], 0, created)
            op = "update"
        while deleted[kid]:
            kid = randrange(created)
        v = version[kid] + 1
        status = ABORTED if random_() < abort_share else COMMITTED
        changes.append(
            Change(
                table="gadgets" if kid % 4 == 0 else "widgets",
                key=str(kid + 1),
                version=v,
                op=op,
                status=status,
                intended_ns=intended,
                acked_ns=acked,
                txid=1_000 + i,
                digest="" if op == "delete" else f"{getrandbits(64):016x}",
            )
        )
        if status == COMMITTED:
            version[kid] = v
            if op == "insert":
                created += 1
                alive += 1
            elif op == "delete":
                deleted[kid] = True
                alive -= 1
    return changes


def converged_snapshot(changes: Sequence[Change]) -> dict[Entity, int]:
    """What a correct state projection shows once converged: every live row's version."""
    snapshot: dict[Entity, int] = {}
    for c in changes:
        if c.status == COMMITTED:
            if c.op == "delete":
                snapshot.pop((c.table, c.key), None)
            else:
                snapshot[c.table, c.key] = c.version
    return snapshot


def rows_of(snapshot: dict[Entity, int]) -> list[SnapshotRow]:
    """A snapshot as the observers write it (without image digests: not what is timed)."""
    return [SnapshotRow(table, key, v, "", tombstone=False) for (table, key), v in snapshot.items()]


def damaged(snapshot: dict[Entity, int], every: int) -> tuple[dict[Entity, int], dict[str, int]]:
    """`snapshot` with one entity in `every` missing, shown one version back (stale, or
    phantom when that is 0) or joined by an entity the source never had, in turn; and
    the counts the checker should find."""
    out = dict(snapshot)
    counts: dict[str, int] = {}
    for i, (entity, version) in enumerate(snapshot.items()):
        if i % every:
            continue
        turn = i // every % 3
        if turn == 0:
            del out[entity]
            kind = "missing"
        elif turn == 1:
            out[entity] = version - 1
            kind = "stale" if version > 1 else "phantom"
        else:
            out[(entity[0], f"never-{i}")] = 1
            kind = "extra"
        counts[kind] = counts.get(kind, 0) + 1
    return out, counts


def observations_of(changes: Sequence[Change], seed: int) -> list[Observation]:
    """One observation per committed change, in the order a correct projection shows them."""
    rng = random.Random(seed + 1)
    expovariate = rng.expovariate
    last_seen: dict[Entity, int] = {}
    observations = []
    for i, c in enumerate(changes):
        if c.status != COMMITTED:
            continue
        entity = (c.table, c.key)
        seen = max(
            c.acked_ns + 5_000_000 + int(expovariate(1 / 50_000_000)),
            last_seen.get(entity, 0) + 1,
        )
        last_seen[entity] = seen
        op = "delete" if c.op == "delete" else "upsert"
        observations.append(
            Observation(PROJECTION, c.table, c.key, c.version, op, seen, str(i), c.digest)
        )
    observations.sort(key=lambda o: o.seen_ns)
    return observations


# --- measuring -----------------------------------------------------------------------


def reference_fold(changes: Sequence[Change]) -> dict[Entity, int]:
    """The bare pass: every change folded into entity -> version."""
    last: dict[Entity, int] = {}
    for c in changes:
        last[c.table, c.key] = c.version
    return last


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds `fn` took (after a full collection, so no earlier garbage is its cost)
    and its result."""
    gc.collect()
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def traced_peak(fn: Callable[[], Any]) -> int:
    """Peak bytes traced by tracemalloc while `fn` runs (its result included)."""
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def traced_build(build: Callable[[], list[Any]]) -> tuple[list[Any], int]:
    """What `build` returns and the bytes still traced once it has returned (its result)."""
    gc.collect()
    tracemalloc.start()
    try:
        built = build()
        gc.collect()
        return built, tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def write_ledger(directory: Path, changes: Sequence[Change]) -> None:
    with ledger_writer(directory) as writer:
        for c in changes:
            writer.append(c)


def ledger_bytes(
    workdir: Path, changes: Sequence[Change], build: Callable[[], list[Change]]
) -> tuple[int, int]:
    """Bytes per change of `changes` as `build` makes them, and as `read_ledger` returns
    them from a ledger file."""
    built, size = traced_build(build)
    if built != changes:
        fail("the traced sample differs from the ledger's first changes")
    del built
    write_ledger(workdir, changes)
    read, read_size = traced_build(lambda: read_ledger(workdir))
    if read != changes:
        fail(f"read back {len(read):,} changes that differ from the {len(changes):,} written")
    n = max(1, len(changes))
    return size // n, read_size // n


@dataclass
class Row:
    name: str
    seconds: float
    peak_bytes: int | None = None


def describe(changes: Sequence[Change], snapshot: dict[Entity, int]) -> str:
    ops = {"insert": 0, "update": 0, "delete": 0}
    aborted = 0
    entities = set()
    max_version = 0
    for c in changes:
        ops[c.op] += 1
        aborted += c.status == ABORTED
        entities.add((c.table, c.key))
        max_version = max(max_version, c.version)
    return (
        f"{len(changes):,} changes ({ops['insert']:,} inserts, {ops['update']:,} updates, "
        f"{ops['delete']:,} deletes; {aborted:,} aborted), {len(entities):,} entities "
        f"({len(snapshot):,} live, highest version {max_version:,})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=100_000, help="keys inserted (100000)")
    parser.add_argument("--zipf", type=float, default=0.9, help="key choice exponent (0.9)")
    parser.add_argument("--abort-share", type=float, default=0.015)
    parser.add_argument(
        "--damage-every", type=int, default=1_000, help="live rows per damaged one (1000)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds, best kept (5)")
    parser.add_argument(
        "--sample", type=int, default=100_000, help="changes traced for the ledger's size"
    )
    parser.add_argument(
        "--trace-slow",
        action="store_true",
        help="also trace measure_lag's and check_events' memory",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if min(args.changes, args.keys, args.damage_every, args.repeat, args.sample) < 1:
        fail("--changes, --keys, --damage-every, --repeat and --sample must be at least 1")
    n, keys = args.changes, min(args.keys, args.changes)

    def build(count: int) -> list[Change]:
        return build_ledger(count, keys, args.zipf, args.abort_share, args.seed)

    log(f"building {n:,} changes over about {keys:,} keys")
    started = time.perf_counter()
    built = build(n)
    log(f"built in {time.perf_counter() - started:.1f} s; writing and reading back the ledger")
    with _console.workspace("cdcbench-checker-", "ledger files") as workdir:
        write_ledger(workdir / "full", built)
        started = time.perf_counter()
        changes = read_ledger(workdir / "full")
        log(f"read_ledger: {time.perf_counter() - started:.1f} s")
        if changes != built:
            fail("the ledger read back differs from the one written")
        del built
        sample = min(args.sample, n)
        log(f"tracing the ledger's size: {sample:,} changes built, written and read back")
        built_bytes, read_bytes = ledger_bytes(
            workdir / "sample", changes[:sample], lambda: build(sample)
        )
    snapshot = converged_snapshot(changes)
    broken, damage = damaged(snapshot, args.damage_every)
    snapshot_rows, broken_rows = rows_of(snapshot), rows_of(broken)
    observations = observations_of(changes, args.seed)
    data = describe(changes, snapshot)
    log(data)

    fast: dict[str, Callable[[], Any]] = {
        "reference: dict fold": lambda: reference_fold(changes),
        "final_state": lambda: final_state(changes),
        CHECKER: lambda: check_state(Evidence(changes, snapshot=snapshot_rows)),
        DAMAGED: lambda: check_state(Evidence(changes, snapshot=broken_rows)),
    }
    slow: dict[str, Callable[[], Any]] = {
        "measure_lag": lambda: measure_lag(changes, observations, 1.0),
        "check_events": lambda: check_events(Evidence(changes, observations)),
        "check_divergent": lambda: check_divergent(Evidence(changes, observations)),
    }

    # Rounds of every fast pass in turn, so that the reference and the checker see the
    # same machine (its other load comes and goes); the shortest time of each is kept.
    rows = {name: Row(name, float("inf")) for name in [*fast, *slow]}
    results: dict[str, Any] = {}
    for round_ in range(args.repeat):
        log(f"timing round {round_ + 1}/{args.repeat}: {', '.join(fast)}")
        results.clear()  # the previous round's results go before this one runs
        for name, fn in fast.items():
            seconds, results[name] = timed(fn)
            rows[name].seconds = min(rows[name].seconds, seconds)
    for name, fn in slow.items():
        log(f"timing {name} (once)")
        rows[name].seconds, results[name] = timed(fn)
    traced = [CHECKER, DAMAGED, *(slow if args.trace_slow else ())]
    for name in traced:
        log(f"tracing {name}'s memory")
        rows[name].peak_bytes = traced_peak({**fast, **slow}[name])

    check = results[CHECKER]
    if check.valid is not True or check.counts:
        fail(f"check_state found anomalies in a matching snapshot: {check.counts}")
    check = results[DAMAGED]
    valid_if_undamaged = not damage
    if check.valid is not valid_if_undamaged or check.counts != damage:
        fail(f"check_state on the damaged snapshot: {check.counts}, expected {damage}")
    lag = results["measure_lag"]
    if lag.unseen or lag.seen != len(observations):
        fail(f"measure_lag: {lag.seen:,} seen, {lag.unseen:,} unseen of {len(observations):,}")
    for name in ("check_events", "check_divergent"):
        if results[name].valid is not True or results[name].counts:
            fail(f"{name} found anomalies in matching observations: {results[name].counts}")

    reference = n / rows["reference: dict fold"].seconds
    checker = n / rows[CHECKER].seconds
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {data}, "
        f"{len(observations):,} observations; damaged snapshot: "
        + ", ".join(f"{count:,} {kind}" for kind, count in damage.items())
    )
    print(f"{'':24} {'seconds':>8} {'changes/s':>12} {'ratio':>7} {'peak B/change':>14}")
    for row in rows.values():
        rate = n / row.seconds
        peak = f"{row.peak_bytes / n:,.1f}" if row.peak_bytes is not None else "-"
        print(f"{row.name:24} {row.seconds:8.3f} {rate:12,.0f} {rate / reference:7.3f} {peak:>14}")
    print(f"ledger as built:         {built_bytes:,} bytes/change (list of Change, {sample:,})")
    print(f"ledger as read back:     {read_bytes:,} bytes/change (read_ledger, {sample:,})")
    working = max(rows[CHECKER].peak_bytes or 0, rows[DAMAGED].peak_bytes or 0) / n
    print(
        f"checker working memory:  {working:,.1f} bytes/change (goal <= {GOAL_BYTES}: "
        f"{'met' if working <= GOAL_BYTES else 'missed'}); "
        f"throughput goal >= {GOAL_RATE:,}/s: {'met' if checker >= GOAL_RATE else 'missed'}"
    )
    print(f"checker_ratio: {checker / reference:.3f}")
    print(f"checker_changes_per_s: {checker:.0f}")


if __name__ == "__main__":
    main()
