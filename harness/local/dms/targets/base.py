"""What every DMS target implements; the task runner drives it.

Durability contract: after `flush()` returns, every row given to `load_rows` and
every transaction given to `apply` is durable on the target. The runner only
then confirms the source position, so a crash replays (duplicates) but never
loses. The runner asks `due()` after each batch read from the source (a batch
interval or size reached); targets with `flush_when_idle` are also flushed after
every read that left the source with nothing more to give, which is how streaming
targets keep latency low while still batching under load (the more changes arrive
while a flush runs, the more the next read gathers).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from harness.local.dms.changes import Row, SchemaChange, Table, Transaction
from harness.local.dms.context import TaskContext


class DmsTarget(ABC):
    flush_when_idle = True
    """Write buffered changes whenever a read drains the source (False: only when `due`)."""

    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx

    @abstractmethod
    def load_rows(self, table: Table, rows: Iterable[Row]) -> int:
        """Full load of one table (called once per table, before any `apply`); returns the
        number of rows written. May buffer; `flush()` makes it durable."""

    @abstractmethod
    def apply(self, txn: Transaction) -> None:
        """Accept one committed transaction (in commit order)."""

    @abstractmethod
    def schema_change(self, change: SchemaChange) -> None:
        """Accept a DDL change (in order with transactions)."""

    @abstractmethod
    def due(self, now: float) -> bool:
        """True when buffered changes must be written now (`now` is `time.monotonic()`)."""

    @abstractmethod
    def flush(self) -> None:
        """Write everything buffered, durably."""

    @abstractmethod
    def close(self) -> None:
        """Release clients and connections (buffered changes are not written)."""
