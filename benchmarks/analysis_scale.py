"""How long the analysis of an hour-long run takes, and how much memory it needs.

An hour at 1,000 changes/s is 3,600,000 changes per projection. The script builds (untimed)
the folder such a run leaves, with the project's own writers, so every file is in the real
format (`harness.run_files`): `results.json` at the root, and under the pattern's folder two
load processes' ledger files, three projections' observation logs and the state projection's
final snapshot.

The ledger: --changes changes at 1,000/s (intended 1 ms apart, alternately from the two
processes, each acknowledged 2 ms + an exponential 3 ms mean after its intended start),
following the ledger's version rules, in the default workload's mix: a new widget (35 %),
a widget update (45 %, of a live widget chosen uniformly), a widget delete (5 %) and a new
order (15 %); 1 % of changes rolled back (an aborted insert burns its key). About half
the changes create a row, so the run touches about --changes / 2 entities.

The projections, named as `dms_msk_lambda`'s so that its descriptor's hops (both fed from
the topic) are measured too:

- `topic` (event_log): every committed change 30 ms + an exponential 20 ms after its
  commit, in each key's version order, except 1 in 10,000 delayed by 1-3 s (out of order
  where a later version of its key came first) and two never delivered;
- `event_store` (event_store, per key in version order): every committed change, carrying
  its transaction, 500 ms + an exponential 200 ms after its sighting in the topic, two
  never delivered, and 1 in 100,000 written over by a copy that is then retracted;
- `read_model` (state): each committed change 50 ms + an exponential 50 ms after its
  sighting in the topic, in each key's version order, two never shown (superseded), and
  the final snapshot of the converged table (live rows and tombstones).

Timed, in a fresh process so that its peak memory is the analysis's own: what `cdcbench
report` does with a finished run's folder, `recheck` (`harness.evaluation.evaluate` for the
pattern), `Results.write` and `write_html`. Its stages are timed by wrapping the functions
`evaluate` calls for them: read (`Ledger.merge`, `Observations.read`, `SnapshotRows.read`,
`standing`), check (`check_projection`), lag (`sightings`, `lag_report`, `hop_lag`); results
is the rest of `recheck` (load, throughput, cost, saturation) and writing results.json;
report is `write_html`. Peak memory is the analysing process's maximum resident set size
(`ru_maxrss`). The figures found are checked against what the data holds (each projection's
lag counts, the topic's and the event store's anomalies, a valid read model).

    .venv/bin/python benchmarks/analysis_scale.py [--changes 3600000] [--keep DIR]

--keep DIR builds the folder in DIR and keeps it; a DIR holding the folder of a previous
--keep with the same --changes is analysed again without rebuilding. Progress goes to
stderr; then each stage's seconds, the peak memory and, last, `analysis_3m6_s: <seconds>`
(the whole analysis). Goals for 3,600,000 changes on a 2-core machine: at most 60 s and
2 GiB.
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import functools
import heapq
import itertools
import os
import platform
import random
import resource
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from harness import evaluation, recheck
from harness.check.protocol import Convergence
from harness.load.ledger import ABORTED, COMMITTED, Change, Ledger, ledger_writer
from harness.observe.base import (
    RETRACTED,
    Observation,
    Observations,
    SnapshotRow,
    SnapshotRows,
    write_snapshot,
)
from harness.records import RecordWriter
from harness.report import html
from harness.report.results import PatternResult, ProjectionResult, Results, read_results
from harness.run_files import PatternFiles

from bench_util import Console

T0 = 1_700_000_000_000_000_000
"""An epoch-like origin in nanoseconds."""
RATE_PER_S = 1_000
PATTERN = "dms_msk_lambda"
TOPIC, STORE, MODEL = "topic", "event_store", "read_model"
PROCESSES = 2
MIX = (("insert", 35), ("update", 45), ("delete", 5), ("order", 15))
ABORT_SHARE = 0.01
LATE_EVERY = 10_000
OVERWRITTEN_EVERY = 100_000
DROPPED = 2
"""Changes each projection never shows."""
BATCH = 10_000
HOUR = 3_600 * RATE_PER_S
"""Changes of an hour's run: the goals' size."""
GOAL_S, GOAL_BYTES = 60.0, 2 * 1024**3
STAGES = ("read", "check", "lag", "results", "report")

_console = Console("analysis_scale")
fail, log = _console.fail, _console.log


# --- the run folder --------------------------------------------------------------------


@dataclass
class Expected:
    """What the analysis must find in the folder."""

    committed: int = 0
    lost: dict[str, list[tuple[tuple[str, str], int]]] = field(default_factory=dict)
    """Per projection: the committed changes (entity, version) it never showed."""
    overtaken: int = 0
    """The topic's sightings logged after a later version of their key (out of order)."""
    final: dict[tuple[str, str], int] = field(default_factory=dict)

    def counts(self, projection: str) -> dict[str, int]:
        """The anomalies its check must count."""
        counts: dict[str, int] = {}
        if projection == TOPIC and self.overtaken:
            counts["out_of_order"] = self.overtaken
        if projection != MODEL:
            for entity, version in self.lost[projection]:
                kind = "gap" if self.final[entity] > version else "missing"
                counts[kind] = counts.get(kind, 0) + 1
        return counts


