"""The workload model: which operation next, on which key, with which values.

Versions are not chosen here: the database assigns them (`version + 1` under the
row lock), so concurrent users and processes never disagree and an aborted
transaction gives its version back.
"""

import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from harness.scenario import WorkloadSpec

_NAMES = ("sprocket", "gear", "flange", "ünïcødé bolt", "歯車", "🔩 nut", 'O\'Reilly, "quoted"')
_STATUSES = ("new", "paid", "shipped", None)


class KeySpace:
    """Widget ids that may exist: 1..newest (sequence-assigned, so gaps are deleted rows)."""

    def __init__(self) -> None:
        self.newest = 0

    def saw(self, key: int) -> None:
        self.newest = max(self.newest, key)

    def pick(self, rng: random.Random, spec: WorkloadSpec) -> int | None:
        """Uniform over all ids, or Zipf-skewed with the newest ids hottest."""
        n = self.newest
        if n == 0:
            return None
        if spec.keys == "uniform":
            return rng.randint(1, n)
        return n + 1 - _bounded_zipf(rng, n, spec.zipf_s)


def _bounded_zipf(rng: random.Random, n: int, s: float) -> int:
    """Rank in 1..n with P(rank) ~ rank^-s: a power law on [1, n + 1) by inverse CDF, floored."""
    u = rng.random()
    exponent = 1 - s
    top = n + 1
    x = top**u if abs(exponent) < 1e-9 else ((top**exponent - 1) * u + 1) ** (1 / exponent)
    return min(n, max(1, int(x)))


@dataclass(frozen=True, slots=True)
class Plan:
    op: str
    """insert | update | delete | order"""
    key: int | None
    """The widget to change (None for inserts)."""
    abort: bool
    values: dict[str, Any]
    """Column values to write (widget columns, or order columns for `order`)."""
    hold_s: float = 0.0
    """How long the transaction stays open after its writes, before it commits."""


class Workload:
    def __init__(self, spec: WorkloadSpec, keys: KeySpace, seed: int | None = None) -> None:
        self.spec = spec
        self.keys = keys
        self._rng = random.Random(seed)
        self._ops = list(spec.mix)
        self._weights = [spec.mix[op] for op in self._ops]
        self._added: dict[str, tuple[str, str]] = {}
        """Table -> (column, kind) added mid-run, written by every later insert and update."""

    def add_column(self, table: str, column: str, kind: str) -> None:
        """Write `table.column` (a value of `kind`, never NULL) from the next plan on."""
        self._added[table] = (column, kind)

    def plan(self, bursting: bool = False) -> Plan:
        """The next operation; `bursting`: a LOB burst is under way (the `lob_burst` fault),
        so a widget it writes carries large notes whatever `lob_ratio` says."""
        op = self._rng.choices(self._ops, self._weights)[0]
        key = None if op == "insert" else self.keys.pick(self._rng, self.spec)
        if key is None:
            op = "insert"
        values = (
            self._order() if op == "order" else {} if op == "delete" else self._widget(bursting)
        )
        table = "orders" if op == "order" else "widgets"
        if table in self._added and values:
            column, kind = self._added[table]
            values[column] = _ADDED_VALUES[kind](self._rng)
        abort = self._rng.random() < self.spec.abort_ratio
        held = self.spec.hold_open_ratio and self._rng.random() < self.spec.hold_open_ratio
        return Plan(op, key, abort, values, self.spec.hold_open_s if held else 0.0)

    def _widget(self, bursting: bool) -> dict[str, Any]:
        rng = self._rng
        large = rng.random() < self.spec.lob_ratio or bursting
        return {
            "name": f"{rng.choice(_NAMES)} {rng.randrange(10**6)}",
            "price": None if rng.random() < 0.1 else Decimal(rng.randrange(1, 10**12)) / 10_000,
            "produced_at": None
            if rng.random() < 0.2
            else datetime(2020, 1, 1, tzinfo=UTC) + timedelta(microseconds=rng.randrange(10**14)),
            "attrs": {"color": rng.choice(_NAMES), "batch": rng.randrange(100), "tags": ["a", "ß"]},
            "notes": _text(rng, self.spec.lob_bytes) if large else None,
        } | self._falsy({"price": Decimal(0), "notes": ""})

    def _order(self) -> dict[str, Any]:
        rng = self._rng
        return {
            "quantity": rng.randint(1, 1_000),
            "amount": Decimal(rng.randrange(1, 10**10)) / 10_000,
            "status": rng.choice(_STATUSES),
            "meta": {"channel": rng.choice(("web", "store", "partner")), "note": None},
        } | self._falsy({"quantity": 0, "amount": Decimal(0), "status": ""})

    def _falsy(self, values: dict[str, Any]) -> dict[str, Any]:
        """`values` (zeros, empty strings) for a `falsy_ratio` share of rows, else nothing."""
        ratio = self.spec.falsy_ratio
        return values if ratio and self._rng.random() < ratio else {}


_ADDED_VALUES: dict[str, Callable[[random.Random], Any]] = {
    "text": lambda rng: f"{rng.choice(_NAMES)} {rng.randrange(100)}",
    "int": lambda rng: rng.randrange(-(10**12), 10**12),
    "numeric": lambda rng: Decimal(rng.randrange(10**9)) / 1_000,
    "timestamptz": lambda rng: (
        datetime(2024, 1, 1, tzinfo=UTC) + timedelta(microseconds=rng.randrange(10**13))
    ),
    "json": lambda rng: {"grade": rng.choice("ABC"), "checked": rng.random() < 0.5},
}
"""Kind -> a value for a column added mid-run."""


def _text(rng: random.Random, size: int) -> str:
    chunk = "".join(rng.choices(string.ascii_letters + "äöü€ ", k=64))
    return (chunk * (size // len(chunk) + 1))[:size]
