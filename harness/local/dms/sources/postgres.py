"""PostgreSQL as a DMS source: a logical replication slot read with `test_decoding`.

As DMS does: one slot per task; a new start creates the slot and, for full load,
reads every selected table in the snapshot the slot exports, so full load and CDC
meet exactly (nothing lost or doubled). Changes stream over the replication
protocol and the slot's confirmed position moves only on `confirm`, i.e. after
the target has them durably: a crash or stop replays from there.

psycopg2 is used for the replication connection because psycopg 3 does not speak
the streaming replication protocol; everything else uses psycopg 3.

Schema changes: DDL is not in test_decoding's output. A row whose columns differ
from the table's known columns yields add-column/drop-column changes just before
its transaction (DMS captures DDL with an event trigger; the control record can
therefore come later here, at the table's next change, never after it).

LOB columns an UPDATE did not touch arrive as `unchanged-toast-datum`; they are
taken from the old image when there is one (REPLICA IDENTITY FULL), else looked
up in the source table by key, which is what DMS's LOB lookup does too.

The endpoint's SslMode (DMS's default: none) decides whether the connections use TLS;
verify-ca and verify-full encrypt as require does, without checking the server's
certificate (the local engine has no CertificateArn store to check it against).
"""

import hashlib
import logging
import select
import time
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg
import psycopg2
import psycopg2.extras
from psycopg import sql

from harness.local.dms.changes import Column, Item, Row, RowChange, SchemaChange, Table, Transaction
from harness.local.dms.context import TaskContext
from harness.local.dms.sources import pg_types
from harness.local.dms.sources.base import DmsSource, SourceError
from harness.local.dms.sources.test_decoding import (
    UNCHANGED_TOAST,
    Decoded,
    TupleShape,
    parse_commit,
    parse_header,
    parse_row,
)

log = logging.getLogger("harness.local.dms")

PLUGIN_OPTIONS = {"include-xids": "1", "include-timestamp": "1", "skip-empty-xacts": "1"}
SSL_MODES = {
    "none": "disable",
    "require": "require",
    "verify-ca": "require",
    "verify-full": "require",
}
"""DMS SslMode -> libpq sslmode."""
MAX_ROWS_PER_READ = 5_000
FETCH_ROWS = 5_000

_CATALOG = """
SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       array_position(i.indkey::int2[], a.attnum)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%'
ORDER BY n.nspname, c.relname, a.attnum
"""


def slot_name(task_arn: str) -> str:
    """The slot a task uses unless its endpoint names one (`SlotName`)."""
    return "cdcbench_" + hashlib.sha1(task_arn.encode()).hexdigest()[:20]