class _Log:
    """A projection's observation log, written in order of sighting: sightings are queued
    and written once the load's clock has passed them."""

    def __init__(self, path: Path, in_log_order: bool) -> None:
        self.writer = RecordWriter(path, Observation)
        self.queue: list[tuple[int, int, Observation]] = []
        self.pending: list[Observation] = []
        self.in_log_order = in_log_order
        """Count the sightings written after a later version of their key (`overtaken`)."""
        self.highest: dict[tuple[str, str], int] = {}
        self.overtaken = 0
        self._order = itertools.count()

    def add(self, observation: Observation) -> None:
        heapq.heappush(self.queue, (observation.seen_ns, next(self._order), observation))

    def flush(self, until_ns: int) -> None:
        """Write what was seen by `until_ns` (in batches)."""
        queue, pending = self.queue, self.pending
        while queue and queue[0][0] <= until_ns:
            observation = heapq.heappop(queue)[2]
            if self.in_log_order:
                entity = (observation.table, observation.key)
                high = self.highest.get(entity, 0)
                self.overtaken += observation.version < high
                self.highest[entity] = max(high, observation.version)
            pending.append(observation)
        if len(pending) >= BATCH or (pending and not queue):
            self.writer.extend(pending)
            pending.clear()

    def close(self) -> int:
        """Write the rest; the number of lines logged."""
        self.flush(2**63)
        self.writer.close()
        return self.writer.count


