"""Each lag window is the pattern's, the emulator's or the observer's: busy shares and an
observer's own delay are kept second by second; an observer saturated on purpose by a spike
owns the spike's windows (the run says so) while the windows before it stay the pattern's,
and an observer busy all the time on quick round trips owns none."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.busy import HARNESS_PROCESS, BusyClock, BusySeries, PeakClock, PeakSeries, sampled
from harness.check.attribution import attribute
from harness.check.lag import LagReport, LagWindow, measure_lag
from harness.check.protocol import Convergence
from harness.check.saturation import assess
from harness.load.ledger import COMMITTED, Change
from harness.observe.base import Observation, Observer, ObserverStats, read_observations


@dataclass
class _Measured:
    lag: LagReport | None
    convergence: Convergence | None
    floor_ms: float


def test_a_busy_interval_is_split_across_the_seconds_it_spans() -> None:
    clock = BusyClock()
    clock.add(clock.started_s + 0.5, 1.0)
    clock.add(clock.started_s + 2.9, 0.2)

    assert clock.series().per_s == [0.5, 0.5, 0.1, 0.1]


def test_a_share_is_the_mean_of_the_seconds_an_interval_overlaps() -> None:
    series = BusySeries(started_s=100.0, per_s=[0.2, 0.4, 0.9, 1.0])

    assert series.share(101.0, 103.0) == (0.4 + 0.9 + 1.0) / 3
    assert series.share(90.0, 95.0) is None


def test_a_peak_clock_keeps_each_seconds_largest_value() -> None:
    clock = PeakClock()
    for at, value in ((0.2, 0.05), (0.7, 0.3), (0.9, 0.1), (2.5, 0.02)):
        clock.add(clock.started_s + at, value)

    series = clock.series()
    assert series.per_s == [0.3, 0.0, 0.02]
    assert series.peak(series.started_s + 1, series.started_s + 2.1) == 0.02
    assert series.peak(series.started_s + 9, series.started_s + 10) is None


def test_cpu_seconds_are_sampled_every_second() -> None:
    started = time.monotonic()

    def half_a_core() -> dict[str, float]:
        return {"moto": (time.monotonic() - started) / 2}

    with sampled(half_a_core) as found:
        time.sleep(2.5)

    shares = found["moto"].per_s
    assert len(shares) == 3 and all(abs(s - 0.5) < 0.05 for s in shares)


WINDOW = LagWindow(start_s=1, count=1, p50=10, p99=10, max=10)
QUIET = BusySeries(started_s=0, per_s=[0.1] * 5)
SATURATED = BusySeries(started_s=0, per_s=[1.0] * 5)


def _stats(busy: BusySeries, delay_s: float | None = None) -> ObserverStats:
    delay = None if delay_s is None else PeakSeries(started_s=0, per_s=[delay_s] * 5)
    return ObserverStats(
        observed=0, polls=0, wall_s=0, busy_s=0, per_s=0, capacity_per_s=None, behind_s=0,
        longest_behind_s=0, falling_behind=False, busy_over_time=busy, delay_over_time=delay,
    )  # fmt: skip


def test_a_saturated_emulator_server_comes_first_then_the_observer_then_the_host() -> None:
    def whose(observer: BusySeries, **emulator: BusySeries) -> str:
        return attribute([WINDOW], 1, 0, _stats(observer), emulator)[0]

    assert whose(SATURATED, moto=SATURATED) == "emulator"
    assert whose(SATURATED, moto=QUIET, **{HARNESS_PROCESS: SATURATED}) == "observer"
    assert whose(QUIET, moto=QUIET, **{HARNESS_PROCESS: SATURATED}) == "emulator"
    assert whose(QUIET, moto=QUIET) == "pattern"
    assert attribute([WINDOW], 1, 0, None, {}) == ["pattern"]


def test_a_busy_observer_owns_a_window_only_where_its_own_delay_is_a_share_of_the_lag() -> None:
    window = LagWindow(start_s=1, count=1, p50=300, p99=400, max=400)

    def whose(busy: BusySeries, delay_s: float) -> str:
        return attribute([window], 1, 0, _stats(busy, delay_s), {})[0]

    assert whose(SATURATED, 0.02) == "pattern"  # 20 ms of a 400 ms p99
    assert whose(SATURATED, 0.1) == "observer"  # a quarter of it
    assert whose(QUIET, 0.4) == "pattern"  # slow, not saturated: its configured interval


class SlowReader(Observer):
    """Reads what the source committed so far, at COST_S of its own time per change."""

    COST_S = 0.01

    def __init__(self, log_path: Path, committed: list[Change], lock: threading.Lock) -> None:
        super().__init__("projection", log_path)
        self.committed, self.lock, self.read = committed, lock, 0

    def poll(self) -> list[Observation]:
        with self.lock:
            batch = self.committed[self.read : self.read + 50]
        self.read += len(batch)
        seen = []
        for change in batch:
            time.sleep(self.COST_S)  # its own work per change: busy, not waiting
            seen.append(
                Observation(
                    "projection", change.table, change.key, change.version, "upsert",
                    time.time_ns(), str(self.read),
                )
            )  # fmt: skip
        return seen


Reader = Callable[[Path, list[Change], threading.Lock], Observer]


def _observe(
    tmp_path: Path, reader: Reader, plan: list[tuple[float, int]]
) -> tuple[Observer, LagReport, list[str]]:
    """Commit at each (seconds, changes/s) of `plan` while `reader` observes; the stopped
    observer, its lag and each window's owner."""
    committed: list[Change] = []
    lock = threading.Lock()
    observer = reader(tmp_path / "obs.csv", committed, lock)
    observer.start()
    key = 0
    for seconds, rate in plan:
        for _ in range(int(seconds * rate)):
            key += 1
            now = time.time_ns()
            with lock:
                committed.append(
                    Change("widgets", str(key), 1, "insert", COMMITTED, now, now, key, "")
                )
            time.sleep(1 / rate)
    while observer.observed < len(committed):
        time.sleep(0.1)
    observer.stop()
    lag = measure_lag(committed, read_observations(tmp_path / "obs.csv"), window_s=1.0)
    origin_s = min(c.acked_ns for c in committed) / 1e9
    bounds = attribute(lag.over_time, 1.0, origin_s, observer.stats(), {})
    return observer, lag, bounds


