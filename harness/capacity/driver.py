"""The load of a capacity search: steady steps at the rates `RateSearch` chooses, each into a
folder of its own (`<pattern>/steps/NN-RATE/`), its ledger linked into the pattern's so the
whole run is checked as one; after each step, the projections converge before the next
starts, and the step is judged (`verdict.judge`) on its own changes. A warm-up step at the
first rate comes before the search, and two steps at 50% and 90% of the highest rate
sustained after it give the lag below capacity.

Locust's CPU is read from this process's reaped children (it exits at each step's end, so
sampling it by process would lose its last second); the host's from `psutil.cpu_times`.
"""

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psutil

from harness import progress
from harness.busy import BusySeries, sampled
from harness.capacity.search import RateSearch, sustained
from harness.capacity.verdict import (
    HOST,
    LOAD_DRIVER,
    Capacity,
    CapacityStep,
    Purpose,
    StepLag,
    judge,
)
from harness.check.attribution import attribute
from harness.check.lag import LagReport, lag_report, sightings
from harness.check.protocol import Convergence
from harness.check.saturation import busy_while
from harness.load.ledger import Change, Ledger, read_ledger
from harness.load.locust_runner import load_stats
from harness.observe.base import Observations, standing
from harness.offering import Drive, Offered, Offering
from harness.run_files import link_tree
from harness.scenario import LoadSpec, Scenario, SteadyShape

RATE_PER_USER = 25.0
"""Changes/s a Locust user is asked for at most: a step adds users above the scenario's."""
WARM_UP_SHARE = 0.5
"""The warm-up step's length, as a share of a step's."""
_BELOW: tuple[tuple[float, Purpose], ...] = ((0.5, "at 50%"), (0.9, "at 90%"))
"""The steps after the search: the lag below capacity."""


@dataclass(frozen=True)
class _Projection:
    """What `verdict.judge` reads of a projection over one step."""

    lag: LagReport | None
    convergence: Convergence | None
    floor_ms: float


def stepped(search: RateSearch, step_s: float) -> Drive:
    """A driver that searches for the highest sustained rate with `step_s`-second steps,
    recording what it knows after each (`Offering.record`)."""

    def drive(offering: Offering) -> Offered:
        capacity = Capacity(
            sustained_per_s=None, bound=None, ceiling_per_s=search.ceiling, steps=[]
        )
        changes: list[Change] = []
        convergence: dict[str, Convergence] = {}
        started, cpu_before = time.monotonic(), offering.cpu_seconds()

        def offer(rate: float, purpose: Purpose, seconds: float = step_s) -> CapacityStep:
            nonlocal convergence
            number = len(capacity.steps) + 1
            step, convergence = _step(offering, rate, seconds, number, changes, purpose)
            capacity.steps.append(step)
            _summarise(number, step)
            return step

        try:
            # a deployment's first changes meet cold starts (functions, connections, a task's
            # first batch): offered, judged and shown, but not taken as the search's answer
            offer(search.start, "warm-up", step_s * WARM_UP_SHARE)
            offering.record(capacity)
            history: list[tuple[float, bool]] = []
            while (rate := search.next(history)) is not None:
                step = offer(rate, "search")
                history.append((rate, step.sustained))
                _update(capacity, history)
                offering.record(capacity)
                if not all(c.converged for c in convergence.values()):
                    break  # a backlog left: a higher rate would measure it, not the pattern
            best = capacity.sustained_per_s
            for share, purpose in _BELOW:
                if best is not None:
                    offer(max(1.0, round(best * share)), purpose)
                    offering.record(capacity)
        finally:
            offering.record(capacity)
        wall = time.monotonic() - started
        cpu_after = offering.cpu_seconds()
        busy = {n: (cpu_after[n] - cpu_before[n]) / wall for n in cpu_after.keys() & cpu_before}
        offered = _offered_per_s(capacity, changes)
        return Offered(busy, changes, convergence, offered, capacity)

    return drive


def _step(
    offering: Offering,
    rate: float,
    step_s: float,
    number: int,
    changes: list[Change],
    purpose: Purpose,
) -> tuple[CapacityStep, dict[str, Convergence]]:
    """Offer `rate` for `step_s` seconds, wait for convergence, judge the step. Its changes
    are added to `changes` (all so far: what the projections must converge to)."""
    scenario = _at(offering.scenario, rate, step_s)
    folder = offering.root / "steps" / f"{number:02d}-{rate:g}"
    with sampled(offering.cpu_seconds) as over_time:
        driver_before, host_before = _children_cpu_s(), psutil.cpu_times()
        loading = time.monotonic()
        try:
            busy = busy_while(offering.cpu_seconds, lambda: offering.load(folder, scenario))
        finally:
            # marked with the step (`ledger-s03-<host>-<pid>-0.csv`): the whole ledger reads as one
            link_tree(folder / "ledger", offering.root / "ledger", _marked(number))
        wall = time.monotonic() - loading
        busy[LOAD_DRIVER] = round((_children_cpu_s() - driver_before) / wall, 3)
        busy[HOST] = round(_host_busy(host_before, psutil.cpu_times()), 3)
        mine = read_ledger(folder / "ledger", offering.clock)
        changes += mine
        convergence = offering.converge(changes)
    load = load_stats(mine, folder, rate)
    projections = _lag(offering, mine, convergence, over_time)
    bound, reasons = judge(load, busy, projections, offering.emulated, scenario.load.processes)
    missing = [k for k, c in convergence.items() if not c.converged]
    if missing and bound is None:
        bound, reasons = "pattern", [f"{', '.join(missing)}: did not converge"]
    step = CapacityStep(
        purpose=purpose,
        offered_per_s=rate,
        seconds=step_s,
        users=scenario.load.users,
        committed_per_s=load.committed_per_s,
        sustained=bound is None,
        bound=bound,
        reasons=reasons,
        busy={name: round(share, 3) for name, share in busy.items()},
        lag={name: _step_lag(p) for name, p in projections.items()},
    )
    return step, convergence


