"""The workload model: which change to make next, with which key, version and row image."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from harness.load.schema import TABLE
from harness.scenario import WorkloadSpec

_COLORS = ("red", "green", "blue", "ünïcødé", "日本")


@dataclass(frozen=True, slots=True)
class PlannedChange:
    table: str
    op: str
    key: int
    version: int
    row: dict[str, Any] | None
    """The row image to write; None for deletes."""
    abort: bool


class Workload:
    """Chooses operations by weight; updates and deletes pick a live key uniformly.

    A key's committed versions are consecutive: an aborted change gives its version back.
    """

    def __init__(self, spec: WorkloadSpec, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        self._ops = list(spec.mix)
        self._weights = [spec.mix[op] for op in self._ops]
        self._abort_ratio = spec.abort_ratio
        self._next_key = 1
        self._versions: dict[int, int] = {}
        self._live: list[int] = []
        self._slot: dict[int, int] = {}

    def plan(self) -> PlannedChange:
        op = self._rng.choices(self._ops, self._weights)[0]
        if op != "insert" and self._live:
            key = self._live[self._rng.randrange(len(self._live))]
        else:
            op, key = "insert", self._next_key
            self._next_key += 1
        version = self._versions.get(key, 0) + 1
        self._versions[key] = version
        row = None if op == "delete" else self._row(key, version)
        return PlannedChange(TABLE, op, key, version, row, self._rng.random() < self._abort_ratio)

    def settle(self, change: PlannedChange, committed: bool) -> None:
        """Record the outcome so later choices see the rows that exist."""
        if not committed:
            self._versions[change.key] = change.version - 1
            return
        if change.op == "insert":
            self._slot[change.key] = len(self._live)
            self._live.append(change.key)
        elif change.op == "delete":
            index = self._slot.pop(change.key)
            last = self._live.pop()
            if last != change.key:
                self._live[index] = last
                self._slot[last] = index

    def _row(self, key: int, version: int) -> dict[str, Any]:
        return {
            "id": key,
            "version": version,
            "written_at": datetime.now(UTC).isoformat(),
            "name": f"widget {key} v{version}",
            "price": Decimal(self._rng.randrange(1, 10**8)) / 10_000,
            "attrs": {"color": self._rng.choice(_COLORS), "batch": version},
        }
