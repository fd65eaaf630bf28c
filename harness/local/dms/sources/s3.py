"""The DMS Amazon S3 source: tables from an external table definition, rows from CSV objects.

Hand-written because no library reads DMS's S3 source layout: the full load reads
every object under `<BucketFolder>/<TablePath>` (LOAD001.csv, LOAD002.csv... in
lexical order; an optional leading `I` field is dropped), and CDC polls
`<BucketFolder>/<CdcPath>/` for objects whose rows are `op,table,schema,values...`
(op INSERT/UPDATE/DELETE or I/U/D, any case). Each CDC object becomes one
transaction. As on AWS, CDC objects are taken in lexical order: an object that
lands after a lexically later one was processed is skipped (with one warning).
Empty fields read as NULL.
"""

import csv
import io
import json
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from harness.aws import HARNESS_AGENT
from harness.local.dms.changes import Column, Item, Op, Row, RowChange, Table, Transaction
from harness.local.dms.context import TaskContext
from harness.local.dms.sources.base import DmsSource
from harness.local.dms.targets.s3 import as_bool, as_int, join_key, unescape

log = logging.getLogger("harness.local.dms")

POLL_INTERVAL_S = 0.2
MAX_FILES_PER_READ = 100

_OPS: dict[str, Op] = {
    "I": "insert",
    "INSERT": "insert",
    "U": "update",
    "UPDATE": "update",
    "D": "delete",
    "DELETE": "delete",
}


def parse_op(text: str) -> Op:
    """A CDC row's operation field (INSERT/UPDATE/DELETE or I/U/D, any case)."""
    try:
        return _OPS[text.strip().upper()]
    except KeyError:
        raise ValueError(f"unknown S3 CDC operation {text!r}") from None


def _opt_int(value: object) -> int | None:
    return None if value is None or value == "" else int(str(value))


def parse_table_definition(document: str | Mapping[str, Any]) -> list["SourceTable"]:
    """The tables of an external table definition (JSON text or parsed; numbers and
    booleans may be strings, as in the guide's example)."""
    doc = json.loads(document) if isinstance(document, str) else document
    tables = []
    for t in doc.get("Tables", []):
        columns, pk = [], []
        for c in t.get("TableColumns", []):
            name = str(c["ColumnName"])
            columns.append(
                Column(
                    name,
                    str(c["ColumnType"]).upper(),
                    length=_opt_int(c.get("ColumnLength")),
                    precision=_opt_int(c.get("ColumnPrecision")),
                    scale=_opt_int(c.get("ColumnScale")),
                    nullable=as_bool(c.get("ColumnNullable"), default=True),
                )
            )
            if as_bool(c.get("ColumnIsPk")):
                pk.append(name)
        table = Table(str(t["TableOwner"]), str(t["TableName"]), tuple(columns), tuple(pk))
        tables.append(SourceTable(table, str(t["TablePath"])))
    return tables


def split_records(text: str, row_delimiter: str) -> list[str]:
    """Records split on a custom row delimiter, except inside double quotes."""
    records, start, quoted, i = [], 0, False, 0
    while i < len(text):
        if text[i] == '"':
            quoted = not quoted
        elif not quoted and text.startswith(row_delimiter, i):
            records.append(text[start:i])
            start = i + len(row_delimiter)
            i = start
            continue
        i += 1
    return [*records, text[start:]] if start < len(text) else records


def parse_csv(text: str, delimiter: str = ",", row_delimiter: str = "\n") -> list[list[str]]:
    """The non-blank rows of a CSV object (RFC 4180 quoting)."""
    lines: Iterable[str] = (
        io.StringIO(text, newline="")
        if row_delimiter in ("\n", "\r\n")
        else split_records(text, row_delimiter)
    )
    return [fields for fields in csv.reader(lines, delimiter=delimiter) if fields]


def to_row(table: Table, fields: list[str]) -> Row:
    """Fields in column order as a row; empty fields are NULL, missing trailing fields too."""
    names = table.column_names
    return {n: (fields[i] or None) if i < len(fields) else None for i, n in enumerate(names)}


@dataclass(frozen=True)
class SourceTable:
    table: Table
    path: str