@pytest.mark.slow
def test_an_observer_saturated_by_a_spike_owns_its_windows(tmp_path: Path) -> None:
    # 20 changes/s for 3 s, a spike at 250/s for 2 s (past the reader's 100/s), 20/s after
    _, lag, bounds = _observe(tmp_path, SlowReader, [(3.0, 20), (2.0, 250), (3.0, 20)])
    for window, bound in zip(lag.over_time, bounds, strict=True):
        window.bound = bound

    assert bounds[:2] == ["pattern", "pattern"]  # 20/s: a fifth of its time
    assert "observer" in bounds[3:6]  # the spike's windows
    assert max(w.p99 for w in lag.over_time[3:6]) > 5 * lag.over_time[0].p99
    measured = _Measured(lag=lag, convergence=None, floor_ms=0.0)
    verdict = assess(None, {}, {"projection": measured}, emulated=False)
    assert verdict.observer_bound and not verdict.emulator_bound
    assert any("lag windows are the observer's" in r for r in verdict.reasons)


class QuickReader(Observer):
    """Reads what became readable PATTERN_S after commit, each poll one ROUND_TRIP_S wait."""

    PATTERN_S = 0.3
    ROUND_TRIP_S = 0.015

    def __init__(self, log_path: Path, committed: list[Change], lock: threading.Lock) -> None:
        super().__init__("projection", log_path)
        self.committed, self.lock, self.read = committed, lock, 0

    def poll(self) -> list[Observation]:
        time.sleep(self.ROUND_TRIP_S)  # a call to a server that answers at once
        readable_ns = time.time_ns() - int(self.PATTERN_S * 1e9)
        with self.lock:
            batch = [c for c in self.committed[self.read :] if c.acked_ns <= readable_ns]
        self.read += len(batch)
        return [
            Observation("projection", c.table, c.key, c.version, "upsert", time.time_ns(), "")
            for c in batch
        ]


@pytest.mark.slow
def test_an_observer_busy_on_quick_round_trips_owns_no_window(tmp_path: Path) -> None:
    # 200/s for 3 s: every poll finds something
    observer, lag, bounds = _observe(tmp_path, QuickReader, [(3.0, 200)])
    stats = observer.stats()

    assert stats.busy_over_time is not None and stats.delay_over_time is not None
    assert max(stats.busy_over_time.per_s[1:3]) >= 0.8  # saturated by the old rule
    assert 0 < max(stats.delay_over_time.per_s) < 0.1  # a poll or two
    assert all(w.p99 >= 300 for w in lag.over_time)
    assert bounds == ["pattern"] * len(lag.over_time)


class SlowPoller(Observer):
    """Each poll reads all it watches, slower than its interval: always lagging."""

    idle_s = busy_s = 0.05

    def poll(self) -> list[Observation]:
        time.sleep(0.1)
        self.lagging = True
        return [Observation("projection", "widgets", "1", 1, "upsert", time.time_ns(), "")]


@pytest.mark.parametrize("reads_everything", [True, False])
def test_a_slow_poll_that_reads_everything_delays_by_one_cycle_not_more(
    tmp_path: Path, reads_everything: bool
) -> None:
    observer = SlowPoller("projection", tmp_path / "obs.csv")
    observer.reads_everything = reads_everything
    observer.start()
    time.sleep(1.6)
    observer.stop()

    delay = observer.stats().delay_over_time
    assert delay is not None
    if reads_everything:  # a poll and the interval before it, or two polls
        assert 0.1 <= max(delay.per_s) < 0.4
    else:  # a lagging stream leaves changes unread: they wait since the stretch began
        assert max(delay.per_s) > 1.2
