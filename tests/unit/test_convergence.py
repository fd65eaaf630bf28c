"""Waiting for projections after the load: converged when the final state shows, settled
when a wrong state stops changing past the floor, neither while it keeps changing."""

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.check.protocol import Convergence
from harness.convergence import await_convergence
from harness.load.ledger import COMMITTED, Change
from harness.observe.base import Observation, Observer

FINAL = Change("widgets", "1", 2, "update", COMMITTED, 0, 0, 1, "")
EXPECTED = {FINAL.entity: FINAL}


class Scripted(Observer):
    """Shows the version `script(poll number)` gives (None: nothing new)."""

    def __init__(self, log_path: Path, script: Callable[[int], int | None]) -> None:
        super().__init__("projection", log_path)
        self.script = script
        self.polls = 0

    def poll(self) -> list[Observation]:
        self.polls += 1
        version = self.script(self.polls)
        if version is None:
            return []
        return [Observation("projection", "widgets", "1", version, "upsert", 0, str(self.polls))]


def wait(
    observer: Observer,
    floor_s: float,
    timeout_s: float,
    settle_s: float,
    failed: Callable[[str], bool] = lambda _name: False,
    held_s: float = 0.0,
) -> tuple[Convergence, float]:
    observer.start()
    started = time.monotonic()
    try:
        done = await_convergence(
            EXPECTED, {"p": observer}, {"p": floor_s}, timeout_s, settle_s, failed, {"p": held_s}
        )["p"]
    finally:
        observer.stop()
    return done, time.monotonic() - started


def test_a_projection_showing_the_final_state_converges(tmp_path: Path) -> None:
    observer = Scripted(tmp_path / "obs.csv", lambda n: 2 if n == 3 else None)

    done, _ = wait(observer, floor_s=0, timeout_s=10, settle_s=5)

    assert done.converged and not done.settled


def test_a_wrong_projection_that_stops_changing_settles_after_floor_and_settle_time(
    tmp_path: Path,
) -> None:
    observer = Scripted(tmp_path / "obs.csv", lambda n: 1 if n == 1 else None)

    done, took = wait(observer, floor_s=0.3, timeout_s=10, settle_s=0.3)

    assert not done.converged and done.settled
    assert 0.6 <= took < 5


@pytest.mark.parametrize("held_s", [0.0, 2.0])
def test_a_projection_a_fault_may_still_hold_up_does_not_settle_before_then(
    tmp_path: Path, held_s: float
) -> None:
    """e.g. a batch a failing function left in a queue comes back after the queue's
    visibility timeout: the final state shows after the floor and settle time, within what
    the fault's expected outcome allows."""
    shows_at = time.monotonic() + 1.0

    def script(n: int) -> int | None:
        if time.monotonic() >= shows_at:
            return 2
        return 1 if n == 1 else None

    done, _ = wait(Scripted(tmp_path / "obs.csv", script), 0.1, 10, 0.1, held_s=held_s)

    assert done.converged is bool(held_s) and done.settled is not bool(held_s)


def test_a_projection_showing_its_final_state_is_not_converged_while_a_fault_may_hold_some_up(
    tmp_path: Path,
) -> None:
    """An earlier change a fault held up (a timed-out batch back after the queue's visibility
    timeout) may still come after its entity's last one: the wait lasts what the fault's
    expected outcome allows."""
    observer = Scripted(tmp_path / "obs.csv", lambda n: 2 if n == 1 else None)

    done, took = wait(observer, floor_s=0, timeout_s=10, settle_s=0.1, held_s=1.0)

    assert done.converged and not done.settled
    assert done.seconds >= 1.0 and took >= 1.0


def test_a_projection_still_changing_at_the_deadline_neither_converged_nor_settled(
    tmp_path: Path,
) -> None:
    observer = Scripted(tmp_path / "obs.csv", lambda n: 1)

    done, took = wait(observer, floor_s=0, timeout_s=1.0, settle_s=0.3)

    assert not done.converged and not done.settled
    assert took >= 1.0


def test_a_failed_service_ends_the_wait_and_what_shows_then_is_final(tmp_path: Path) -> None:
    observer = Scripted(tmp_path / "obs.csv", lambda n: 1 if n == 1 else None)
    started = time.monotonic()

    def failed(name: str) -> bool:
        return name == "p" and time.monotonic() - started > 0.5

    done, took = wait(observer, floor_s=0, timeout_s=30, settle_s=20, failed=failed)

    assert not done.converged and done.settled
    assert 0.5 <= took < 5


def test_a_failed_service_ends_the_wait_for_its_own_projections_only(tmp_path: Path) -> None:
    stuck = Scripted(tmp_path / "stuck.csv", lambda n: 1 if n == 1 else None)
    late = Scripted(tmp_path / "late.csv", lambda n: 2 if n == 15 else None)
    observers = {"a/p": stuck, "b/p": late}
    for observer in observers.values():
        observer.start()
    try:
        done = await_convergence(
            EXPECTED, observers, dict.fromkeys(observers, 0.0), 30, 20, lambda n: n == "a/p"
        )
    finally:
        for observer in observers.values():
            observer.stop()

    assert not done["a/p"].converged and done["a/p"].settled
    assert done["b/p"].converged and done["b/p"].seconds >= done["a/p"].seconds
