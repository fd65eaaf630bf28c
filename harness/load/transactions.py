"""Run one planned operation as one source transaction and describe what it changed.

Inserts and updates set the columns the plan gives values for (a column added mid-run
among them), in statements built once per column list.

Every statement returns the row image it wrote (`RETURNING *`), so the ledger's
digest is of what the database holds, and the version is the database's.
Connections are in autocommit mode: a single-statement change is one round trip
(as pgbench's), the others run in an explicit transaction, as does every change when an
application acts inside its transactions (`BeforeCommit`).
"""

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from harness.load.ledger import ABORTED, COMMITTED, Change
from harness.load.row_image import canonical_digest, canonical_row, carries_added, lob_bytes
from harness.load.workload import Plan

_TXID = "pg_current_xact_id()::text::bigint AS txid"
_WIDGET = ("name", "price", "produced_at", "attrs", "notes")


@functools.cache
def insert_widget(columns: tuple[str, ...] = _WIDGET) -> str:
    """A widget insert setting `columns` from named parameters."""
    return (
        f"INSERT INTO widgets (version, written_at, {', '.join(columns)}) "
        f"VALUES (1, now(), {', '.join(f'%({c})s' for c in columns)}) RETURNING *, {_TXID}"
    )


@functools.cache
def _update_widget(columns: tuple[str, ...]) -> str:
    return (
        "UPDATE widgets SET version = version + 1, written_at = now(), "
        f"{', '.join(f'{c} = %({c})s' for c in columns)} WHERE id = %(key)s RETURNING *, {_TXID}"
    )


@functools.cache
def _insert_order(columns: tuple[str, ...]) -> str:
    return (
        f"INSERT INTO orders (version, written_at, widget_id, {', '.join(columns)}) "
        f"VALUES (1, now(), %(key)s, {', '.join(f'%({c})s' for c in columns)}) "
        f"RETURNING *, {_TXID}"
    )


_TOUCH_WIDGET = (
    "UPDATE widgets SET version = version + 1, written_at = now(), "
    "attrs = coalesce(attrs, '{}'::jsonb) || jsonb_build_object('orders', "
    "coalesce((attrs ->> 'orders')::int, 0) + 1) "
    f"WHERE id = %(key)s RETURNING *, {_TXID}"
)
_LOCK_WIDGET = "SELECT id FROM widgets WHERE id = %(key)s FOR UPDATE"
_DELETE_ORDERS = f"DELETE FROM orders WHERE widget_id = %(key)s RETURNING id, version, {_TXID}"
_DELETE_WIDGET = f"DELETE FROM widgets WHERE id = %(key)s RETURNING id, version, {_TXID}"


_SINGLE_STATEMENT = ("insert", "update")


def connect(dsn: str) -> psycopg.Connection[dict[str, Any]]:
    """A connection as `execute` wants it: autocommit, rows as dicts, nothing prepared.

    Another load process may add a column mid-run; a statement prepared here with
    `RETURNING *` would then fail once ("cached plan must not change result type").
    """
    return psycopg.connect(dsn, autocommit=True, row_factory=dict_row, prepare_threshold=None)


@dataclass(frozen=True, slots=True)
class Written:
    table: str
    op: str
    row: dict[str, Any]
    """The row image as returned (for deletes: id and the deleted version)."""


Image = dict[str, Any] | None
"""A change's row image as written (None: a delete)."""

BeforeCommit = Callable[[psycopg.Cursor[dict[str, Any]], list[Change], list[Image]], None]
"""Called inside a transaction after its statements, before it commits (or rolls back on
purpose), with its changes as they will commit and their row images. It may write in the
transaction; raising `psycopg.Rollback` rolls the transaction back (an application that
dies before its commit): its changes are then aborted."""


@dataclass(frozen=True, slots=True)
class Outcome:
    changes: list[Change]
    images: list[Image]
    """Per change: the row image written, for an application's hooks."""
    committed: bool


