"""Whose is each lag window: the pattern's, the emulator's, or the observer's.

The changes committed in a window are carried to the projection from the window's start
until its slowest sighting (the window's end plus its p99 lag). Over that time, in order:
- an emulator server (moto, the Kafka broker) used EMULATOR_BUSY of a core or more: the
  window is the emulator's (an observer waiting on it is slow because of it);
- the projection's observer spent OBSERVER_BUSY or more of each second polling, and its
  own delay (`ObserverStats.delay_over_time`) reached OBSERVER_DELAY_SHARE of the
  window's p99: its sightings include its own delay, the window is the observer's (the
  instrument's). Busy alone is not enough: an observer whose every poll finds something
  polls again at once, busy all the time while each change waits on it only a round trip.
  Older results, without the delay, are judged by busy alone;
- the harness process, which runs the local engines beside the observers, used
  EMULATOR_BUSY of a core or more: the emulator's;
- else the pattern's.
Emulator processes are only judged on an emulated target. A run judged as a whole can hide
all this: a spike saturates an observer for a few windows of a run it otherwise keeps up with.
"""

from collections.abc import Mapping
from typing import Literal

from harness.busy import HARNESS_PROCESS, BusySeries
from harness.check.lag import LagWindow
from harness.check.saturation import EMULATOR_BUSY, OBSERVER_BUSY, OBSERVER_DELAY_SHARE
from harness.observe.base import ObserverStats

Bound = Literal["pattern", "emulator", "observer"]


def attribute(
    windows: list[LagWindow],
    window_s: float,
    origin_s: float,
    observer: ObserverStats | None,
    emulator: Mapping[str, BusySeries],
) -> list[Bound]:
    """Each window's owner. `origin_s`: wall-clock time of the first commit (the windows'
    zero); `observer`: the projection observer's stats; `emulator`: each emulator
    process's busy series (empty where nothing is emulated)."""
    servers = [s for name, s in emulator.items() if name != HARNESS_PROCESS]
    host = emulator.get(HARNESS_PROCESS)

    def saturated(series: BusySeries | None, start: float, end: float, limit: float) -> bool:
        return series is not None and (series.share(start, end) or 0.0) >= limit

    def instrument(window: LagWindow, start: float, end: float) -> bool:
        if observer is None or not saturated(observer.busy_over_time, start, end, OBSERVER_BUSY):
            return False
        if observer.delay_over_time is None:
            return True
        delay_s = observer.delay_over_time.peak(start, end) or 0.0
        return delay_s * 1000 >= OBSERVER_DELAY_SHARE * window.p99

    bounds: list[Bound] = []
    for window in windows:
        start = origin_s + window.start_s
        end = start + window_s + window.p99 / 1000
        if any(saturated(s, start, end, EMULATOR_BUSY) for s in servers):
            bounds.append("emulator")
        elif instrument(window, start, end):
            bounds.append("observer")
        elif saturated(host, start, end, EMULATOR_BUSY):
            bounds.append("emulator")
        else:
            bounds.append("pattern")
    return bounds
