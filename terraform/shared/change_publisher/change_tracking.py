"""Change tracking on PostgreSQL, the counterpart of SQL Server's (`CHANGETABLE(CHANGES t, V)`):
installed on the source by the publisher, read by it at each poll.

What it reproduces of SQL Server's change tracking:
- It is synchronous and trigger-maintained: a row trigger on each tracked table upserts one
  row per changed key into `change_tracking.changes`, inside the changing transaction, so
  the tracking commits (or rolls back) with the change.
- Changes are *net*: one row per key, holding its latest operation (I, U or D) and the
  change version of its latest change; intermediate versions of a key are not kept.
- The change version is the changing transaction's id (`pg_current_xact_id()`): like SQL
  Server's, every row a transaction changes shares it. Unlike SQL Server's (taken at
  commit), it is taken at the transaction's first write, so versions do not follow commit
  order: a transaction that took its version earlier may commit after a later one was
  read. This is the polling publisher's classic trap; `read_changes(..., below=xmin)`
  is the way around it.
- `changes since V` returns each key changed after V with the current row read at poll
  time (in the poll's snapshot), as a publisher joining CHANGETABLE to its table does. A
  key inserted after V reports I even if updated since (SQL Server's creation version); a
  deleted key reports D.
- Beyond SQL Server, a delete keeps the deleted row's last image (`deleted`): SQL Server
  keeps only the key, but a change event must say which version of the row it removed.
No retention or cleanup: the table holds one row per key ever changed while installed.
"""

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

SCHEMA = "change_tracking"

_INSTALL = """
DROP SCHEMA IF EXISTS change_tracking CASCADE;
CREATE SCHEMA change_tracking;
CREATE TABLE change_tracking.changes (
    table_name       text   NOT NULL,
    key              text   NOT NULL,
    change_version   bigint NOT NULL,
    creation_version bigint,
    operation        "char" NOT NULL,
    deleted          jsonb,
    PRIMARY KEY (table_name, key)
);
CREATE INDEX changes_by_version ON change_tracking.changes (change_version, table_name, key);
CREATE FUNCTION change_tracking.track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    version bigint := pg_current_xact_id()::text::bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO change_tracking.changes AS c
        VALUES (TG_TABLE_NAME, to_jsonb(OLD) ->> TG_ARGV[0], version, NULL, 'D', to_jsonb(OLD))
        ON CONFLICT (table_name, key) DO UPDATE
        SET change_version = version, operation = 'D', deleted = excluded.deleted;
        RETURN OLD;
    END IF;
    INSERT INTO change_tracking.changes AS c
    VALUES (TG_TABLE_NAME, to_jsonb(NEW) ->> TG_ARGV[0], version,
            CASE WHEN TG_OP = 'INSERT' THEN version END, left(TG_OP, 1), NULL)
    ON CONFLICT (table_name, key) DO UPDATE
    SET change_version = version, operation = excluded.operation, deleted = NULL,
        creation_version = coalesce(excluded.creation_version, c.creation_version);
    RETURN NEW;
END $$;
"""
_TRIGGER = (
    "CREATE TRIGGER change_tracking AFTER INSERT OR UPDATE OR DELETE ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION change_tracking.track({key})"
)
_PRIMARY_KEY = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_index i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = %s::regclass AND i.indisprimary
"""
_COLUMNS = """
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum
"""
_CHANGES = """
SELECT table_name, key, change_version, creation_version, operation, deleted::text
FROM change_tracking.changes
WHERE (change_version, table_name, key) > (%s, %s, %s) AND change_version < %s
ORDER BY change_version, table_name, key LIMIT %s
"""
_XMIN = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"

Position = tuple[int, str, str]
"""Where a reader is: (change version, table, key) of the last change it read."""
START: Position = (0, "", "")
UNBOUNDED = 2**63 - 1


@dataclass(frozen=True)
class Change:
    """One key's net change since the reader's position."""

    table: str
    key: str
    version: int
    """Change version: the id of the transaction that made the key's latest change."""
    operation: str
    """I (created since the position, still there), U, or D (deleted)."""
    row_json: str | None
    """The current row as `to_jsonb` writes it (None once deleted)."""
    deleted_json: str | None
    """A deleted row's last image, as `to_jsonb` wrote it."""
    columns: dict[str, str]
    """The table's columns and their SQL types, in order."""

    @property
    def position(self) -> Position:
        return (self.version, self.table, self.key)

    @property
    def row(self) -> dict[str, Any] | None:
        """The current row, numbers exact (Decimal)."""
        return None if self.row_json is None else _exact(self.row_json)

    @property
    def deleted(self) -> dict[str, Any] | None:
        """A deleted row's last image, numbers exact (Decimal)."""
        return None if self.deleted_json is None else _exact(self.deleted_json)