def lsn_text(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"


def lsn_int(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)


class _Known:
    """A source table with the column facts the hot path needs."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.keys = frozenset(table.column_names)
        self.shape: TupleShape | None = None  # learnt from the first full row
        self.convert = [
            (c.name, pg_types.converter(c)) for c in table.columns if pg_types.converter(c)
        ]


class PostgresSource(DmsSource):
    def __init__(self, ctx: TaskContext) -> None:
        super().__init__(ctx)
        settings = ctx.endpoint.get("PostgreSQLSettings") or {}
        plugin = str(settings.get("PluginName") or "test_decoding").lower()
        if plugin not in ("test_decoding", "no-preference"):
            raise SourceError(f"PluginName {plugin!r}: the local DMS engine reads test_decoding")
        self.slot = str(settings.get("SlotName") or slot_name(ctx.task_arn))
        ep = ctx.endpoint
        ssl_mode = str(ep.get("SslMode") or "none").lower()
        if ssl_mode not in SSL_MODES:
            raise SourceError(f"SslMode {ssl_mode!r}: expected one of {', '.join(SSL_MODES)}")
        self.dsn = psycopg.conninfo.make_conninfo(
            host=ep.get("ServerName"),
            port=ep.get("Port"),
            dbname=ep.get("DatabaseName"),
            user=ctx.credentials.get("Username") or ep.get("Username"),
            password=ctx.credentials.get("Password"),
            connect_timeout=10,
            sslmode=SSL_MODES[ssl_mode],
            options="-c TimeZone=UTC",
        )
        self._repl: Any = None
        self._cursor: Any = None
        self._streaming = False
        self._snapshot: str | None = None
        self._confirmed: str | None = None
        self._known: dict[tuple[str, str], _Known | None] = {}
        self._headers: dict[str, tuple[tuple[str, str, str, int], _Known | None]] = {}
        """Row header text -> its parse and its table (cleared when a table is (re)learnt)."""
        self._lookup_conn: psycopg.Connection[Any] | None = None
        self._changes: list[RowChange] | None = None  # of the open transaction, if any
        self._ddl: list[tuple[str, Table, Column]] = []

    # -- life cycle -------------------------------------------------------------------------

    def open(self, checkpoint: str | None, full_load: bool) -> None:
        try:
            self._repl = psycopg2.connect(
                self.dsn, connection_factory=psycopg2.extras.LogicalReplicationConnection
            )
        except psycopg2.Error as exc:
            raise SourceError(f"cannot connect to the source: {_first_line(exc)}") from exc
        self._cursor = self._repl.cursor()
        self._load_catalog()
        exists = self._slot_exists()
        if checkpoint is not None:
            if not exists:
                raise SourceError(
                    f"replication slot {self.slot} is gone, the task cannot resume; "
                    "start it with reload-target"
                )
            self._confirmed = checkpoint
            return
        if exists:
            self._drop_slot()
        mode = "EXPORT_SNAPSHOT" if full_load else "NOEXPORT_SNAPSHOT"
        self._cursor.execute(f"CREATE_REPLICATION_SLOT {self.slot} LOGICAL test_decoding {mode}")
        _, consistent, snapshot, _ = self._cursor.fetchone()
        self._snapshot = snapshot
        self._confirmed = consistent

    def full_load(self) -> Iterator[tuple[Table, Iterable[Row]]]:
        if self._snapshot is None:
            raise SourceError("full load needs a fresh start (no snapshot to load from)")
        with psycopg.connect(self.dsn) as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            conn.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(self._snapshot)))
            for known in self.tables():
                yield known.table, self._table_rows(conn, known)
        self._snapshot = None

    def tables(self) -> list[_Known]:
        return [k for k in self._known.values() if k is not None]

    def read(self, timeout_s: float) -> list[Item]:
        if not self._streaming:
            self._start_streaming()
        cur, out, rows = self._cursor, [], 0
        deadline = time.monotonic() + timeout_s
        self.caught_up = False
        while rows < MAX_ROWS_PER_READ:
            try:
                msg = cur.read_message()
            except psycopg2.Error as exc:
                raise SourceError(f"replication stream broke: {_first_line(exc)}") from exc
            if msg is None:
                # psycopg2 reads the socket once per call and stops at a server keepalive
                # (sent each time the server waits for WAL, i.e. after nearly every commit):
                # the source is caught up only when the socket has nothing more either
                remaining = deadline - time.monotonic()
                wait_s = 0.0 if out else max(remaining, 0.0)
                waiting = bool(select.select([self._repl], [], [], wait_s)[0])
                if waiting and remaining > 0:
                    continue
                self.caught_up = not waiting
                break
            payload: str = msg.payload
            first = payload[0]
            if first == "t":
                if self._changes is not None:
                    self._row(payload, self._changes)
            elif first == "B":
                self._changes = []
            elif first == "C" and self._changes is not None:
                rows += len(self._changes)
                self._commit(payload, msg.data_start, self._changes, out)
                self._changes = None
        return out

    def confirm(self, position: str) -> None:
        self._confirmed = position
        if self._streaming:  # at once: psycopg2 otherwise waits for its 10 s status interval
            self._cursor.send_feedback(flush_lsn=lsn_int(position), force=True)

    def checkpoint(self) -> str | None:
        return self._confirmed

    def close(self) -> None:
        if self._repl is not None:
            try:
                if self._streaming and self._confirmed:
                    self._cursor.send_feedback(flush_lsn=lsn_int(self._confirmed), force=True)
            except psycopg2.Error:
                pass  # the connection is going away anyway; the slot keeps its last position
            self._repl.close()
            self._repl = None
            self._streaming = False
        if self._lookup_conn is not None:
            self._lookup_conn.close()
            self._lookup_conn = None

    def drop(self) -> None:
        self.close()
        if self._slot_exists():
            self._drop_slot()

    # -- catalog and slot -------------------------------------------------------------------

    def _query(self, query: str, *params: object) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()  # type: ignore[arg-type]

    def _slot_exists(self) -> bool:
        found = self._query("SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", self.slot)
        return bool(found)

    def _drop_slot(self) -> None:
        # A walsender of a task that died may still hold the slot for a moment.
        for _ in range(50):
            active = self._query(
                "SELECT active_pid FROM pg_replication_slots WHERE slot_name = %s", self.slot
            )
            if not active:
                return
            if active[0][0] is None:
                self._query("SELECT pg_drop_replication_slot(%s)", self.slot)
                return
            self._query("SELECT pg_terminate_backend(%s)", active[0][0])
            time.sleep(0.1)
        raise SourceError(f"replication slot {self.slot} stays in use")

    def _load_catalog(self, only: tuple[str, str] | None = None) -> None:
        """Learn the selected tables from the catalog: all at open, or just `only`, a table
        first seen during CDC (the others keep the definition the stream has moved them to:
        the catalog may already be ahead of the stream)."""
        columns: dict[tuple[str, str], list[tuple[Column, int | None]]] = {}
        for schema, table, name, pg_type, notnull, pk_pos in self._query(_CATALOG):
            columns.setdefault((schema, table), []).append(
                (pg_types.column(name, pg_type, not notnull), pk_pos)
            )
        for (schema, name), cols in columns.items():
            if only not in (None, (schema, name)) or not self.ctx.mapping.selects(schema, name):
                continue
            pk = tuple(
                c.name
                for c, pos in sorted((p for p in cols if p[1] is not None), key=lambda p: p[1])
            )
            self._known[(schema, name)] = _Known(Table(schema, name, tuple(c for c, _ in cols), pk))
        self._headers.clear()

    def _known_table(self, schema: str, name: str) -> _Known | None:
        key = (schema, name)
        if key not in self._known:
            # A table created during CDC: selected or not, decided once.
            self._known[key] = None
            if self.ctx.mapping.selects(schema, name):
                self._load_catalog(only=key)
        return self._known.get(key)

    def _table_rows(self, conn: psycopg.Connection[Any], known: _Known) -> Iterator[Row]:
        table = known.table
        cols = sql.SQL(", ").join(
            sql.SQL("{}::text").format(sql.Identifier(c)) for c in table.column_names
        )
        query = sql.SQL("SELECT {} FROM {}.{}").format(
            cols, sql.Identifier(table.schema), sql.Identifier(table.name)
        )
        names = table.column_names
        with conn.cursor(name=f"load_{table.name}") as cur:
            cur.itersize = FETCH_ROWS
            cur.execute(query)
            for values in cur:
                row = dict(zip(names, values, strict=True))
                for name, convert in known.convert:
                    value = row[name]
                    if value is not None:
                        row[name] = convert(value)  # type: ignore[operator]
                yield row

    # -- CDC --------------------------------------------------------------------------------

    def _start_streaming(self) -> None:
        start = lsn_int(self._confirmed) if self._confirmed else 0
        try:
            self._cursor.start_replication(
                slot_name=self.slot, decode=True, start_lsn=start, options=PLUGIN_OPTIONS
            )
        except psycopg2.Error as exc:
            raise SourceError(f"cannot stream slot {self.slot}: {_first_line(exc)}") from exc
        self._streaming = True

    def _row(self, payload: str, changes: list[RowChange]) -> None:
        # `table <schema>.<name>: <OP>: ` repeats for every row of a table: its parse and
        # table are cached by its text (only when that text is what the parser consumed).
        end = payload.find(": ", payload.find(": ", 6) + 2) + 2
        cached = self._headers.get(payload[:end])
        if cached is None:
            header = parse_header(payload)
            if header is None:
                return
            cached = header, self._known_table(header[0], header[1])
            if header[3] == end:
                self._headers[payload[:end]] = cached
        header, known = cached
        if known is None:
            return
        schema, name, op, at = header
        shape = known.shape
        if shape is not None and op != "delete":  # the usual row: one match, nothing else
            row = shape.parse(payload, at)
            if row is not None:
                for column, convert in known.convert:
                    value = row[column]
                    if value is not None:
                        row[column] = convert(value)  # type: ignore[arg-type]
                changes.append(RowChange(op, known.table, row))  # type: ignore[arg-type]
                return
        decoded = parse_row(payload, header)
        if decoded.op == "truncate":
            log.warning("TRUNCATE of %s.%s is not replicated", schema, name)
            return
        if decoded.new is not None:
            if decoded.new.keys() != known.keys:
                known = self._schema_changed(known, decoded)
            if known.shape is None:
                known.shape = TupleShape(decoded.columns)
        changes.append(self._change(known, decoded))

    def _change(self, known: _Known, decoded: Decoded) -> RowChange:
        old = decoded.old
        if decoded.new is None:
            row = old or {}
            op = "delete"
        else:
            row = decoded.new
            op = decoded.op
            if UNCHANGED_TOAST in row.values():  # type: ignore[operator]
                self._fill_toast(known.table, row, old)
        for image in (row, old):
            if image:
                for name, convert in known.convert:
                    value = image.get(name)
                    if value is not None:
                        image[name] = convert(value)  # type: ignore[operator]
        return RowChange(op, known.table, row, old)  # type: ignore[arg-type]

    def _schema_changed(self, known: _Known, decoded: Decoded) -> _Known:
        table = known.table
        old = {c.name: c for c in table.columns}
        columns = tuple(old.get(n) or pg_types.column(n, t) for n, t in decoded.columns)
        new = _Known(Table(table.schema, table.name, columns, table.primary_key))
        self._known[(table.schema, table.name)] = new
        self._headers.clear()
        self._ddl += [("add-column", new.table, c) for c in columns if c.name not in known.keys]
        self._ddl += [
            ("drop-column", new.table, c) for c in table.columns if c.name not in new.keys
        ]
        return new

    def _commit(self, payload: str, lsn: int, changes: list[RowChange], out: list[Item]) -> None:
        """Append the transaction the COMMIT line `payload` ends (after its DDL) to `out`."""
        parsed = parse_commit(payload)
        if parsed is None or parsed[1] is None:
            raise SourceError(f"unexpected commit line from test_decoding: {payload[:80]}")
        xid, at = parsed
        position = lsn_text(lsn)
        if self._ddl:
            out += [SchemaChange(op, t, at, position, c) for op, t, c in self._ddl]
            self._ddl = []
        out.append(Transaction(xid, at, position, changes))

    def _fill_toast(
        self, table: Table, row: dict[str, object], old: dict[str, object] | None
    ) -> None:
        missing = [k for k, v in row.items() if v is UNCHANGED_TOAST]
        if old is not None and all(k in old for k in missing):
            for k in missing:
                row[k] = old[k]
            return
        if self._lookup_conn is None:
            self._lookup_conn = psycopg.connect(self.dsn, autocommit=True)
        query = sql.SQL("SELECT {} FROM {}.{} WHERE {}").format(
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(k)) for k in missing),
            sql.Identifier(table.schema),
            sql.Identifier(table.name),
            sql.SQL(" AND ").join(
                sql.SQL("{} = {}").format(sql.Identifier(k), sql.Literal(row[k]))
                for k in table.primary_key
            ),
        )
        found = self._lookup_conn.execute(query).fetchone()
        for i, k in enumerate(missing):
            row[k] = found[i] if found else None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
