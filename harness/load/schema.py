"""The source schema the workload writes: created fresh before each pattern runs."""

import psycopg

TABLE = "widgets"
COLUMNS = ("id", "version", "written_at", "name", "price", "attrs")
"""Primary key first; every change writes all of them."""

_DDL = f"""
DROP TABLE IF EXISTS {TABLE};
CREATE TABLE {TABLE} (
    id          bigint PRIMARY KEY,
    version     bigint NOT NULL,
    written_at  timestamptz NOT NULL,
    name        text,
    price       numeric(19, 4),
    attrs       jsonb
);
"""


def reset(dsn: str) -> None:
    """(Re)create the source tables, empty."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(_DDL)
