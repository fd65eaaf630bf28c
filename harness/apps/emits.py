"""What an application did with each change's event, recorded beside the ledger (one file
per process, `emits-*.csv`): sent, refused by the API, or never sent because the process
"died" inside its dual-write window. With the ledger, it tells the checker's findings apart:
a change missing from the event store because it was never sent, against one lost on the
way."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from harness.load.ledger import Change, Ledger
from harness.records import Columns, RecordWriter, concat, process_writer, read_columns


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
    never_sent: int | None = None
    """Committed changes whose event was never sent: refused and not sent again, or the
    application died first (None in older results)."""
    first_error: str | None = None


def emit_writer(directory: Path, role: str = "app") -> RecordWriter[Emit]:
    """A new emit record file for this process in `directory`."""
    return process_writer(directory, f"emits-{role}", Emit)


def refusal(exc: Exception) -> str:
    """Why the API refused a send, in one line."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())


class Emits(Columns[Emit]):
    """Emit records held column by column (see `Columns`)."""

    record_type = Emit
    repeated = ("table",)


def read_emits(directory: Path) -> Emits:
    paths = sorted(directory.glob("emits-*.csv"))
    tables = [read_columns(path, Emit, Emits.repeated) for path in paths]
    return Emits(concat(tables)) if tables else Emits.of([])


def summarize(emits: Sequence[Emit], changes: Sequence[Change]) -> EmitSummary | None:
    """The sends of a run with this ledger; None when nothing was recorded (the application
    emits nothing). A change whose transaction died before its commit is not committed; one
    that died after it may still be sent by someone else (an outbox's relay)."""
    log = Emits.of(emits)
    if not len(log):
        return None
    sent, crashed = log.numbers("sent"), log.numbers("crashed")
    failed = ~log.equals("error", "")
    died = {(e.table, e.key, e.version) for e in log.records(np.flatnonzero(crashed))}
    # only what concerns the changes that died: their keys' sends and committed versions
    keys = {key for _, key, _ in died}
    sends = np.flatnonzero(sent & log.is_in("key", keys))
    ledger = Ledger.of(changes)
    versions = ledger.records(ledger.committed_keyed(keys))
    errors = np.flatnonzero(failed)
    return EmitSummary(
        sent=int(np.count_nonzero(sent)),
        failed=len(errors),
        crashed_transactions=len(np.unique(log.numbers("txid")[crashed])),
        unsent=len(
            (died & {(c.table, c.key, c.version) for c in versions})
            - {(e.table, e.key, e.version) for e in log.records(sends)}
        ),
        never_sent=len(never_sent(log, changes)),
        first_error=log.records(errors[:1])[0].error if len(errors) else None,
    )


def never_sent(emits: Sequence[Emit], changes: Sequence[Change]) -> list[Change]:
    """The committed changes whose event the application never sent (refused, or it died
    first)."""
    log = Emits.of(emits)
    sent = log.numbers("sent") if len(log) else np.zeros(0, dtype=bool)
    tried = {(e.table, e.key, e.version) for e in log.records(np.flatnonzero(~sent))}
    if not tried:
        return []
    keys = {key for _, key, _ in tried}
    unsent = tried - {
        (e.table, e.key, e.version)
        for e in log.records(np.flatnonzero(sent & log.is_in("key", keys)))
    }
    return Ledger.of(changes).committed_of(unsent)