def _at(scenario: Scenario, rate: float, step_s: float) -> Scenario:
    """The scenario's workload as a steady load of `rate` for `step_s` seconds."""
    load = scenario.load
    users = max(load.users, math.ceil(rate / RATE_PER_USER))
    spec = LoadSpec.model_validate(
        load.model_dump()
        | {"rate_per_s": rate, "duration_s": step_s, "users": users, "shape": SteadyShape()}
    )
    return scenario.model_copy(update={"load": spec})


def _lag(
    offering: Offering,
    mine: list[Change],
    convergence: dict[str, Convergence],
    over_time: Mapping[str, BusySeries],
) -> dict[str, _Projection]:
    """Each projection's lag over the step's changes, each window attributed."""
    window_s = offering.scenario.check.lag_window_s
    ledger = Ledger.of(mine)
    acked = ledger.numbers("acked_ns")[ledger.committed]
    origin_s = int(acked.min()) / 1e9 if len(acked) else 0.0
    emulator = over_time if offering.emulated else {}
    found = {}
    for name, watched in offering.projections.items():
        observations = standing(Observations.read(watched.observations))
        report = lag_report(ledger, sightings(ledger, observations, watched.exact), window_s)
        stats = watched.observer.stats()
        bounds = attribute(report.over_time, window_s, origin_s, stats, emulator)
        for window, bound in zip(report.over_time, bounds, strict=True):
            window.bound = bound
        found[name] = _Projection(report, convergence.get(name), watched.floor_ms)
    return found


def _step_lag(projection: _Projection) -> StepLag:
    lag, reached = projection.lag, projection.convergence
    ms = lag.from_commit_ms if lag else None
    return StepLag(
        p50=ms.p50 if ms else None,
        p90=ms.p90 if ms else None,
        p99=ms.p99 if ms else None,
        seen=lag.seen if lag else 0,
        unseen=lag.unseen if lag else 0,
        converge_s=reached.seconds if reached else None,
    )


def _update(capacity: Capacity, history: list[tuple[float, bool]]) -> None:
    capacity.sustained_per_s = sustained(history)
    above = [
        s
        for s in capacity.steps
        if s.purpose == "search"
        and not s.sustained
        and (capacity.sustained_per_s is None or s.offered_per_s > capacity.sustained_per_s)
    ]
    lowest = min(above, key=lambda s: s.offered_per_s, default=None)
    capacity.bound = lowest.bound if lowest else None


def _offered_per_s(capacity: Capacity, changes: list[Change]) -> float:
    """Changes offered per second from the first intent to the last acknowledgement (the
    waits between steps offer none)."""
    ledger = Ledger.of(changes)
    if not len(ledger):
        return 0.0
    span_ns = int(ledger.numbers("acked_ns").max()) - int(ledger.numbers("intended_ns").min())
    offered = sum(s.offered_per_s * s.seconds for s in capacity.steps)
    return round(offered / (span_ns / 1e9), 2) if span_ns > 0 else 0.0


def _marked(number: int) -> Callable[[str], str]:
    """A file's name with the step's number after its first word."""

    def name(file: str) -> str:
        head, _, tail = file.partition("-")
        return f"{head}-s{number:02d}-{tail}"

    return name


def _children_cpu_s() -> float:
    """CPU seconds of this process's children that have ended (Locust, once it exits)."""
    times = os.times()
    return times.children_user + times.children_system


def _host_busy(before: Any, after: Any) -> float:
    """Share of all cores in use between two readings of `psutil.cpu_times()`."""
    total = sum(after) - sum(before)
    idle = (after.idle - before.idle) + (getattr(after, "iowait", 0) - getattr(before, "iowait", 0))
    return 1 - idle / total if total > 0 else 0.0


def _summarise(number: int, step: CapacityStep) -> None:
    lags = ", ".join(f"{n} p99 {lag.p99:.0f} ms" for n, lag in step.lag.items() if lag.p99)
    verdict = "sustained" if step.sustained else f"not sustained ({step.bound})"
    progress.console.print(
        f"Step {number} ({step.purpose}): {step.offered_per_s:g}/s offered, "
        f"{step.committed_per_s:g}/s committed: {verdict}; {lags}",
        markup=False,
        soft_wrap=True,
    )