def build_run(run_dir: Path, n: int, seed: int = 1) -> Expected:
    """A finished run's folder holding `n` changes (see the module's docstring)."""
    rng = random.Random(seed)
    random_, expovariate, getrandbits = rng.random, rng.expovariate, rng.getrandbits
    files = PatternFiles(run_dir / PATTERN)
    writers = [ledger_writer(files.ledger) for _ in range(PROCESSES)]
    batches: list[list[Change]] = [[] for _ in range(PROCESSES)]
    logs = {name: _Log(files.observations(name), name == TOPIC) for name in (TOPIC, STORE, MODEL)}
    dropped = {name: set(rng.sample(range(n), DROPPED)) for name in logs}
    expected = Expected(lost={name: [] for name in logs}, final={})
    ops = [op for op, _ in MIX]
    bounds = list(itertools.accumulate(weight / 100 for _, weight in MIX))
    next_id = {"widgets": 1, "orders": 1}
    live: list[int] = []
    """Ids of the live widgets (a delete moves the last one into its place)."""
    slot: dict[int, int] = {}
    """Widget id -> its place in `live`."""
    versions, images = expected.final, {}
    """Per entity: its last committed version (a delete's: the tombstone), and image."""
    in_order: dict[tuple[str, str, str], int] = {}
    """(projection, table, key) -> its last sighting there, where key order is kept."""

    def seen(projection: str, entity: tuple[str, str], at: int) -> int:
        at = max(at, in_order.get((projection, *entity), 0) + 1)
        in_order[projection, *entity] = at
        return at

    for i in range(n):
        intended = T0 + i * 1_000_000_000 // RATE_PER_S
        acked = intended + 2_000_000 + int(expovariate(1 / 3_000_000))
        op = ops[min(bisect.bisect(bounds, random_()), len(ops) - 1)]
        if op != "insert" and op != "order" and not live:
            op = "insert"
        table = "orders" if op == "order" else "widgets"
        if op in ("insert", "order"):
            op, key_id = "insert", next_id[table]
            next_id[table] += 1
        else:
            key_id = live[int(random_() * len(live))]
        entity = (table, str(key_id))
        version = versions.get(entity, 0) + 1
        status = ABORTED if random_() < ABORT_SHARE else COMMITTED
        digest = "" if op == "delete" else f"{getrandbits(64):016x}"
        txid = 10_000_000 + i
        batch = batches[i % PROCESSES]
        batch.append(Change(*entity, version, op, status, intended, acked, txid, digest))
        if len(batch) >= BATCH:
            writers[i % PROCESSES].extend(batch)
            batch.clear()
        if status == COMMITTED:
            expected.committed += 1
            versions[entity], images[entity] = version, digest
            if op == "delete":
                last = live.pop()
                if last != key_id:
                    live[slot[key_id]] = last
                    slot[last] = slot[key_id]
                del slot[key_id]
            elif op == "insert" and table == "widgets":
                slot[key_id] = len(live)
                live.append(key_id)
            shown_as = "delete" if op == "delete" else "upsert"
            if i % LATE_EVERY == LATE_EVERY // 2:
                topic = acked + 1_000_000_000 + int(random_() * 2e9)
            else:
                topic = seen(TOPIC, entity, acked + 30_000_000 + int(expovariate(1 / 2e7)))
            store = topic + 500_000_000 + int(expovariate(1 / 2e8))
            model = seen(MODEL, entity, topic + 50_000_000 + int(expovariate(1 / 5e7)))
            for projection, at, position, by in (
                (TOPIC, topic, f"{key_id % 8}:{i}", 0),
                (STORE, store, f"{i:021d}", txid),
                (MODEL, model, f"{4965 * 10**17 + i}", 0),
            ):
                if i in dropped[projection]:
                    expected.lost[projection].append((entity, version))
                    continue
                sighting = Observation(
                    projection, *entity, version, shown_as, at, position, digest, by
                )
                logs[projection].add(sighting)
            if i % OVERWRITTEN_EVERY == OVERWRITTEN_EVERY // 3:
                copy = Observation(
                    STORE, *entity, version, shown_as, store + 1, "copy", digest, txid
                )
                logs[STORE].add(copy)
                logs[STORE].add(dataclasses.replace(copy, op=RETRACTED, seen_ns=store + 2))
        for projection_log in logs.values():
            projection_log.flush(intended)
    for writer, batch in zip(writers, batches, strict=True):
        writer.extend(batch)
        writer.close()
    observed = {name: projection_log.close() for name, projection_log in logs.items()}
    expected.overtaken = logs[TOPIC].overtaken
    write_snapshot(
        files.snapshot(MODEL),
        (SnapshotRow(*e, v, images[e], tombstone=not images[e]) for e, v in versions.items()),
    )
    _write_results(run_dir, n, observed)
    return expected


def _write_results(run_dir: Path, n: int, observed: dict[str, int]) -> None:
    """results.json of the finished run: its scenario, and each projection as recorded
    before the analysis (kind, observer, lines logged, converged)."""
    reached = Convergence(converged=True, seconds=3.2)
    described = {
        TOPIC: ("event_log", "kafka_topic"),
        STORE: ("event_store", "s3_objects"),
        MODEL: ("state", "dynamodb_stream"),
    }
    projections = {
        name: ProjectionResult(
            kind=kind, observer=observer, floor_ms=0.0, observed=observed[name], convergence=reached
        )
        for name, (kind, observer) in described.items()
    }
    pattern = PatternResult(
        summary="synthetic", pattern=PATTERN, status="completed", projections=projections
    )
    Results(
        run_id=run_id(n),
        status="completed",
        started_at="2023-11-14T22:13:20+00:00",
        scenario={
            "name": "analysis_scale",
            "load": {"duration_s": n / RATE_PER_S, "rate_per_s": RATE_PER_S},
            "check": {"lag_window_s": 1.0},
        },
        patterns={PATTERN: pattern},
    ).write(run_dir)


def run_id(n: int) -> str:
    return f"analysis-scale-{n}"


# --- the analysis ----------------------------------------------------------------------

READERS = (Ledger, "merge"), (Observations, "read"), (SnapshotRows, "read")
"""What `evaluate` reads the run's files with (timed as read, with `standing`)."""
WRAPPED = {
    "read": ("standing",),
    "check": ("check_projection",),
    "lag": ("sightings", "lag_report", "hop_lag"),
}
"""Stage -> the functions `evaluate` calls for it."""


@dataclass
class Analysis:
    seconds: dict[str, float]
    peak_bytes: int
    """ru_maxrss of the analysing process."""
    found: dict[str, dict[str, Any]]
    """Per projection: its lag counts, and its check's validity and counts."""


