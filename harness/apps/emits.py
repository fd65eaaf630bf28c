"""What an application did with each change's event, recorded beside the ledger (one file
per process, `emits-*.csv`): sent, refused by the API, or never sent because the process
"died" inside its dual-write window. With the ledger, it tells the checker's findings apart:
a change missing from the event store because it was never sent, against one lost on the
way."""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from harness.load.ledger import COMMITTED, Change
from harness.records import RecordWriter, process_writer, read_records


@dataclass(frozen=True, slots=True)
class Emit:
    table: str
    key: str
    version: int
    """The change's ledger version (a delete's is the deleted version + 1)."""
    txid: int
    sent: bool
    """The queue accepted its message."""
    crashed: bool
    """Its transaction met the application's injected death: after the commit and before
    the send (never sent), or between the send and the commit (sent, then rolled back)."""
    error: str = ""
    """Why the queue refused the message (one line); "" when sent or never tried."""


class EmitSummary(BaseModel):
    """An application's sends over a run."""

    sent: int
    failed: int
    """Sends the API refused (a relay's attempts: it retries them)."""
    crashed_transactions: int
    """Transactions in which the application died inside its dual-write window."""
    unsent: int
    """Committed changes whose event was never sent because the application died first."""
    first_error: str | None = None


def emit_writer(directory: Path, role: str = "app") -> RecordWriter[Emit]:
    """A new emit record file for this process in `directory`."""
    return process_writer(directory, f"emits-{role}", Emit)


def refusal(exc: Exception) -> str:
    """Why the API refused a send, in one line."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def read_emits(directory: Path) -> list[Emit]:
    return [e for path in sorted(directory.glob("emits-*.csv")) for e in read_records(path, Emit)]


def summarize(emits: list[Emit], changes: Iterable[Change]) -> EmitSummary | None:
    """The sends of a run with this ledger; None when nothing was recorded (the application
    emits nothing). A change whose transaction died before its commit is not committed; one
    that died after it may still be sent by someone else (an outbox's relay)."""
    if not emits:
        return None
    sent = {(e.table, e.key, e.version) for e in emits if e.sent}
    committed = {(c.table, c.key, c.version) for c in changes if c.status == COMMITTED}
    died = {(e.table, e.key, e.version) for e in emits if e.crashed}
    return EmitSummary(
        sent=sum(e.sent for e in emits),
        failed=sum(bool(e.error) for e in emits),
        crashed_transactions=len({e.txid for e in emits if e.crashed}),
        unsent=len((died & committed) - sent),
        first_error=next((e.error for e in emits if e.error), None),
    )
