"""The source schema: the widget-production domain of the seed article.

`widgets` and `orders` (a foreign key to widgets), each with a bigint key from
a sequence, a per-row `version` that only grows, `written_at`, and columns that
stress replication fidelity: numeric(19,4), timestamptz, jsonb, NULLs, unicode
text and an optional large (LOB-sized) text.

A scenario may add a column mid-run (`schema_change.add_column` runs the DDL). Every process
that reads row images (the load generator, the observers) registers the column first
(`register_added`), so a row image that carries it is read with its kind: the column
then joins the table's columns (`columns`), after the DDL's, as PostgreSQL orders them.
"""

from typing import Literal

import psycopg

TABLES = ("widgets", "orders")
"""In dependency order: orders reference widgets."""

_DDL = """
CREATE TABLE IF NOT EXISTS widgets (
    id           bigserial PRIMARY KEY,
    version      bigint NOT NULL,
    written_at   timestamptz NOT NULL,
    name         text NOT NULL,
    price        numeric(19, 4),
    produced_at  timestamptz,
    attrs        jsonb,
    notes        text
);
CREATE TABLE IF NOT EXISTS orders (
    id           bigserial PRIMARY KEY,
    version      bigint NOT NULL,
    written_at   timestamptz NOT NULL,
    widget_id    bigint NOT NULL REFERENCES widgets (id),
    quantity     integer NOT NULL,
    amount       numeric(19, 4) NOT NULL,
    status       text,
    meta         jsonb
);
CREATE INDEX IF NOT EXISTS orders_widget_id ON orders (widget_id);
"""

KEY_COLUMN = "id"
VERSION_COLUMN = "version"
"""Every table's primary key and per-row version column."""

COLUMNS: dict[str, dict[str, str]] = {
    "widgets": {
        "id": "int",
        "version": "int",
        "written_at": "timestamptz",
        "name": "text",
        "price": "numeric",
        "produced_at": "timestamptz",
        "attrs": "json",
        "notes": "text",
    },
    "orders": {
        "id": "int",
        "version": "int",
        "written_at": "timestamptz",
        "widget_id": "int",
        "quantity": "int",
        "amount": "numeric",
        "status": "text",
        "meta": "json",
    },
}
"""Table -> column -> kind (int, numeric, timestamptz, json, text), in the DDL's order:
how `row_image` reads each column whatever carried it."""

SQL_TYPES: dict[str, str] = {
    "text": "text",
    "integer": "int",
    "bigint": "int",
    "numeric": "numeric",
    "timestamptz": "timestamptz",
    "jsonb": "json",
}
"""SQL type a scenario may give an added column -> its kind."""

_added: dict[str, dict[str, str]] = {}
"""Table -> column -> kind of the columns this process knows a run adds."""


def register_added(table: str, column: str, sql_type: str) -> None:
    """Read `table.column` (added by a run's DDL) in row images from now on. Harmless before
    the DDL and in later runs: a column a row does not carry adds nothing to its image."""
    _added.setdefault(table, {})[column] = SQL_TYPES[sql_type]


def forget_added() -> None:
    """Forget every registered column (the next run adds its own)."""
    _added.clear()


def added_columns(table: str) -> dict[str, str]:
    """Column -> kind of the registered columns added to `table`."""
    return _added.get(table, {})


def columns(table: str) -> dict[str, str]:
    """Column -> kind of `table` in PostgreSQL's order: the DDL's, then added ones."""
    return {**COLUMNS[table], **added_columns(table)}


ReplicaIdentity = Literal["default", "full"]


def ensure(conn: psycopg.Connection, replica_identity: ReplicaIdentity = "default") -> None:
    """Create the tables if missing (with `replica_identity`); existing tables are raised to
    FULL if asked, never lowered (a pattern may need FULL whatever the scenario says)."""
    exists = conn.execute("SELECT to_regclass('widgets') IS NOT NULL").fetchone()
    conn.execute(_DDL)
    if replica_identity == "full" or not (exists and exists[0]):
        for table in TABLES:
            conn.execute(f"ALTER TABLE {table} REPLICA IDENTITY {replica_identity.upper()}")


def reset(dsn: str, replica_identity: ReplicaIdentity = "default") -> None:
    """Drop and recreate the tables, empty, with sequences restarted."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {', '.join(reversed(TABLES))}")
        ensure(conn, replica_identity)
