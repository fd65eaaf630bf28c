"""The transactional outbox's relay: a small process on the application's side that sends
the rows of `event_outbox` to the queue (`python -m harness.apps.outbox_relay --spec FILE
--ledger-dir DIR`, the source's DSN in CDCBENCH_DSN; the harness runs it while the pattern runs).

It keeps no watermark. Each poll locks the oldest committed rows still in the outbox
(`FOR UPDATE SKIP LOCKED`, so several relays could share it), sends them with
SendMessageBatch, and deletes those the queue accepted, in one transaction. An id-based
position ("everything after the last id sent") would skip a transaction that took its ids
before a later one but committed after it was read: ids are taken at insert, not at commit.
With the outbox as the queue, a late commit's rows are simply there at the next poll.
Delivery is at least once: a relay stopped between the send and the delete sends those rows
again (the persisting function is idempotent). Refused messages stay for the next poll; each
refusal is recorded (`harness.apps.emits`). A lost connection to the source (it restarted) is
opened again at the next poll.
"""

import argparse
import json
import os
import signal
import threading
from pathlib import Path
from typing import Any

import psycopg

from harness.apps import DSN_VARIABLE, Spec
from harness.apps.emits import Emit, emit_writer, refusal
from harness.apps.event_gateway import OUTBOX_TABLE
from harness.aws import AwsAccess
from harness.records import RecordWriter

BATCH = 10
"""SendMessageBatch's limit of entries per call."""
_CLAIM = f"SELECT id, body FROM {OUTBOX_TABLE} ORDER BY id LIMIT {BATCH} FOR UPDATE SKIP LOCKED"
_DELETE = f"DELETE FROM {OUTBOX_TABLE} WHERE id = ANY(%s)"


def _emit(body: str, sent: bool, error: str = "") -> Emit:
    event = json.loads(body)
    version = int(event["data"]["version"]) + (1 if event["type"] == "DELETE" else 0)
    return Emit(event["source"], event["id"], version, int(event["requestId"]), sent, False, error)


def relay_once(
    conn: psycopg.Connection[Any], sqs: Any, queue_url: str, records: RecordWriter[Emit]
) -> int:
    """Send one batch of the outbox's oldest committed rows; how many it held."""
    with conn.transaction():
        rows = conn.execute(_CLAIM).fetchall()
        if not rows:
            return 0
        bodies = {str(row_id): body for row_id, body in rows}
        try:
            answer = sqs.send_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": i, "MessageBody": body} for i, body in bodies.items()],
            )
        except Exception as exc:  # the queue is unreachable: every row stays for the next poll
            error = refusal(exc)
            for body in bodies.values():
                records.append(_emit(body, sent=False, error=error))
            return len(rows)
        sent = [entry["Id"] for entry in answer.get("Successful", [])]
        conn.execute(_DELETE, ([int(i) for i in sent],))
    for i in sent:
        records.append(_emit(bodies[i], sent=True))
    for failed in answer.get("Failed", []):
        error = f"{failed.get('Code', '')}: {failed.get('Message', '')}".strip(": ")
        records.append(_emit(bodies[failed["Id"]], sent=False, error=error))
    return len(rows)


def _serve(args: argparse.Namespace, stopping: threading.Event) -> None:
    spec = Spec.read(Path(args.spec))
    settings = spec.outputs["application"]
    interval_s = float(settings["relay_poll_interval_ms"]) / 1000
    sqs = AwsAccess.from_env(os.environ).client("sqs")

    def going() -> bool:  # until stopped, or the harness is gone
        return not stopping.is_set() and os.getppid() == args.parent_pid

    with emit_writer(Path(args.ledger_dir), "relay") as records:
        while going():
            try:
                with psycopg.connect(args.dsn, autocommit=True) as conn:
                    while going():
                        if relay_once(conn, sqs, settings["queue_url"], records) < BATCH:
                            stopping.wait(interval_s)
            except psycopg.OperationalError:  # the source restarting: the rows wait for it
                stopping.wait(interval_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--spec", required=True, help="JSON file {application, outputs}")
    parser.add_argument(
        "--dsn",
        default=os.environ.get(DSN_VARIABLE),
        help=f"libpq connection string of the source (or {DSN_VARIABLE})",
    )
    parser.add_argument("--ledger-dir", required=True, help="where to record what it sent")
    args = parser.parse_args()
    if not args.dsn:
        parser.error(f"the source's connection string: --dsn or {DSN_VARIABLE}")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    _serve(args, stopping)


if __name__ == "__main__":
    main()
