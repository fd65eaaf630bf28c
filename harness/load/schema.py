"""The source schema: the widget-production domain of the seed article.

`widgets` and `orders` (a foreign key to widgets), each with a bigint key from
a sequence, a per-row `version` that only grows, `written_at`, and columns that
stress replication fidelity: numeric(19,4), timestamptz, jsonb, NULLs, unicode
text and an optional large (LOB-sized) text.
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
