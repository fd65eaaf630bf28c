"""Is a run's lag the pattern's, or the emulator's? On the local target the emulated data
plane (moto, GIL-bound at about one core, and the engines) saturates long before
PostgreSQL; lag measured past that point describes the emulator, not the pattern.

Signals, each a reason in the verdict:
- an emulator process busy for EMULATOR_BUSY of a core or more while the load ran;
- the load fell short: fewer changes committed per second than LOAD_SHORT of those offered
  (the write path could not keep up; `direct`'s path includes the emulator);
- a backlog grew: lag from commit in the last third of the run's windows well above the
  first third's, or a projection still catching up long after the load ended;
- lag windows that are the emulator's (`check.attribution`: a process saturated while the
  window's changes were carried).
On an emulated target any signal marks the lag figures emulator-bound. On AWS the same
signals are the pattern's own limits and are reported as such. Apart from these, lag windows
that are a projection's observer's (it was saturated itself, and its own delay was a
material share of their lag) mark the figures observer-bound, on any target: they include
the instrument's delay.
"""

import time
from collections.abc import Callable, Mapping
from statistics import median
from typing import Protocol

from pydantic import BaseModel, Field

from harness.busy import BusySeries
from harness.check.lag import LagReport, LagWindow
from harness.check.protocol import Convergence
from harness.load.locust_runner import LoadStats

EMULATOR_BUSY = 0.85
OBSERVER_BUSY = 0.8
OBSERVER_DELAY_SHARE = 0.25
"""Share of a lag window's p99 an observer's own delay must reach for the window to be its."""
LOAD_SHORT = 0.9
BACKLOG_FACTOR = 2.0
BACKLOG_MIN_S = 1.0
CATCH_UP_GRACE_S = 5.0
_EMULATOR_WHY = f"busy {EMULATOR_BUSY:.0%} of a core or more"
_OBSERVER_WHY = (
    f"busy {OBSERVER_BUSY:.0%} of a core or more, its own delay {OBSERVER_DELAY_SHARE:.0%} "
    "of their p99 or more"
)


class Saturation(BaseModel):
    emulated: bool
    emulator_bound: bool
    """Some signal fired: the lag figures show a saturated system, not the pattern's floor."""
    observer_bound: bool = False
    """Some lag windows are an observer's: their figures include the instrument's delay."""
    reasons: list[str]
    busy: dict[str, float]
    """Process -> fraction of one core it used while the load ran."""
    busy_over_time: dict[str, BusySeries] = Field(default_factory=dict)
    """Process -> its share of a core in each second from the load's start until the
    projections converged (empty in older results)."""


class Measured(Protocol):
    """What saturation reads of a projection's result: its lag windows, its catch-up after
    the load, and its configured floor."""

    @property
    def lag(self) -> LagReport | None: ...

    @property
    def convergence(self) -> Convergence | None: ...

    @property
    def floor_ms(self) -> float: ...


def busy_while(
    cpu_seconds: Callable[[], dict[str, float]], run: Callable[[], None]
) -> dict[str, float]:
    """Call `run`; the share of one core each process `cpu_seconds` samples used meanwhile."""
    before, started = cpu_seconds(), time.monotonic()
    run()
    after, wall = cpu_seconds(), time.monotonic() - started
    return {name: (after[name] - before[name]) / wall for name in after.keys() & before.keys()}


def _backlog_grew(name: str, windows: list[LagWindow]) -> str | None:
    """A reason when the last third of the windows' median lag is far above the first's."""
    if len(windows) < 6:
        return None
    third = len(windows) // 3
    early = median(w.p50 for w in windows[:third])
    late = median(w.p50 for w in windows[-third:])
    if late > max(BACKLOG_FACTOR * early, early + BACKLOG_MIN_S * 1000):
        return f"{name}: lag grew through the run (p50 {early:.0f} ms early, {late:.0f} ms late)"
    return None


def assess(
    load: LoadStats | None,
    busy: Mapping[str, float],
    projections: Mapping[str, Measured],
    emulated: bool,
    busy_over_time: Mapping[str, BusySeries] | None = None,
) -> Saturation:
    # judged as recorded (to a thousandth), so judging a recorded run again gives the same
    busy = {process: round(share, 3) for process, share in busy.items()}
    fired, instrument = signals(load, busy, projections)
    return Saturation(
        emulated=emulated,
        emulator_bound=emulated and bool(fired),
        observer_bound=bool(instrument),
        reasons=fired + instrument,
        busy=busy,
        busy_over_time=dict(busy_over_time or {}),
    )


def signals(
    load: LoadStats | None, busy: Mapping[str, float], projections: Mapping[str, Measured]
) -> tuple[list[str], list[str]]:
    """The saturation signals that fired, and the notes of lag windows that are observers'
    (`observer_notes`: not a signal, lag may still be bounded)."""
    reasons = [
        f"{process} busy {share:.0%} of a core during load"
        for process, share in sorted(busy.items())
        if share >= EMULATOR_BUSY
    ]
    if load and load.committed_per_s < LOAD_SHORT * load.offered_per_s:
        reasons.append(
            f"load fell short: {load.committed_per_s:.0f} changes/s committed "
            f"of {load.offered_per_s:.0f}/s offered"
        )
    for name, projection in projections.items():
        reasons += projection_signals(name, projection)
    return reasons, observer_notes(projections)


def projection_signals(name: str, projection: Measured) -> list[str]:
    """The signals one projection raised: its lag grew through the load, some of its lag
    windows were the emulator's, or it caught up slowly after the load."""
    windows = projection.lag.over_time if projection.lag else []
    grew = _backlog_grew(name, windows)
    reasons = [grew] if grew else []
    reasons += _owned_by(name, windows, "emulator", _EMULATOR_WHY)
    grace = projection.floor_ms / 1000 + CATCH_UP_GRACE_S
    reached = projection.convergence
    # a projection that settled without converging was wrong (its anomalies), not slow
    converge_s = reached.seconds if reached and not reached.settled else None
    if converge_s is not None and converge_s > grace:
        reasons.append(
            f"{name}: {converge_s:.1f} s to catch up after the load ended "
            f"(floor {projection.floor_ms / 1000:.1f} s)"
        )
    return reasons


def observer_notes(projections: Mapping[str, Measured]) -> list[str]:
    """One note per projection some of whose lag windows are its observer's: their figures
    include the instrument's own delay (not a saturation signal: lag may still be bounded)."""
    return [
        note
        for name, projection in projections.items()
        for note in _owned_by(
            name, projection.lag.over_time if projection.lag else [], "observer", _OBSERVER_WHY
        )
    ]


def _owned_by(name: str, windows: list[LagWindow], owner: str, why: str) -> list[str]:
    """A reason when some of the projection's lag windows are `owner`'s (`check.attribution`),
    saying `why` they are."""
    mine = [w for w in windows if w.bound == owner]
    if not mine:
        return []
    judged = sum(w.bound is not None for w in windows)
    return [
        f"{name}: {len(mine)} of {judged} lag windows are the {owner}'s ({why}; p99 up to "
        f"{max(w.p99 for w in mine):.0f} ms)"
    ]
