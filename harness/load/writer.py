"""A paced single-connection writer: the load generator until the Locust driver lands.

Changes follow a fixed schedule (start + i / rate). Each is recorded with the
time the schedule intended and the time the commit was acknowledged, so a
slow database or a slow post-commit hook never hides latency (no coordinated
omission).
"""

import time
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb
from pydantic import BaseModel

from harness import progress
from harness.load.ledger import ABORTED, COMMITTED, Change, ledger_writer, row_digest
from harness.load.schema import COLUMNS, TABLE
from harness.load.workload import PlannedChange, Workload
from harness.patterns.base import PostCommit
from harness.scenario import Scenario

_TXID = "RETURNING pg_current_xact_id()::text::bigint"
_SQL = {
    "insert": f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join(f'%({c})s' for c in COLUMNS)}) {_TXID}",
    "update": f"UPDATE {TABLE} SET {', '.join(f'{c} = %({c})s' for c in COLUMNS[1:])} "
    f"WHERE id = %(id)s {_TXID}",
    "delete": f"DELETE FROM {TABLE} WHERE id = %(id)s {_TXID}",
}


class LoadStats(BaseModel):
    offered: int
    committed: int
    aborted: int
    duration_s: float
    offered_per_s: float
    committed_per_s: float
    max_schedule_slip_ms: float
    """Largest delay between a change's intended and actual start: the writer fell behind."""
    post_commit_errors: int = 0
    first_post_commit_error: str | None = None


def run_load(
    dsn: str,
    scenario: Scenario,
    ledger_path: Path,
    post_commit: PostCommit | None = None,
    seed: int | None = None,
) -> LoadStats:
    """Offer `rate_per_s` changes for `duration_s`, appending every outcome to the ledger."""
    workload = Workload(scenario.workload, seed)
    rate, duration = scenario.load.rate_per_s, scenario.load.duration_s
    total = int(rate * duration)
    interval_ns = 1e9 / rate
    counts = {COMMITTED: 0, ABORTED: 0}
    slip_ns = errors = 0
    first_error: str | None = None
    label = f"Load {rate:g}/s for {duration:g}s"
    with (
        psycopg.connect(dsn) as conn,
        ledger_writer(ledger_path) as ledger,
        progress.step(label, total=total) as update,
    ):
        start = time.time_ns()
        for i in range(total):
            intended = start + int(i * interval_ns)
            wait = intended - time.time_ns()
            if wait > 0:
                time.sleep(wait / 1e9)
            slip_ns = max(slip_ns, time.time_ns() - intended)
            planned = workload.plan()
            change = _execute(conn, planned, intended)
            ledger.append(change)
            workload.settle(planned, change.status == COMMITTED)
            counts[change.status] += 1
            if change.status == COMMITTED and post_commit is not None:
                try:
                    post_commit(change, planned.row)
                except Exception as exc:  # the projection misses it; the checker will say so
                    errors += 1
                    first_error = first_error or f"{type(exc).__name__}: {exc}"
            if i % 50 == 0:
                update(f"{counts[COMMITTED]} committed", completed=i)
        elapsed = (time.time_ns() - start) / 1e9
    return LoadStats(
        offered=total,
        committed=counts[COMMITTED],
        aborted=counts[ABORTED],
        duration_s=round(elapsed, 3),
        offered_per_s=rate,
        committed_per_s=round(counts[COMMITTED] / elapsed, 2) if elapsed else 0.0,
        max_schedule_slip_ms=round(slip_ns / 1e6, 3),
        post_commit_errors=errors,
        first_post_commit_error=first_error,
    )


def _execute(conn: psycopg.Connection, planned: PlannedChange, intended_ns: int) -> Change:
    params = dict(planned.row or {"id": planned.key})
    if "attrs" in params:
        params["attrs"] = Jsonb(params["attrs"])
    row = conn.execute(_SQL[planned.op], params).fetchone()
    txid = int(row[0]) if row else 0
    if planned.abort:
        conn.rollback()
    else:
        conn.commit()
    return Change(
        table=planned.table,
        key=str(planned.key),
        version=planned.version,
        op=planned.op,
        status=ABORTED if planned.abort else COMMITTED,
        intended_ns=intended_ns,
        acked_ns=time.time_ns(),
        txid=txid,
        digest=row_digest(planned.row) if planned.row else "",
    )
