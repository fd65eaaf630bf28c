"""What every DMS source implements; the task runner drives it.

A source yields full-load tables (a snapshot consistent with where CDC starts:
no change lost or doubled between them), then committed transactions and DDL
changes in commit order. `confirm(position)` tells it the target has durably
accepted everything up to that position; only then may it forget those changes
(advance a replication slot, record a processed file). Items carry source-side
tables; the runner applies the task's table mapping.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator

from harness.local.dms.changes import Item, Row, Table
from harness.local.dms.context import TaskContext


class SourceError(RuntimeError):
    """The source cannot be read as configured (the task fails with this message)."""


class DmsSource(ABC):
    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx
        self.caught_up = False
        """The last `read` gave everything there was (it did not stop at its size cap): the
        source has nothing more right now."""

    @abstractmethod
    def open(self, checkpoint: str | None, full_load: bool) -> None:
        """Connect and fix the CDC start point: resume from `checkpoint` when given, else
        start now (and prepare a consistent snapshot when `full_load`)."""

    @abstractmethod
    def full_load(self) -> Iterator[tuple[Table, Iterable[Row]]]:
        """Every selected table with its rows, as of the CDC start point."""

    @abstractmethod
    def read(self, timeout_s: float) -> list[Item]:
        """The next items available, in commit order; an empty list after `timeout_s`. Sets
        `caught_up`."""

    @abstractmethod
    def confirm(self, position: str) -> None:
        """Everything up to `position` is durable on the target."""

    @abstractmethod
    def checkpoint(self) -> str | None:
        """The last confirmed position: where a resumed task starts."""

    @abstractmethod
    def close(self) -> None:
        """Disconnect, keeping server-side state (a replication slot) for resume."""

    @abstractmethod
    def drop(self) -> None:
        """Remove server-side state for good (the task was deleted). Safe after `close`."""
