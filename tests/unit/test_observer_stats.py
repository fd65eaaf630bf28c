"""Observer stats: rate, busy time without waits, and falling behind reported once."""

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.observe.base import BEHIND_AFTER_S, Observation, Observer
from tests.helpers import wait_for


class _Scripted(Observer):
    """Returns one observation per poll for `n` polls, lagging while `lag_until` has not
    passed, and waits `wait_s` per poll as a long poll would."""

    def __init__(self, log_path: Path, n: int, lag_s: float = 0.0, wait_s: float = 0.0) -> None:
        super().__init__("scripted", log_path)
        self.n, self.lag_s, self.wait_s = n, lag_s, wait_s
        self.began = self.lagged_s = 0.0

    def poll(self) -> list[Observation]:
        if not self.began:
            self.began = time.monotonic()
        if self.wait_s:
            waiting = time.monotonic()
            time.sleep(self.wait_s)
            self.waited_s += time.monotonic() - waiting  # as long as it really waited
        self.lagging = time.monotonic() - self.began < self.lag_s
        if self.lagging:
            self.lagged_s = time.monotonic() - self.began  # as far as this poll saw it lag
        if self.n <= 0:
            return []
        self.n -= 1
        return [Observation("scripted", "widgets", str(self.n), 1, "upsert", time.time_ns(), "p")]


def _run(observer: Observer, seconds: float, until: Callable[[], object] = bool) -> None:
    """Run `observer` for `seconds`, and on until `until()` holds (the observer's thread may
    start late or be held up on a busy machine)."""
    observer.start()
    time.sleep(seconds)
    wait_for(until, "the observer to get there", timeout_s=30)
    observer.stop()


def _lag_ended(observer: _Scripted) -> Callable[[], bool]:
    """Whether the observer's lagging stretch is over."""
    return lambda: bool(observer.began) and time.monotonic() - observer.began > observer.lag_s


def test_stats_count_what_was_observed_and_keep_busy_within_wall(tmp_path: Path) -> None:
    observer = _Scripted(tmp_path / "o.csv", n=50)
    _run(observer, 0.3, until=lambda: observer.stats().polls > 50)

    stats = observer.stats()

    assert stats.observed == 50
    assert stats.polls > 50  # idle polls after the last observation
    assert 0 <= stats.busy_s < stats.wall_s
    assert stats.capacity_per_s is not None and stats.capacity_per_s > stats.per_s
    assert stats.per_s == pytest.approx(50 / stats.wall_s, rel=0.01)
    assert stats.falling_behind is False and stats.behind_s == 0


def test_time_spent_waiting_for_data_is_not_busy(tmp_path: Path) -> None:
    observer = _Scripted(tmp_path / "o.csv", n=0, wait_s=0.05)
    _run(observer, 0.5, until=lambda: observer.stats().polls >= 5)

    stats = observer.stats()

    assert stats.polls >= 5
    assert stats.busy_s < 0.1 * stats.wall_s


def test_lagging_for_long_is_falling_behind_and_said_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    observer = _Scripted(tmp_path / "o.csv", n=10**6, lag_s=BEHIND_AFTER_S + 1.0)
    _run(observer, BEHIND_AFTER_S + 1.5, until=_lag_ended(observer))

    stats = observer.stats()

    assert stats.falling_behind is True
    assert max(BEHIND_AFTER_S, round(observer.lagged_s, 3)) <= stats.longest_behind_s
    assert stats.longest_behind_s <= BEHIND_AFTER_S + 1.5
    assert stats.behind_s == pytest.approx(stats.longest_behind_s, abs=0.05)
    assert capsys.readouterr().err.count("observer scripted is falling behind") == 1


def test_short_lagging_stretches_are_not_falling_behind(tmp_path: Path) -> None:
    observer = _Scripted(tmp_path / "o.csv", n=10**6, lag_s=0.3)
    _run(observer, 0.6, until=_lag_ended(observer))

    stats = observer.stats()

    # A busy machine may hold the thread up so that fewer polls see the lag: the stretch
    # is what the polls saw, never less, and short of falling behind.
    assert 0 < round(observer.lagged_s, 3) <= stats.behind_s < BEHIND_AFTER_S  # stats: ms
    assert stats.falling_behind is False
