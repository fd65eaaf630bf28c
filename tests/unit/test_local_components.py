"""The local target starts its components in order, stops them in reverse (all of them, after
a failed start too), and gathers their failures, emulator limits and processes."""

import os
from pathlib import Path

import pytest

from harness.local.component import Component
from harness.settings import Settings
from harness.targets.local import LocalTarget


class Piece(Component):
    title = "piece"

    def __init__(self, name: str, journal: list[str], fail_start: bool = False) -> None:
        self.name, self.journal, self.fail_start = name, journal, fail_start
        self.found: dict[str, str] = {}
        self.met: list[str] = []

    def start(self) -> None:
        self.journal.append(f"start {self.name}")
        if self.fail_start:
            raise RuntimeError(f"{self.name} did not start")

    def stop(self) -> None:
        self.journal.append(f"stop {self.name}")

    def failures(self) -> dict[str, str]:
        return dict(self.found)

    def limits(self) -> list[str]:
        return list(self.met)

    def processes(self) -> dict[str, int]:
        return {self.name: os.getpid()}


class Other(Piece):
    pass


def _target(tmp_path: Path, *pieces: Piece) -> LocalTarget:
    target = LocalTarget(Settings(), tmp_path)
    target._makers = [lambda p=p: p for p in pieces]
    return target


def test_started_in_order_and_stopped_in_reverse_once(tmp_path: Path) -> None:
    journal: list[str] = []
    first, second = Piece("a", journal), Other("b", journal)
    with _target(tmp_path, first, second) as target:
        assert isinstance(target, LocalTarget)
        assert target.component(Other) is second
        assert target.component(Piece) is first
    target.stop()
    assert journal == ["start a", "start b", "stop b", "stop a"]
    with pytest.raises(LookupError, match="Other"):
        target.component(Other)


def test_a_failed_start_stops_what_was_made_and_nothing_after(tmp_path: Path) -> None:
    journal: list[str] = []
    pieces = Piece("a", journal), Piece("b", journal, fail_start=True), Piece("c", journal)
    with pytest.raises(RuntimeError, match="b did not start"), _target(tmp_path, *pieces):
        pass
    assert journal == ["start a", "start b", "stop b", "stop a"]


def test_failures_limits_and_processes_of_every_component(tmp_path: Path) -> None:
    journal: list[str] = []
    first, second = Piece("a", journal), Piece("b", journal)
    with _target(tmp_path, first, second) as target:
        first.found["DMS task x"] = "broken"
        second.found["schedule rule y"] = "bad expression"
        assert target.engine_failures() == {
            "DMS task x": "broken",
            "schedule rule y": "bad expression",
        }
        second.met.append("old")
        assert target.emulator_limits() == ["old"]
        first.met.append("new")  # an earlier component's newer limit comes after
        assert target.emulator_limits() == ["old", "new"]
        assert set(target.cpu_seconds()) == {"a", "b", "harness"}