def install(conn: psycopg.Connection[Any], tables: list[str]) -> None:
    """(Re)install change tracking on `tables`, starting empty, in one transaction."""
    with conn.transaction():
        conn.execute(_INSTALL)
        for table in tables:
            keys = [row[0] for row in conn.execute(_PRIMARY_KEY, (table,)).fetchall()]
            if len(keys) != 1:
                raise ValueError(f"{table}: change tracking needs a one-column primary key")
            statement = sql.SQL(_TRIGGER).format(
                table=sql.Identifier(table), key=sql.Literal(keys[0])
            )
            conn.execute(statement)


def uninstall(conn: psycopg.Connection[Any]) -> None:
    """Remove change tracking: its schema, and with its function every trigger."""
    conn.execute("DROP SCHEMA IF EXISTS change_tracking CASCADE")


def snapshot_xmin(conn: psycopg.Connection[Any]) -> int:
    """The oldest transaction still running when the current snapshot was taken: every
    transaction below it has committed or rolled back, so no change version below it can
    still appear."""
    row = conn.execute(_XMIN).fetchone()
    assert row is not None
    return int(row[0])


def read_changes(
    conn: psycopg.Connection[Any], after: Position, below: int, limit: int
) -> list[Change]:
    """The net changes past `after` with a change version below `below`, oldest first, at
    most `limit`, each with its current row; call in one snapshot (REPEATABLE READ)."""
    found = conn.execute(_CHANGES, (*after, below, limit)).fetchall()
    tables = sorted({row[0] for row in found})
    columns = {table: dict(conn.execute(_COLUMNS, (table,)).fetchall()) for table in tables}
    rows = {
        table: _current_rows(conn, table, [r[1] for r in found if r[0] == table], columns[table])
        for table in tables
    }
    return [
        Change(
            table,
            key,
            version,
            "I" if operation != "D" and created is not None and created > after[0] else operation,
            None if operation == "D" else rows[table].get(key),
            deleted,
            columns[table],
        )
        for table, key, version, created, operation, deleted in found
    ]


def _current_rows(
    conn: psycopg.Connection[Any], table: str, keys: list[str], columns: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Key -> the row as `to_jsonb` writes it, of those of `keys` still in `table`, with the
    snapshot's `columns` only: PostgreSQL reads a table's row type as it is now, so a column
    added since the snapshot was taken would show in the row (and not in `columns`)."""
    primary = conn.execute(_PRIMARY_KEY, (table,)).fetchone()
    assert primary is not None
    name, sql_type = primary
    query = sql.SQL(
        "SELECT t.{key}::text, (SELECT jsonb_object_agg(c.key, c.value)"
        " FROM jsonb_each(to_jsonb(t)) c WHERE c.key = ANY(%s::text[]))::text"
        " FROM {table} t WHERE t.{key} = ANY(%s::text[]::{type}[])"
    ).format(key=sql.Identifier(name), table=sql.Identifier(table), type=sql.SQL(sql_type))
    return dict(conn.execute(query, (list(columns), keys)).fetchall())


def _exact(image: str) -> dict[str, Any]:
    """A JSON row image with its numbers exact (Decimal): numeric columns lose nothing."""
    document: dict[str, Any] = json.loads(image, parse_float=Decimal)
    return document
