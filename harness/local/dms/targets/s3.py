"""The DMS Amazon S3 target: full-load LOAD files and batched CDC files in DMS's CSV layout.

Hand-written because no library writes the object layout DMS produces on S3:
`<BucketFolder>/<schema>/<table>/LOAD00000001.csv` (uppercase hex counter) for the
full load, `<BucketFolder>[/<CdcPath>]/<schema>/<table>/<yyyymmdd-hhmmssffff>.csv`
per table for CDC (rows `op,values...`), or with PreserveTransactions one
transaction-ordered `<BucketFolder>/<CdcPath>/CDC_TXN-<yyyyMMddHHmmssSSS>.csv`
for all tables (rows `op,table,schema,values...`). CDC rows are formatted into
CSV text as they arrive and written when CdcMaxBatchInterval or CdcMinFileSize
is reached, whichever comes first. Quoting is RFC 4180 (DMS's default, Rfc4180=true):
fields holding the delimiter, a quote or a line break are double-quoted, quotes doubled.

`stall()` is the local target's control for a late CDC file (the `late_cdc_file` fault):
the upload of the next CDC file stalls while the following ones go through, and completes
once a later file has been in the bucket for a batch, so it lands after a file that sorts
after it (or, when no later file comes, when its controller gives up waiting: `release`).
The stalled upload counts as written (the task confirms past it), as an upload in flight
would.
"""

import re
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from harness.local.dms.changes import Row, SchemaChange, Table, Transaction, Value
from harness.local.dms.context import TaskContext
from harness.local.dms.targets.base import DmsTarget

LOAD_TIMESTAMP_EVERY = 10_000
"""During a full load the timestamp column (transfer time) is refreshed every so many rows."""

_TRUE = {"true", "y", "yes", "1"}
_FALSE = {"false", "n", "no", "0", ""}


def as_bool(value: object, default: bool = False) -> bool:
    """A DMS boolean setting: a bool, or text `true`/`false`/`y`/`n` in any case."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not a boolean setting value: {value!r}")


def as_int(value: object, default: int) -> int:
    """A DMS integer setting, given as a number or as text."""
    if value is None or value == "":
        return default
    return int(str(value).strip())


def unescape(value: str) -> str:
    """A delimiter setting as typed on a command line (`\\n`, `\\t`) made literal."""
    return value.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t")


def join_key(*parts: str) -> str:
    """An S3 key from folder parts, empty parts and stray slashes dropped."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def load_file_name(number: int) -> str:
    """`LOAD00000001.csv`: full-load files count up in uppercase hexadecimal."""
    return f"LOAD{number:08X}.csv"


def cdc_file_name(tick: int) -> str:
    """A per-table CDC file name for `tick` (100 µs units since the epoch, UTC), in the
    guide's form `20141029-1134010000.csv`: date, dash, hhmmss and four sub-second digits."""
    seconds, fraction = divmod(tick, 10_000)
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime(seconds)) + f"{fraction:04d}.csv"


def txn_file_name(tick: int) -> str:
    """A transaction file name for `tick` (milliseconds since the epoch, UTC), in the guide's
    form `CDC_TXN-20201117153046033.csv`."""
    seconds, fraction = divmod(tick, 1000)
    return f"CDC_TXN-{time.strftime('%Y%m%d%H%M%S', time.gmtime(seconds))}{fraction:03d}.csv"