def execute(
    conn: psycopg.Connection[dict[str, Any]],
    plan: Plan,
    intended_ns: int,
    before_commit: BeforeCommit | None = None,
) -> Outcome:
    """Run `plan` in one transaction (rolled back if the plan says abort, or if
    `before_commit` raises `psycopg.Rollback`; held open for `plan.hold_s` before it
    commits) on an autocommit connection with dict rows. A plan whose widget no longer
    exists changes nothing.
    """
    params = {"key": plan.key, **_adapt(plan.values)}
    columns = tuple(plan.values)
    cur = conn.cursor()
    committed = False
    single = plan.op in _SINGLE_STATEMENT and not plan.abort and not plan.hold_s
    if single and before_commit is None:
        changes, images = _described(_run(cur, plan.op, params, columns), intended_ns)
        committed = True
    else:
        with conn.transaction():
            changes, images = _described(_run(cur, plan.op, params, columns), intended_ns)
            if changes and before_commit is not None:
                before_commit(cur, changes, images)
            if plan.abort or not changes:
                raise psycopg.Rollback
            if plan.hold_s:
                time.sleep(plan.hold_s)
            committed = True  # not reached when the hook rolled back
    committed = committed and bool(changes)
    acked_ns = time.time_ns()
    status = COMMITTED if committed else ABORTED
    changes = [replace(c, status=status, acked_ns=acked_ns) for c in changes]
    return Outcome(changes, images, committed)


def _described(written: list["Written"], intended_ns: int) -> tuple[list[Change], list[Image]]:
    """The changes `written` makes as they would commit (acknowledged once they do)."""
    changes, images = [], []
    for w in written:
        txid = w.row.pop("txid")
        deleted = w.op == "delete"
        canonical = None if deleted else canonical_row(w.table, w.row)
        changes.append(
            Change(
                table=w.table,
                key=str(w.row["id"]),
                version=w.row["version"] + 1 if deleted else w.row["version"],
                op=w.op,
                status=COMMITTED,
                intended_ns=intended_ns,
                acked_ns=0,
                txid=txid,
                digest="" if canonical is None else canonical_digest(canonical),
                added=not deleted and carries_added(w.table, w.row),
                lob_bytes=0 if canonical is None else lob_bytes(w.table, canonical),
            )
        )
        images.append(None if deleted else w.row)
    return changes, images


def _run(
    cur: psycopg.Cursor[dict[str, Any]], op: str, params: dict[str, Any], columns: tuple[str, ...]
) -> list[Written]:
    if op == "insert":
        return [Written("widgets", "insert", _one(cur, insert_widget(columns), params))]
    if op == "update":
        row = _maybe(cur, _update_widget(columns), params)
        return [Written("widgets", "update", row)] if row else []
    if op == "order":
        widget = _maybe(cur, _TOUCH_WIDGET, params)
        if widget is None:
            return []
        order = _one(cur, _insert_order(columns), params)
        return [Written("widgets", "update", widget), Written("orders", "insert", order)]
    # delete: lock the widget first (as `order` does), then its orders, then the widget
    if _maybe(cur, _LOCK_WIDGET, params) is None:
        return []
    orders = cur.execute(_DELETE_ORDERS, params).fetchall()
    widget = _one(cur, _DELETE_WIDGET, params)
    return [Written("orders", "delete", o) for o in orders] + [Written("widgets", "delete", widget)]


def _one(cur: psycopg.Cursor[dict[str, Any]], sql: str, params: dict[str, Any]) -> dict[str, Any]:
    row = cur.execute(sql, params).fetchone()
    assert row is not None, sql
    return row


def _maybe(
    cur: psycopg.Cursor[dict[str, Any]], sql: str, params: dict[str, Any]
) -> dict[str, Any] | None:
    return cur.execute(sql, params).fetchone()


def _adapt(values: dict[str, Any]) -> dict[str, Any]:
    return {k: Jsonb(v) if isinstance(v, dict) else v for k, v in values.items()}
