"""Observe a relational replica (Aurora PostgreSQL on AWS, a PostgreSQL database locally) with
the source's tables by SQL polling.

The replica is reached by `dsn`, or by `host`, `port`, `database` and the master user's
`secret_arn` in Secrets Manager (JSON `username`, `password`, as RDS keeps it), read when the
first poll connects. A table the replica does not have yet (its writer creates it on first
sight) reads as empty.

The versions of every table are read by one statement (a UNION ALL of `SELECT id, version`
per table): a statement reads one MVCC snapshot, so a poll sees the tables at a single moment
(an order never without the widget inserted in the same transaction) while the connection
stays in autocommit, holding no transaction open on the replica between polls.
"""

import json
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from harness.aws import AwsAccess
from harness.load import schema
from harness.load.ledger import Entity
from harness.load.row_image import row_digest
from harness.observe.base import SnapshotRow
from harness.observe.polling import POLL_INTERVAL_S, PollingObserver

CONNECT_TIMEOUT_S = 10


class PostgresReplicaObserver(PollingObserver):
    """Polls the replica over one autocommit connection, opened by the first poll (so a
    connection error is the observer's `error`) and closed on stop. `aws` reads the secret
    (unused with a `dsn`)."""

    def __init__(
        self,
        projection: str,
        log_path: Path,
        aws: AwsAccess,
        dsn: str | None = None,
        tables: tuple[str, ...] = schema.TABLES,
        interval_s: float = POLL_INTERVAL_S,
        host: str | None = None,
        port: int | None = None,
        database: str | None = None,
        secret_arn: str | None = None,
    ) -> None:
        super().__init__(projection, log_path, interval_s)
        if dsn is None and not (host and secret_arn):
            raise ValueError("a postgres_replica observer needs a dsn, or a host and secret_arn")
        self.dsn = dsn
        self.tables = tables
        self._aws = aws
        self._address = {"host": host, "port": port, "dbname": database}
        self._secret_arn = secret_arn
        self._conn: psycopg.Connection[Any] | None = None
        self._present: tuple[str, ...] = ()
        """The tables the replica has (all once seen: tables are not dropped)."""

    def read_versions(self) -> dict[Entity, int]:
        return self._read_versions(self._connection())

    def read_rows(self, entities: Iterable[Entity]) -> dict[Entity, dict[str, Any]]:
        keys: dict[str, list[int]] = defaultdict(list)
        for table, key in entities:
            keys[table].append(int(key))
        rows: dict[Entity, dict[str, Any]] = {}
        with self._connection().cursor(row_factory=dict_row) as cursor:
            for table, ids in keys.items():
                query = sql.SQL("SELECT * FROM {table} WHERE {key} = ANY(%s)").format(
                    table=sql.Identifier(table), key=sql.Identifier(schema.KEY_COLUMN)
                )
                for row in cursor.execute(query, (ids,)):
                    rows[(table, str(row[schema.KEY_COLUMN]))] = row
        return rows

    def snapshot(self) -> list[SnapshotRow]:
        """Every row of every table, read in one statement each over a connection of its own
        (the polling one is closed once stopped)."""
        rows = []
        with self._connect() as conn, conn.cursor(row_factory=dict_row) as cursor:
            for table in self._tables_present(conn):
                query = sql.SQL("SELECT * FROM {table}").format(table=sql.Identifier(table))
                for row in cursor.execute(query):
                    key, version = str(row[schema.KEY_COLUMN]), int(row[schema.VERSION_COLUMN])
                    digest = row_digest(table, row)
                    rows.append(SnapshotRow(table, key, version, digest, tombstone=False))
        return rows

    def stop(self) -> None:
        super().stop()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _read_versions(self, conn: psycopg.Connection[Any]) -> dict[Entity, int]:
        if len(self._present) < len(self.tables):
            self._present = self._tables_present(conn)
            if not self._present:
                return {}
        query = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {name}, {key}::text, {version} FROM {table}").format(
                name=sql.Literal(table),
                key=sql.Identifier(schema.KEY_COLUMN),
                version=sql.Identifier(schema.VERSION_COLUMN),
                table=sql.Identifier(table),
            )
            for table in self._present
        )
        return {(table, key): version for table, key, version in conn.execute(query)}

    def _tables_present(self, conn: psycopg.Connection[Any]) -> tuple[str, ...]:
        found = conn.execute(
            "SELECT t FROM unnest(%s::text[]) t WHERE to_regclass(quote_ident(t)) IS NOT NULL",
            (list(self.tables),),
        )
        return tuple(row[0] for row in found)

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _connect(self) -> psycopg.Connection[Any]:
        if self.dsn is None:
            answer = self._aws.client("secretsmanager").get_secret_value(SecretId=self._secret_arn)
            secret = json.loads(answer["SecretString"])
            self.dsn = psycopg.conninfo.make_conninfo(
                **{k: v for k, v in self._address.items() if v is not None},
                user=secret["username"],
                password=secret["password"],
            )
        # nothing prepared: the replica's writer may add a column to a table mid-run, and a
        # prepared `SELECT *` would then fail ("cached plan must not change result type")
        return psycopg.connect(
            self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S, prepare_threshold=None
        )
