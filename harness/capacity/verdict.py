"""Whether one step of a capacity search was sustained, and if not, what bound it.

A step is sustained when none of the run's saturation signals fire over it
(`check.saturation.assess`: a process saturated, the load short of the offered rate, lag
that grew through the step or a slow catch-up after it, lag windows that were an
emulator's): its lag stayed bounded. Lag windows that were an observer's do not fail a step
by themselves (the instrument added a share of the lag, which stayed bounded); they are
noted among its reasons, and name the observer as the bound when a signal fires. What bound
an unsustained step is the first of:
- the emulator: a server (moto, the Kafka broker) saturated, or lag windows that were its;
- the local engines: the harness process (engines and observers) saturated;
- the host CPU: every core busy (on a small machine the emulator, the engines, the load and
  the source share them);
- the load driver, or else the source, when the load fell short of the offered rate;
- the observer: lag windows that were the instrument's, in a projection that raised a signal;
- else the pattern (its configured windows, batch sizes and concurrency).
"""

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field

from harness.busy import HARNESS_PROCESS
from harness.check.saturation import (
    EMULATOR_BUSY,
    LOAD_SHORT,
    Measured,
    projection_signals,
    signals,
)
from harness.load.locust_runner import LoadStats

Bound = Literal[
    "emulator", "local engines", "host CPU", "load driver", "source", "observer", "pattern"
]
Purpose = Literal["warm-up", "search", "at 50%", "at 90%"]

HOST_BUSY = 0.9
"""Share of all cores in use at which the host itself is the limit."""
DRIVER_BUSY = 0.85
"""Share of a core per Locust process at which the load driver is the limit."""
HOST = "host"
LOAD_DRIVER = "load driver"


class StepLag(BaseModel):
    """One projection's lag from commit in a step (ms) and its catch-up after it."""

    p50: float | None
    p90: float | None
    p99: float | None
    seen: int
    unseen: int
    converge_s: float | None


class CapacityStep(BaseModel):
    purpose: Purpose
    offered_per_s: float
    seconds: float
    """How long the load was offered."""
    users: int
    committed_per_s: float
    sustained: bool
    bound: Bound | None = None
    """What stopped it (None: sustained)."""
    reasons: list[str] = Field(default_factory=list)
    busy: dict[str, float] = Field(default_factory=dict)
    """Share of a core each process used while the load ran, with `host` (share of all
    cores) and `load driver` (Locust, all its processes)."""
    lag: dict[str, StepLag] = Field(default_factory=dict)


class Capacity(BaseModel):
    sustained_per_s: float | None
    """The highest rate offered that was sustained (None: not even the lowest)."""
    bound: Bound | None
    """What bound the lowest rate that was not sustained (None: the ceiling was reached)."""
    ceiling_per_s: float
    steps: list[CapacityStep]

    def at(self, purpose: Purpose) -> CapacityStep | None:
        return next((s for s in self.steps if s.purpose == purpose), None)


def judge(
    load: LoadStats,
    busy: Mapping[str, float],
    projections: Mapping[str, Measured],
    emulated: bool,
    processes: int,
) -> tuple[Bound | None, list[str]]:
    """What bound a step (None: sustained) and every signal that fired, with the notes of
    lag windows that were an observer's (`check.saturation.signals`). `busy`: each
    emulator process's share of a core, with `HOST` and `LOAD_DRIVER`; `projections`: their
    lag over the step, windows attributed; `processes`: Locust's worker processes."""
    emulator = {n: share for n, share in busy.items() if emulated and n not in (HOST, LOAD_DRIVER)}
    # judged as recorded (to a thousandth), as `assess` judges a run
    fired, notes = signals(load, {n: round(s, 3) for n, s in emulator.items()}, projections)
    reasons = fired + notes
    host, driver = busy.get(HOST, 0.0), busy.get(LOAD_DRIVER, 0.0)
    if not fired:
        return None, notes
    # the windows of the projections that raised a signal: another's observer did not bind
    raised = [p for n, p in projections.items() if p.lag and projection_signals(n, p)]
    windows = [w.bound for p in raised if p.lag for w in p.lag.over_time]
    saturated = {n for n, share in emulator.items() if share >= EMULATOR_BUSY}
    short = load.committed_per_s < LOAD_SHORT * load.offered_per_s
    if saturated - {HARNESS_PROCESS}:
        return "emulator", reasons
    if HARNESS_PROCESS in saturated:
        return "local engines", reasons
    if "emulator" in windows:
        return "emulator", reasons
    if host >= HOST_BUSY:
        return "host CPU", [*reasons, f"host CPU busy {host:.0%} of all cores"]
    if short:
        return ("load driver" if driver >= DRIVER_BUSY * processes else "source"), reasons
    if "observer" in windows:
        return "observer", reasons
    return "pattern", reasons