def next_tick(now_ns: int, unit_ns: int, last: int) -> int:
    """The clock in `unit_ns` units, forced past `last` so file names never repeat and
    always sort after the previous one, even for two flushes in the same unit."""
    return max(now_ns // unit_ns, last + 1)


def dms_timestamp(moment: datetime) -> str:
    """`yyyy-MM-dd HH:mm:ss.SSSSSS` in UTC, the TimestampColumnName value format."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(sep=" ", timespec="microseconds")


DMS_CDC_MAX_BATCH_INTERVAL_S = 60
"""DMS's default CdcMaxBatchInterval, for an endpoint that sets none."""
DMS_CDC_MIN_FILE_SIZE_KB = 32000
DMS_MAX_FILE_SIZE_KB = 1048576


@dataclass(frozen=True)
class S3TargetSettings:
    """The S3Settings this target honours, coerced from DescribeEndpoints output."""

    bucket: str
    folder: str = ""
    cdc_path: str = ""
    max_batch_interval: float = DMS_CDC_MAX_BATCH_INTERVAL_S
    min_file_size_kb: int = DMS_CDC_MIN_FILE_SIZE_KB
    max_file_size_kb: int = DMS_MAX_FILE_SIZE_KB
    include_op_for_full_load: bool = False
    timestamp_column: str = ""
    cdc_inserts_only: bool = False
    cdc_inserts_and_updates: bool = False
    preserve_transactions: bool = False
    delimiter: str = ","
    row_delimiter: str = "\n"
    add_column_name: bool = False
    null_value: str | None = None

    @classmethod
    def from_endpoint(cls, endpoint: Mapping[str, Any]) -> "S3TargetSettings":
        s = endpoint.get("S3Settings") or {}
        _refuse_unsupported(s)
        settings = cls(
            bucket=str(s.get("BucketName") or ""),
            folder=str(s.get("BucketFolder") or ""),
            cdc_path=str(s.get("CdcPath") or ""),
            max_batch_interval=as_int(s.get("CdcMaxBatchInterval"), DMS_CDC_MAX_BATCH_INTERVAL_S),
            min_file_size_kb=as_int(s.get("CdcMinFileSize"), DMS_CDC_MIN_FILE_SIZE_KB),
            max_file_size_kb=as_int(s.get("MaxFileSize"), DMS_MAX_FILE_SIZE_KB),
            include_op_for_full_load=as_bool(s.get("IncludeOpForFullLoad")),
            timestamp_column=str(s.get("TimestampColumnName") or ""),
            cdc_inserts_only=as_bool(s.get("CdcInsertsOnly")),
            cdc_inserts_and_updates=as_bool(s.get("CdcInsertsAndUpdates")),
            preserve_transactions=as_bool(s.get("PreserveTransactions")),
            delimiter=unescape(str(s.get("CsvDelimiter") or ",")),
            row_delimiter=unescape(str(s.get("CsvRowDelimiter") or "\n")),
            add_column_name=as_bool(s.get("AddColumnName")),
            null_value=s.get("CsvNullValue"),
        )
        settings._check()
        return settings

    def _check(self) -> None:
        if not self.bucket:
            raise ValueError("S3 target endpoint has no BucketName")
        if len(self.delimiter) != 1:
            raise ValueError(f"CsvDelimiter must be one character, got {self.delimiter!r}")
        if self.cdc_inserts_only and self.cdc_inserts_and_updates:
            raise ValueError("CdcInsertsOnly and CdcInsertsAndUpdates can't both be true")
        if self.preserve_transactions and not self.cdc_path:
            raise ValueError("PreserveTransactions=true needs CdcPath")
        if self.preserve_transactions and self.add_column_name:
            raise ValueError("PreserveTransactions can't be combined with AddColumnName")

    @property
    def cdc_has_op(self) -> bool:
        """Per-table CDC rows carry the op field unless narrowed to inserts (and updates)
        without IncludeOpForFullLoad; transaction files always carry it."""
        narrowed = self.cdc_inserts_only or self.cdc_inserts_and_updates
        return self.preserve_transactions or not narrowed or self.include_op_for_full_load

    def op_codes(self) -> dict[str, tuple[str, ...]]:
        """The op field written for each kept change op (empty when there is no op field)."""
        kept = {"insert": "I", "update": "U", "delete": "D"}
        if self.cdc_inserts_only:
            kept = {"insert": "I"}
        elif self.cdc_inserts_and_updates:
            kept = {"insert": "I", "update": "U"}
        return {op: (code,) if self.cdc_has_op else () for op, code in kept.items()}

    def new_file(self, header: Sequence[str] = ()) -> "CsvFile":
        return CsvFile(self.delimiter, self.row_delimiter, header)


def _refuse_unsupported(s: Mapping[str, Any]) -> None:
    """Settings the local engine does not emulate fail loudly instead of being ignored."""
    data_format = str(s.get("DataFormat") or "csv").lower()
    if data_format != "csv":
        raise ValueError(f"S3 target DataFormat {data_format!r} is not supported (only csv)")
    compression = str(s.get("CompressionType") or "none").lower()
    if compression != "none":
        raise ValueError(f"S3 target CompressionType {compression!r} is not supported")
    if as_bool(s.get("DatePartitionEnabled")):
        raise ValueError("S3 target DatePartitionEnabled is not supported")
    if not as_bool(s.get("Rfc4180"), default=True):
        raise ValueError("S3 target Rfc4180=false is not supported")


def quote_field(value: str, specials: str) -> str:
    """RFC 4180 quoting: a value holding any of `specials` (the delimiter, a quote, CR, LF,
    row-delimiter characters) is enclosed in double quotes with its quotes doubled."""
    if _special(specials).search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


@lru_cache(maxsize=16)
def _special(specials: str) -> re.Pattern[str]:
    return re.compile("[" + re.escape(specials) + "]")


class CsvFile:
    """One object's CSV text, formatted row by row as changes arrive.

    Written by hand rather than with `csv.writer`: joining a row that needs no quotes is
    several times cheaper per row, and the csv module leaves a lone CR unquoted, which
    readers then take for a line break."""

    __slots__ = ("_delimiter", "_end", "_lines", "_plain", "_specials", "size")

    def __init__(self, delimiter: str, row_delimiter: str, header: Sequence[str] = ()) -> None:
        self._delimiter = delimiter
        self._end = row_delimiter
        self._specials = "".join(dict.fromkeys(f'{delimiter}"\r\n{row_delimiter}'))
        self._plain = set(row_delimiter) <= {"\r", "\n"}
        self._lines: list[str] = []
        self.size = 0
        if header:
            self.write(list(header))

    def write(self, fields: list[Value]) -> int:
        """Append one row (None is written as an empty field); returns characters written."""
        d = self._delimiter
        if None in fields:
            fields = [f or "" for f in fields]
        line = d.join(fields)  # type: ignore[arg-type]
        # Quote the fields holding a special character; the usual delimiters inline (no call
        # or regex per field), and when the row has no line break only `"` and `d` can be one.
        if not self._plain:
            line = d.join([quote_field(f, self._specials) for f in fields])  # type: ignore[arg-type]
        elif "\n" in line or "\r" in line:
            line = d.join(
                [
                    '"' + f.replace('"', '""') + '"'
                    if '"' in f or d in f or "\n" in f or "\r" in f
                    else f
                    for f in fields  # type: ignore[union-attr]
                ]
            )
        elif '"' in line or line.count(d) != len(fields) - 1:
            line = d.join(
                [
                    '"' + f.replace('"', '""') + '"' if '"' in f or d in f else f
                    for f in fields  # type: ignore[union-attr]
                ]
            )
        line = (line or '""') + self._end  # a lone empty field must not read as a blank line
        self._lines.append(line)
        self.size += len(line)
        return len(line)

    def body(self) -> bytes:
        return "".join(self._lines).encode()


@dataclass(slots=True)
class _Route:
    """Where one Table object's changes go, resolved once per table object and batch."""

    table: Table
    names: tuple[str, ...]
    file: CsvFile
    tail: tuple[str, ...]


class S3Target(DmsTarget):
    flush_when_idle = False  # files are written by CdcMaxBatchInterval / CdcMinFileSize only

    def __init__(self, ctx: TaskContext) -> None:
        super().__init__(ctx)
        self.settings = S3TargetSettings.from_endpoint(ctx.endpoint)
        self._s3 = ctx.aws.client("s3")
        self._codes = self.settings.op_codes()
        self._values = _values_fn(self.settings.null_value)
        self._load_files: dict[str, int] = {}
        self._last_tick = 0
        self._stalling = False
        self._held: list[tuple[str, CsvFile]] = []
        """A stalled upload: the files of one flush, not yet written."""
        self._passed = False
        """A file that sorts after the held ones has been written."""
        self._holding = threading.Lock()
        """Guards the stalled upload between the task's flushes and its controller."""
        self._reset()

    def _reset(self) -> None:
        self._files: dict[str, CsvFile] = {}
        self._routes: dict[int, _Route] = {}
        self._oldest: float | None = None
        self._size = 0

    # --- full load -------------------------------------------------------------------

    def load_rows(self, table: Table, rows: Iterable[Row]) -> int:
        s = self.settings
        prefix = join_key(s.folder, table.schema, table.name)
        names = table.column_names
        op = ("I",) if s.include_op_for_full_load else ()
        header = self._header(table, op) if s.add_column_name else ()
        limit = s.max_file_size_kb * 1024
        values, file, ts, count = self._values, None, (), 0
        for row in rows:
            if file is None:
                file = self.settings.new_file(header)
            if s.timestamp_column and count % LOAD_TIMESTAMP_EVERY == 0:
                ts = (dms_timestamp(datetime.now(UTC)),)
            file.write([*op, *ts, *values(row, names)])
            count += 1
            if file.size >= limit:
                self._put_load_file(prefix, file)
                file = None
        if file is not None:
            self._put_load_file(prefix, file)
        return count

    def _put_load_file(self, prefix: str, file: CsvFile) -> None:
        number = self._load_files.get(prefix, 0) + 1
        self._load_files[prefix] = number
        self._put(f"{prefix}/{load_file_name(number)}", file)

    # --- CDC -------------------------------------------------------------------------

    def apply(self, txn: Transaction) -> None:
        ts = (dms_timestamp(txn.commit_ts),) if self.settings.timestamp_column else ()
        codes, routes, values = self._codes, self._routes, self._values
        added = 0
        for change in txn.changes:
            op = codes.get(change.op)
            if op is None:
                continue
            route = routes.get(id(change.table)) or self._route(change.table)
            added += route.file.write([*op, *route.tail, *ts, *values(change.row, route.names)])
        if added:
            if self._oldest is None:
                self._oldest = time.monotonic()
            self._size += added

    def _route(self, table: Table) -> _Route:
        s = self.settings
        if s.preserve_transactions:
            prefix, tail = join_key(s.folder, s.cdc_path), (table.name, table.schema)
        else:
            prefix, tail = join_key(s.folder, s.cdc_path, table.schema, table.name), ()
        file = self._files.get(prefix)
        if file is None:
            op = ("Op",) if s.cdc_has_op else ()
            header = self._header(table, op) if s.add_column_name else ()
            file = self._files[prefix] = self.settings.new_file(header)
        route = self._routes[id(table)] = _Route(table, table.column_names, file, tail)
        return route

    def _header(self, table: Table, op: tuple[str, ...]) -> tuple[str, ...]:
        ts = (self.settings.timestamp_column,) if self.settings.timestamp_column else ()
        return (*("Op" for _ in op), *ts, *table.column_names)

    def schema_change(self, change: SchemaChange) -> None:
        """Nothing to write: later rows carry the changed table's columns."""

    def due(self, now: float) -> bool:
        if self._oldest is None:
            return False
        s = self.settings
        return now - self._oldest >= s.max_batch_interval or (
            self._size >= s.min_file_size_kb * 1024
        )

    def flush(self) -> None:
        if not self._files:
            return
        if self.settings.preserve_transactions:
            self._last_tick = next_tick(time.time_ns(), 1_000_000, self._last_tick)
            name = txn_file_name(self._last_tick)
        else:
            self._last_tick = next_tick(time.time_ns(), 100_000, self._last_tick)
            name = cdc_file_name(self._last_tick)
        files = [(f"{prefix}/{name}", file) for prefix, file in self._files.items()]
        self._reset()
        with self._holding:
            if self._stalling and not self._held:
                self._held, self._passed = files, False
                return
            release = bool(self._held) and self._passed and not self._stalling
            for key, file in files:
                self._put(key, file)
            self._passed = bool(self._held)
            if release:
                self._release()

    def stall(self, stalled: bool) -> None:
        """Stall the next CDC file's upload (True), or let a stalled one complete once a
        later file has been written for a batch (False). Called from another thread."""
        self._stalling = stalled

    @property
    def holding(self) -> bool:
        """A stalled upload has not completed yet."""
        return bool(self._held)

    def release(self) -> None:
        """Complete a stalled upload now."""
        with self._holding:
            self._release()

    def _release(self) -> None:
        held, self._held, self._passed = self._held, [], False
        for key, file in held:
            self._put(key, file)

    def _put(self, key: str, file: CsvFile) -> None:
        self._s3.put_object(
            Bucket=self.settings.bucket, Key=key, Body=file.body(), ContentType="text/csv"
        )

    def close(self) -> None:
        """A stalled upload completes before the client goes."""
        try:
            self.release()
        finally:
            self._s3.close()


def _values_fn(null_value: str | None) -> Any:
    """How a row becomes fields in column order: the csv module writes None as an empty
    field (DMS's default); CsvNullValue substitutes a marker instead."""
    if null_value is None:
        return lambda row, names: map(row.get, names)
    return lambda row, names: [null_value if row.get(n) is None else row.get(n) for n in names]
