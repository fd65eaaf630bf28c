"""A scenario's schema change as the load ran it: the DDL, and its record beside the ledger.

The first load process past `at_s` adds the column (under an advisory lock: a process that
finds it there already adds nothing) and writes `schema-change.json` into the ledger
folder: what was added, the DDL's transaction id, the WAL position just after its commit,
and when the commit was acknowledged on the writer's clock (as `Change.acked_ns`).
"""

import time
from pathlib import Path

import psycopg
from psycopg.rows import tuple_row
from pydantic import BaseModel

RECORD = "schema-change.json"
DDL_REQUEST = "add column"
"""The DDL's name among the load generator's Locust requests."""


class SchemaChangeRecord(BaseModel):
    table: str
    column: str
    sql_type: str
    txid: int
    lsn: str
    """`pg_current_wal_lsn()` read right after the DDL committed."""
    acked_ns: int


def add_column(
    conn: psycopg.Connection, table: str, column: str, sql_type: str, ledger_dir: Path
) -> SchemaChangeRecord | None:
    """`ALTER TABLE table ADD COLUMN column sql_type` unless the column exists (several load
    processes may try at once); recorded in `ledger_dir` if this call added it."""
    cur = conn.cursor(row_factory=tuple_row)
    with conn.transaction():
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{table}.{column}",))
        cur.execute(
            "SELECT 1 FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
            (table, column),
        )
        if cur.fetchone():
            return None
        cur.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
        txid = cur.execute("SELECT pg_current_xact_id()::text::bigint").fetchone()
    acked_ns = time.time_ns()
    position = cur.execute("SELECT pg_current_wal_lsn()::text").fetchone()
    assert txid is not None and position is not None
    record = SchemaChangeRecord(
        table=table,
        column=column,
        sql_type=sql_type,
        txid=txid[0],
        lsn=position[0],
        acked_ns=acked_ns,
    )
    (ledger_dir / RECORD).write_text(record.model_dump_json(indent=2))
    return record


def read_schema_change(ledger_dir: Path) -> SchemaChangeRecord | None:
    """The schema change the load made, if it made one."""
    path = ledger_dir / RECORD
    if not path.exists():
        return None
    return SchemaChangeRecord.model_validate_json(path.read_text())
