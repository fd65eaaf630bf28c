"""The application as Ippon's gateway: it sends an event per changed row to SQS itself (the
`sqs_lambda_eventstore` pattern), in the article's message shape:
`{requestId, timestamp, id, type, source, data}`. `requestId` is the source transaction's
id (one request, one transaction: it groups the transaction's changes), `timestamp` the
request's time to the second (as the article's), `id` the row's key, `type` the operation
(INSERT, UPDATE, DELETE), `source` the table, `data` the row as flat JSON (numbers as
numbers, timestamps as ISO-8601 text, jsonb as its JSON text; a delete's: the deleted row's
id and version).

`emit` (the root module's `application` output) says when it sends:
- `after_commit` (the article): after the commit; a process dying in between loses them;
- `before_commit`: inside the transaction, before it commits; a transaction that then rolls
  back leaves its events behind (phantoms);
- `outbox`: the events are rows of `event_outbox`, written in the same transaction; the
  relay (`harness.apps.outbox_relay`) sends them.
`emit_failure_ratio` is the share of transactions in which the process "dies" inside that
window: after the commit and before the send, between the send and the commit, or (outbox)
either side of the commit. Every outcome is recorded (`harness.apps.emits`); a send the API
refuses is recorded with its error and the load goes on.
"""

import json
import random
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from harness.apps import Hooks
from harness.apps.emits import Emit, emit_writer, refusal
from harness.aws import AwsAccess
from harness.load.ledger import Change
from harness.load.transactions import Image
from harness.records import RecordWriter

OUTBOX_TABLE = "event_outbox"
_OUTBOX_DDL = f"""
DROP TABLE IF EXISTS {OUTBOX_TABLE};
CREATE TABLE {OUTBOX_TABLE} (
    id          bigserial PRIMARY KEY,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
"""
_OUTBOX_INSERT = f"INSERT INTO {OUTBOX_TABLE} (body) VALUES (%s)"
RELAY = "harness.apps.outbox_relay"


def message(change: Change, image: Image, stamped: datetime) -> str:
    """The event of one changed row, as the JSON body the gateway sends."""
    if image is None:
        data: dict[str, Any] = {"id": int(change.key), "version": change.version - 1}
    else:
        data = {column: _flat(value) for column, value in image.items()}
    body = {
        "requestId": str(change.txid),
        "timestamp": stamped.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "id": change.key,
        "type": change.op.upper(),
        "source": change.table,
        "data": data,
    }
    return json.dumps(body, ensure_ascii=False)


def _flat(value: Any) -> Any:
    """A column value as the gateway's JSON carries it."""
    if isinstance(value, Decimal):
        number = float(value)
        exact = Decimal(repr(number)) == value
        return (
            (int(value) if value == value.to_integral_value() else number) if exact else str(value)
        )
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def prepare(conn: psycopg.Connection[Any], outputs: dict[str, Any]) -> None:
    """A fresh, empty outbox table on the source (whatever `emit` is: it costs nothing)."""
    conn.execute(_OUTBOX_DDL)


def companion(outputs: dict[str, Any]) -> str | None:
    """The outbox relay, when the gateway writes to the outbox."""
    return RELAY if outputs["application"]["emit"] == "outbox" else None


class _Gateway:
    def __init__(self, outputs: dict[str, Any], aws: AwsAccess, ledger_dir: Path) -> None:
        settings = outputs["application"]
        self.emit: str = settings["emit"]
        self.failure_ratio = float(settings["emit_failure_ratio"])
        self.queue_url: str = settings["queue_url"]
        self.sqs = aws.client("sqs")
        self.ledger_dir = ledger_dir
        self.records: RecordWriter[Emit] | None = None
        """Created at the first record, so a process that emits nothing leaves no file."""
        self.rng = random.Random()
        self.dying: set[int] = set()
        """Transactions whose process is to die right after their commit (outbox)."""

    def _dies(self) -> bool:
        return self.failure_ratio > 0 and self.rng.random() < self.failure_ratio

    def _send(self, change: Change, image: Image, stamped: datetime, crashed: bool) -> None:
        try:
            self.sqs.send_message(
                QueueUrl=self.queue_url, MessageBody=message(change, image, stamped)
            )
        except Exception as exc:  # the API refused it: recorded, the load goes on
            self._record(change, sent=False, crashed=crashed, error=refusal(exc))
            return
        self._record(change, sent=True, crashed=crashed)

    def _record(self, change: Change, sent: bool, crashed: bool, error: str = "") -> None:
        if self.records is None:
            self.records = emit_writer(self.ledger_dir)
        self.records.append(
            Emit(change.table, change.key, change.version, change.txid, sent, crashed, error)
        )

    def before_commit(
        self, cur: psycopg.Cursor[Any], changes: list[Change], images: list[Image]
    ) -> None:
        stamped = datetime.now(UTC)
        dies = self._dies()
        if self.emit == "outbox":
            for change, image in zip(changes, images, strict=True):
                cur.execute(_OUTBOX_INSERT, (message(change, image, stamped),))
            if dies and self.rng.random() < 0.5:
                self.dying.add(changes[0].txid)
            elif dies:  # before its commit: the transaction rolls back
                self._died_with(changes)
                raise psycopg.Rollback
        else:  # before_commit
            for change, image in zip(changes, images, strict=True):
                self._send(change, image, stamped, crashed=dies)
            if dies:
                raise psycopg.Rollback

    def _died_with(self, changes: list[Change]) -> None:
        """The process died before sending these changes' events."""
        for change in changes:
            self._record(change, sent=False, crashed=True)

    def close(self) -> None:
        if self.records is not None:
            self.records.close()

    def after_commit(self, changes: list[Change], images: list[Image]) -> None:
        if self.emit == "outbox":  # the relay sends; a death now loses nothing
            if changes[0].txid in self.dying:
                self.dying.discard(changes[0].txid)
                self._died_with(changes)
            return
        if self._dies():  # died after the commit, before the send
            self._died_with(changes)
            return
        stamped = datetime.now(UTC)
        for change, image in zip(changes, images, strict=True):
            self._send(change, image, stamped, crashed=False)


def hooks(outputs: dict[str, Any], aws: AwsAccess, ledger_dir: Path) -> Hooks:
    """The gateway for a deployment of `sqs_lambda_eventstore` (its `application` output)."""
    gateway = _Gateway(outputs, aws, ledger_dir)
    close = gateway.close
    if gateway.emit == "after_commit":
        return Hooks(after_commit=gateway.after_commit, close=close)
    if gateway.emit == "before_commit":
        return Hooks(before_commit=gateway.before_commit, close=close)
    return Hooks(
        before_commit=gateway.before_commit, after_commit=gateway.after_commit, close=close
    )
