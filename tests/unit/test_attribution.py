"""Each lag window is the pattern's, the emulator's or the observer's: busy shares are kept
second by second, and an observer saturated on purpose by a spike owns the spike's windows
(the run says so) while the windows before it stay the pattern's."""

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.busy import HARNESS_PROCESS, BusyClock, BusySeries, sampled
from harness.check.attribution import attribute
from harness.check.lag import LagReport, LagWindow, measure_lag
from harness.check.protocol import Convergence
from harness.check.saturation import assess
from harness.load.ledger import COMMITTED, Change
from harness.observe.base import Observation, Observer, read_observations


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


def test_a_saturated_emulator_server_comes_first_then_the_observer_then_the_host() -> None:
    def whose(observer: BusySeries, **emulator: BusySeries) -> str:
        return attribute([WINDOW], 1, 0, observer, emulator)[0]

    assert whose(SATURATED, moto=SATURATED) == "emulator"
    assert whose(SATURATED, moto=QUIET, **{HARNESS_PROCESS: SATURATED}) == "observer"
    assert whose(QUIET, moto=QUIET, **{HARNESS_PROCESS: SATURATED}) == "emulator"
    assert whose(QUIET, moto=QUIET) == "pattern"
    assert attribute([WINDOW], 1, 0, None, {}) == ["pattern"]


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


def _commit(committed: list[Change], lock: threading.Lock) -> None:
    """20 changes/s for 3 s, a spike at 250/s for 2 s (past the reader's 100/s), 20/s after."""
    plan = [(3.0, 20), (2.0, 250), (3.0, 20)]
    key = 0
    for seconds, rate in plan:
        for _ in range(int(seconds * rate)):
            key += 1
            now = time.time_ns()
            with lock:
                change = Change("widgets", str(key), 1, "insert", COMMITTED, now, now, key, "")
                committed.append(change)
            time.sleep(1 / rate)


@pytest.mark.slow
def test_an_observer_saturated_by_a_spike_owns_its_windows(tmp_path: Path) -> None:
    committed: list[Change] = []
    lock = threading.Lock()
    observer = SlowReader(tmp_path / "obs.csv", committed, lock)
    observer.start()
    _commit(committed, lock)
    while observer.observed < len(committed):
        time.sleep(0.1)
    observer.stop()

    lag = measure_lag(committed, read_observations(tmp_path / "obs.csv"), window_s=1.0)
    origin_s = min(c.acked_ns for c in committed) / 1e9
    stats = observer.stats()
    bounds = attribute(lag.over_time, 1.0, origin_s, stats.busy_over_time, {})
    for window, bound in zip(lag.over_time, bounds, strict=True):
        window.bound = bound

    assert bounds[:2] == ["pattern", "pattern"]  # 20/s: a fifth of its time
    assert "observer" in bounds[3:6]  # the spike's windows
    assert max(w.p99 for w in lag.over_time[3:6]) > 5 * lag.over_time[0].p99
    measured = _Measured(lag=lag, convergence=None, floor_ms=0.0)
    verdict = assess(None, {}, {"projection": measured}, emulated=False)
    assert verdict.observer_bound and not verdict.emulator_bound
    assert any("lag windows are the observer's" in r for r in verdict.reasons)
