"""A host's clock against the source database's: an offset bounded by the round trip.

Lag subtracts a writer's commit-ack time from an observer's sighting time, so both
must be on one clock. Writers on the harness host share its clock. A writer on
another host measures `database clock - its clock` at start (the best of a few
`clock_timestamp()` round trips: the database read the clock somewhere inside the
round trip, so the estimate is off by at most half of it) and stores it beside its
ledger file; `read_ledger` then moves that host's times onto the harness's clock.
"""

import json
import os
import socket
import time
from pathlib import Path

import psycopg
from pydantic import BaseModel

_SAMPLES = 7
_DB_RESOLUTION_NS = 1_000
"""PostgreSQL timestamps have microseconds."""


class ClockOffset(BaseModel):
    host: str
    pid: int
    offset_ns: int
    """Database clock minus this host's clock."""
    bound_ns: int
    """The offset is right within ± this (half the best round trip, plus the database's
    clock resolution)."""


def measure_offset(conn: psycopg.Connection, samples: int = _SAMPLES) -> ClockOffset:
    best: tuple[int, int] | None = None
    for _ in range(samples):
        before = time.time_ns()
        row = conn.execute(
            "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
        ).fetchone()
        after = time.time_ns()
        assert row is not None
        trip = after - before
        if best is None or trip < best[1]:
            best = (row[0] * 1_000 - (before + after) // 2, trip)
    assert best is not None
    return ClockOffset(
        host=socket.gethostname(),
        pid=os.getpid(),
        offset_ns=best[0],
        bound_ns=best[1] // 2 + _DB_RESOLUTION_NS,
    )


def clock_path(ledger_path: Path) -> Path:
    """Where the offset of the process writing `ledger_path` is kept."""
    return ledger_path.with_suffix(".clock.json")


def write_offset(ledger_path: Path, offset: ClockOffset) -> None:
    clock_path(ledger_path).write_text(offset.model_dump_json())


def read_offset(ledger_path: Path) -> ClockOffset | None:
    path = clock_path(ledger_path)
    return ClockOffset(**json.loads(path.read_text())) if path.exists() else None


def writer_offsets(ledger_dir: Path) -> list[ClockOffset]:
    """The offset each load process stored beside its ledger file in `ledger_dir`."""
    offsets = (read_offset(path) for path in sorted(ledger_dir.glob("ledger-*.csv")))
    return [offset for offset in offsets if offset is not None]