class S3Source(DmsSource):
    def __init__(self, ctx: TaskContext) -> None:
        super().__init__(ctx)
        s = ctx.endpoint.get("S3Settings") or {}
        self.bucket = str(s.get("BucketName") or "")
        self.folder = str(s.get("BucketFolder") or "")
        self.cdc_prefix = join_key(self.folder, str(s.get("CdcPath") or "")) + "/"
        self.delimiter = unescape(str(s.get("CsvDelimiter") or ","))
        self.row_delimiter = unescape(str(s.get("CsvRowDelimiter") or "\n"))
        self.header_rows = as_int(s.get("IgnoreHeaderRows"), 0)
        definition = ctx.endpoint.get("ExternalTableDefinition") or s.get("ExternalTableDefinition")
        if not self.bucket or not definition:
            raise ValueError("S3 source endpoint needs BucketName and ExternalTableDefinition")
        self.tables = [
            t
            for t in parse_table_definition(definition)
            if ctx.mapping.selects(t.table.schema, t.table.name)
        ]
        self._by_name = {(t.table.schema, t.table.name): t.table for t in self.tables}
        self._s3: Any = None
        self._lister: Any = None
        """Lists the folder for new files: how often AWS DMS looks is not published, so
        this engine's polling is the emulation's, not the pattern's metered usage."""
        self._last: str | None = None
        self._confirmed: str | None = None
        self._seen: set[str] = set()
        self._primed = False
        self._xid = 0

    def open(self, checkpoint: str | None, full_load: bool) -> None:
        self._s3 = self.ctx.aws.client("s3")
        self._lister = replace(self.ctx.aws, agent=HARNESS_AGENT).client("s3")
        self._last = self._confirmed = checkpoint
        self._seen, self._primed = set(), False

    # --- full load -------------------------------------------------------------------

    def full_load(self) -> Iterator[tuple[Table, Iterable[Row]]]:
        for source in self.tables:
            yield source.table, self._load_rows(source)

    def _load_rows(self, source: SourceTable) -> Iterator[Row]:
        table, width = source.table, len(source.table.columns)
        prefix = join_key(self.folder, source.path) + "/"
        for obj in self._list(prefix):
            for fields in self._read_rows(obj["Key"]):
                yield to_row(table, fields[1:] if len(fields) == width + 1 else fields)

    # --- CDC -------------------------------------------------------------------------

    def read(self, timeout_s: float) -> list[Item]:
        deadline = time.monotonic() + timeout_s
        while True:
            keys = self._new_keys()
            self.caught_up = len(keys) < MAX_FILES_PER_READ
            if keys:
                return [self._transaction(obj) for obj in keys]
            if time.monotonic() >= deadline:
                return []
            time.sleep(min(POLL_INTERVAL_S, max(0.0, deadline - time.monotonic())))

    def _new_keys(self) -> list[dict[str, Any]]:
        """Objects to process now, in lexical order; late arrivals are skipped."""
        fresh = []
        for obj in self._list(self.cdc_prefix):
            key = obj["Key"]
            if key in self._seen:
                continue
            self._seen.add(key)
            if self._last is not None and key <= self._last:
                if self._primed:
                    log.warning(
                        "S3 source: CDC file %s arrived after %s was processed; skipped "
                        "(CDC files must arrive in lexical order)",
                        key,
                        self._last,
                    )
                continue
            fresh.append(obj)
        self._primed = True
        self._seen.difference_update(o["Key"] for o in fresh[MAX_FILES_PER_READ:])
        fresh = fresh[:MAX_FILES_PER_READ]
        if fresh:
            self._last = fresh[-1]["Key"]
        return fresh

    def _transaction(self, obj: Mapping[str, Any]) -> Transaction:
        key = obj["Key"]
        self._xid += 1
        txn = Transaction(self._xid, obj["LastModified"], key)
        for fields in self._read_rows(key):
            table = self._by_name.get((fields[2], fields[1])) if len(fields) >= 3 else None
            if table is None:
                continue
            txn.changes.append(RowChange(parse_op(fields[0]), table, to_row(table, fields[3:])))
        return txn

    def confirm(self, position: str) -> None:
        self._confirmed = position

    def checkpoint(self) -> str | None:
        return self._confirmed

    def close(self) -> None:
        if self._s3 is not None:
            self._s3.close()
            self._lister.close()
            self._s3 = self._lister = None

    def drop(self) -> None:
        """Nothing server-side: processed files are remembered only through checkpoints."""

    # --- S3 --------------------------------------------------------------------------

    def _list(self, prefix: str) -> list[dict[str, Any]]:
        pages = self._lister.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        objects = [o for page in pages for o in page.get("Contents", []) if o["Key"][-1] != "/"]
        return sorted(objects, key=lambda o: o["Key"])

    def _read_rows(self, key: str) -> list[list[str]]:
        body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode()
        return parse_csv(body, self.delimiter, self.row_delimiter)[self.header_rows :]
