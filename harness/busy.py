"""How busy a process (or an observer's thread) was, second by second of wall-clock time,
and an observer's own delay, second by second.

The run's figures say how busy each emulator process and each observer was on average; lag,
though, is judged window by window, so each window can be told apart as the pattern's, the
emulator's or the observer's (`check.attribution`). A series is one share of a core per
second, from a wall-clock start (the clock the ledger's times are on).
"""

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pydantic import BaseModel

HARNESS_PROCESS = "harness"
"""The name the harness's own process goes by among the emulator's (it runs the local
engines and the observers)."""


class SecondSeries(BaseModel):
    """One figure per second of wall-clock time."""

    started_s: float
    """Wall-clock time (epoch seconds) at which the first second starts."""
    per_s: list[float]

    def overlapping(self, start_s: float, end_s: float) -> list[float]:
        """The figures of the seconds overlapping [start_s, end_s)."""
        first = max(0, int(start_s - self.started_s))
        last = min(len(self.per_s), int(end_s - self.started_s) + 1)
        return self.per_s[first:last]


class BusySeries(SecondSeries):
    """`per_s`: share of one core used in each second."""

    def share(self, start_s: float, end_s: float) -> float | None:
        """Mean share over the seconds overlapping [start_s, end_s); None where none do."""
        shares = self.overlapping(start_s, end_s)
        return sum(shares) / len(shares) if shares else None


class PeakSeries(SecondSeries):
    """`per_s`: the largest value seen in each second (0.0: none)."""

    def peak(self, start_s: float, end_s: float) -> float | None:
        """The largest value over the seconds overlapping [start_s, end_s); None where none do."""
        return max(self.overlapping(start_s, end_s), default=None)


class _Seconds:
    """Figures kept second by second from when it was made."""

    def __init__(self) -> None:
        self.started_s = time.time()
        self._seconds: list[float] = []

    def _grow(self, index: int) -> None:
        """Make room up to second `index`."""
        if index >= len(self._seconds):
            self._seconds.extend([0.0] * (index + 1 - len(self._seconds)))


class BusyClock(_Seconds):
    """Adds up busy intervals into seconds (an observer's polls)."""

    def add(self, start_s: float, busy_s: float) -> None:
        """`busy_s` seconds of work from wall-clock `start_s` on."""
        at, left = start_s - self.started_s, busy_s
        while left > 0 and at >= 0:
            index = int(at)
            self._grow(index)
            part = min(left, index + 1 - at)
            self._seconds[index] += part
            at, left = at + part, left - part

    def series(self) -> BusySeries:
        return BusySeries(
            started_s=round(self.started_s, 3),
            per_s=[round(min(s, 1.0), 3) for s in self._seconds],
        )


class PeakClock(_Seconds):
    """Keeps the largest value seen in each second (an observer's own delay)."""

    def add(self, at_s: float, value: float) -> None:
        """`value` seen at wall-clock `at_s`."""
        index = int(at_s - self.started_s)
        if index < 0:
            return
        self._grow(index)
        self._seconds[index] = max(self._seconds[index], value)

    def series(self) -> PeakSeries:
        return PeakSeries(
            started_s=round(self.started_s, 3), per_s=[round(s, 3) for s in self._seconds]
        )


@contextmanager
def sampled(cpu_seconds: Callable[[], dict[str, float]]) -> Iterator[dict[str, BusySeries]]:
    """Sample `cpu_seconds` (CPU seconds used so far, by process) every second while the block
    runs; the dict it yields holds each process's series once the block has ended."""
    found: dict[str, BusySeries] = {}
    stop = threading.Event()
    started = time.time()
    samples: list[tuple[float, dict[str, float]]] = [(started, cpu_seconds())]

    def sample() -> None:
        while not stop.wait(started + len(samples) - time.time()):
            samples.append((time.time(), cpu_seconds()))

    thread = threading.Thread(target=sample, name="cpu-sampler", daemon=True)
    thread.start()
    try:
        yield found
    finally:
        stop.set()
        thread.join()
        samples.append((time.time(), cpu_seconds()))
        for name in samples[0][1]:
            used = [(at, s[name]) for at, s in samples if name in s]
            shares = [
                round(max(0.0, (b - a) / (tb - ta)), 3)
                for (ta, a), (tb, b) in itertools.pairwise(used)
                if tb > ta
            ]
            found[name] = BusySeries(started_s=round(started, 3), per_s=shares)