def _timed(fn: Callable[..., Any], spent: dict[str, float], stage: str) -> Callable[..., Any]:
    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[stage] += time.perf_counter() - started

    return timed


def analyse(run_dir: Path) -> Analysis:
    """What `cdcbench report RUN_DIR` does, stage by stage (run in a process of its own)."""
    spent = dict.fromkeys(STAGES, 0.0)
    for stage, names in WRAPPED.items():
        for name in names:
            setattr(evaluation, name, _timed(getattr(evaluation, name), spent, stage))
    for owner, name in READERS:
        setattr(owner, name, _timed(getattr(owner, name), spent, "read"))
    started = time.perf_counter()
    results = recheck.recheck(run_dir)
    results.write(run_dir)
    spent["results"] = time.perf_counter() - started - sum(spent[s] for s in WRAPPED)
    started = time.perf_counter()
    html.write_html(results, run_dir)
    spent["report"] = time.perf_counter() - started
    found = {
        name: {
            "lag": projection.lag.model_dump(include={"seen", "unseen", "skipped"})
            if projection.lag
            else {},
            "valid": projection.check.valid,
            "counts": projection.check.counts,
        }
        for name, projection in results.patterns[PATTERN].projections.items()
    }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return Analysis(spent, peak, found)


def verify(found: dict[str, dict[str, Any]], expected: Expected) -> None:
    """The figures the analysis found are those the data holds."""
    for name, figures in found.items():
        lag = figures["lag"]
        if sum(lag.values()) != expected.committed:
            fail(f"{name}: lag counts {lag} do not add up to {expected.committed:,} committed")
        if name != MODEL and (lag["unseen"], lag["skipped"]) != (len(expected.lost[name]), 0):
            fail(f"{name}: {lag} unseen, expected {len(expected.lost[name])}")
        counts, valid = figures["counts"], figures["valid"]
        want = expected.counts(name)
        if counts != want or valid is not (not want):
            fail(f"{name}: check {valid} with {counts}, expected {want}")


# --- main ------------------------------------------------------------------------------


@contextmanager
def run_folder(keep: Path | None, n: int) -> Iterator[tuple[Path, Expected | None]]:
    """The run folder, built unless `keep` holds one of `n` changes (then not verified)."""
    if keep is not None and (keep / "results.json").exists():
        if read_results(keep).run_id != run_id(n):
            fail(f"{keep} holds another run than one of {n:,} changes: give an empty folder")
        log(f"analysing the folder in {keep} again")
        yield keep, None
        return
    with _console.workspace("cdcbench-analysis-", "a synthetic run folder") as workdir:
        run_dir = keep or workdir
        run_dir.mkdir(parents=True, exist_ok=True)
        log(f"building a run folder of {n:,} changes in {run_dir}")
        started = time.perf_counter()
        expected = build_run(run_dir, n)
        log(f"built in {time.perf_counter() - started:.0f} s")
        yield run_dir, expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=HOUR)
    parser.add_argument("--keep", type=Path, help="build the run folder here and keep it")
    args = parser.parse_args()
    if args.changes < 1000:
        fail("--changes must be at least 1000")
    with run_folder(args.keep, args.changes) as (run_dir, expected):
        sizes = sum(p.stat().st_size for p in run_dir.rglob("*") if p.is_file())
        log(f"analysing ({sizes / 1e6:,.0f} MB of files) in a fresh process")
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            analysis = pool.submit(analyse, run_dir).result()
    if expected is not None:
        verify(analysis.found, expected)
    total = sum(analysis.seconds.values())
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {args.changes:,} changes, "
        f"3 projections, {sizes / 1e6:,.0f} MB of run files"
    )
    for stage in STAGES:
        print(f"{stage:8} {analysis.seconds[stage]:8.2f} s")
    print(
        f"peak memory {analysis.peak_bytes / 2**20:,.0f} MiB (ru_maxrss of the analysing process)"
    )
    if args.changes == HOUR:
        met = {True: "met", False: "missed"}
        print(
            f"goals: <= {GOAL_S:g} s {met[total <= GOAL_S]}, "
            f"<= {GOAL_BYTES / 2**30:g} GiB {met[analysis.peak_bytes <= GOAL_BYTES]}"
        )
    print(f"analysis_3m6_s: {total:.2f}")


if __name__ == "__main__":
    main()
