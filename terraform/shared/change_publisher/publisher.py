"""The change-event publisher of cloudonaut's "event-based data synchronization": a process
in the data centre, beside the legacy database, that polls the database's change tracking
and sends one event per changed row to the cloud (a Kinesis stream, or a DynamoDB table).

    python publisher.py --settings FILE --records-dir DIR [--dsn DSN] [--parent-pid PID]

`--settings`: a JSON object, the pattern's `publisher` output: `variant` (correct | naive),
`poll_interval_ms`, `batch_size`, `tables`, `sink` (kinesis | dynamodb) and its
`stream_name` or `table_name`. AWS credentials, region and endpoint come from the standard
environment. It installs change tracking on the source (`change_tracking`), prints one JSON
line `{"ready": true}` once it is in place, then polls until SIGTERM, after which it
removes the tracking and exits. Each poll is appended to `polls.jsonl` in the records
directory: when, from which position to which, the snapshot's xmin, how many changes it
sent and how many sends the stream refused.

The two variants differ only in their watermark:
- `naive` reads every change past its position and moves to the highest change version it
  read. A transaction that took its version before that one but commits after the poll is
  never read: its changes are lost (until a later change of the same key).
- `correct` reads only change versions below the snapshot's xmin: every transaction below
  it has ended, so nothing can still commit behind the position. A long transaction holds
  every later change back until it ends (lag, not loss).
A source or sink it cannot reach at the start, or a sink still failing after
`give_up_after_s`, is one line on stderr and exit code 2; a source lost later (it restarted)
is polled again until it is back.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from change_tracking import START, UNBOUNDED, install, read_changes, snapshot_xmin, uninstall
from sinks import DynamoDBSink, KinesisSink, Sink, pause

CONNECT_TIMEOUT_S = 10
DSN_VARIABLE = "CDCBENCH_DSN"
"""Where the source's connection string (with its password) comes from: not the command line,
which other users of the host can read."""
GIVE_UP_AFTER_S = 30.0
"""A sink still failing after this long ends the publisher (exit 2); settings may say
otherwise (`give_up_after_s`)."""


def _sink(settings: dict[str, Any]) -> Sink:
    if settings["sink"] == "kinesis":
        return KinesisSink(settings["stream_name"], pause)
    if settings["sink"] == "dynamodb":
        return DynamoDBSink(settings["table_name"], pause)
    raise ValueError(f"unknown sink {settings['sink']!r}: use kinesis or dynamodb")


def publish(
    connect: Callable[[], psycopg.Connection[Any]],
    sink: Sink,
    settings: dict[str, Any],
    stopping: threading.Event,
    polls: Any,
) -> None:
    """Poll and send until `stopping` is set; each poll is written to `polls`. A lost
    connection (the database restarting) is opened again with `connect` at the next poll,
    from the same position."""
    correct = settings["variant"] == "correct"
    interval_s, limit = settings["poll_interval_ms"] / 1000, int(settings["batch_size"])
    position = START
    conn: psycopg.Connection[Any] | None = None
    while not stopping.is_set():
        polled_ns = time.time_ns()
        try:
            conn = conn or connect()
            with conn.transaction():
                xmin = snapshot_xmin(conn)
                changes = read_changes(conn, position, xmin if correct else UNBOUNDED, limit)
        except psycopg.OperationalError as exc:
            _say(f"lost the source database, polling again: {_reason(exc)}")
            if conn is not None:
                conn.close()
            conn = None
            stopping.wait(interval_s)
            continue
        refused = _send(sink, changes, stopping, settings.get("give_up_after_s", GIVE_UP_AFTER_S))
        after = changes[-1].position if changes else position
        record = {"at_ns": polled_ns, "since": position[0], "until": after[0], "xmin": xmin}
        polls.write(json.dumps({**record, "sent": len(changes), "refused": refused}) + "\n")
        polls.flush()
        position = after
        if len(changes) < limit:
            stopping.wait(interval_s)
    if conn is not None:
        conn.close()


def _send(sink: Sink, changes: list[Any], stopping: threading.Event, give_up_s: float) -> int:
    """Send, retrying a sink that fails for up to `give_up_s` (then raise)."""
    if not changes:
        return 0
    started = time.monotonic()
    attempt = 0
    while True:
        try:
            return sink.send(changes)
        except Exception:
            attempt += 1
            if time.monotonic() - started > give_up_s or stopping.is_set():
                raise
            pause(attempt)


def _watch_parent(parent_pid: int, stopping: threading.Event) -> None:
    """Stop when the process that started us is gone (it was killed)."""
    while not stopping.wait(1.0):
        if os.getppid() != parent_pid:
            stopping.set()


def _reason(exc: Exception) -> str:
    """The database's own message for a database error (without its context lines)."""
    diag = getattr(exc, "diag", None)
    return getattr(diag, "message_primary", None) or str(exc)


def _say(problem: str) -> None:
    """One line on stderr."""
    print("publisher: " + " ".join(problem.split()), file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", type=Path, required=True)
    parser.add_argument("--dsn", default=os.environ.get(DSN_VARIABLE), help=f"or {DSN_VARIABLE}")
    parser.add_argument("--records-dir", type=Path, required=True)
    parser.add_argument("--parent-pid", type=int)
    args = parser.parse_args(argv)
    if not args.dsn:
        parser.error(f"the source's connection string: --dsn or {DSN_VARIABLE}")
    settings = json.loads(args.settings.read_text())
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    if args.parent_pid:
        threading.Thread(
            target=_watch_parent, args=(args.parent_pid, stopping), daemon=True
        ).start()
    args.records_dir.mkdir(parents=True, exist_ok=True)

    def connect() -> psycopg.Connection[Any]:
        return psycopg.connect(args.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)

    def reader() -> psycopg.Connection[Any]:
        conn = connect()
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        return conn

    try:
        conn = connect()
    except psycopg.Error as exc:
        _say(f"cannot reach the source database: {exc}")
        return 2
    with conn:
        try:
            install(conn, settings["tables"])
        except (psycopg.Error, ValueError) as exc:
            tables = ", ".join(settings["tables"])
            _say(f"cannot install change tracking on {tables}: {_reason(exc)}")
            return 2
    print(json.dumps({"ready": True}), flush=True)
    try:
        with open(args.records_dir / "polls.jsonl", "a") as polls:
            publish(reader, _sink(settings), settings, stopping, polls)
    except Exception as exc:
        _say(f"{type(exc).__name__}: {exc}")
        return 2
    finally:
        try:
            with connect() as conn:
                uninstall(conn)
        except psycopg.Error as exc:
            _say(f"could not remove change tracking: {_reason(exc)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
