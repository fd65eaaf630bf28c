"""DMS's Amazon S3 target CSV objects, decoded row by row.

Hand-written because no library reads the layout DMS writes to S3; the object's name says
how its rows are laid out:
- `<BucketFolder>/<schema>/<table>/LOAD<hex>.csv` (`SEGMENTn_LOAD...` under parallel load):
  full-load rows `values...`, or `I,values...` with IncludeOpForFullLoad;
- `<BucketFolder>[/<CdcPath>]/<schema>/<table>/<yyyymmdd-hhmmssffff>.csv`: CDC rows
  `op,values...` with op I, U or D; CdcInsertsOnly and CdcInsertsAndUpdates drop the op
  field unless IncludeOpForFullLoad is set;
- `<BucketFolder>/<CdcPath>/CDC_TXN-<timestamp>.csv` (PreserveTransactions): every
  table's rows in commit order, `op,table,schema,values...`.
The table of LOAD and CDC files is the folder holding them (date-partition folders skipped).
TimestampColumnName adds a field right after the op (and table, schema) fields;
AddColumnName puts a header row first, whose names then label the values. Values are in
the source table's column order (`schema.columns`), as text (a column added mid-run
follows the others in rows written after the DDL): numerics as digits,
timestamps as `yyyy-MM-dd HH:mm:ss.ffffff` in UTC, JSON as its text. NULL is an empty
field, indistinguishable from an empty string, unless CsvNullValue names a marker (then an
empty field is the empty string). Quoting is RFC 4180. A D row carries the deleted row (all
columns only with REPLICA IDENTITY FULL on a PostgreSQL source), a U row the after image.
"""

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from harness.load import schema
from harness.load.schema import COLUMNS
from harness.observe.formats import Decoded, decode_row

_LOAD_FILE = re.compile(r"(?:SEGMENT\w*_)?LOAD[0-9A-F]+\.csv")
_TXN_FILE = re.compile(r"CDC_TXN-\d+\.csv")
_DATE_FOLDER = re.compile(r"[\d_-]+")
_DELETED = {"I": False, "U": False, "D": True}
"""Op field -> whether the row is a delete."""


@dataclass(frozen=True, slots=True)
class RowLayout:
    """How the rows of one object are laid out."""

    table: str | None
    """The table the object holds; None for a transaction file, whose rows name theirs."""
    op: bool
    """Rows start with an op field (I, U or D); without one every row is an upsert."""
    timestamp: bool = False
    """A TimestampColumnName field follows the op (and table, schema) fields."""
    null_value: str = ""
    """The field text that stands for NULL."""

    @property
    def leading(self) -> int:
        """Fields before the values in a header row."""
        return self.op + self.timestamp

    def split(self, fields: Sequence[str], source: str) -> tuple[str, bool, list[str | None]]:
        """(table, deleted, values with NULL as None) of one row; `source` names it in errors."""
        at, deleted = 0, False
        if self.op:
            if fields[0] not in _DELETED:
                raise ValueError(f"{source}: unknown DMS op field {fields[0]!r}")
            at, deleted = 1, _DELETED[fields[0]]
        table = self.table
        if table is None:
            if len(fields) < at + 2:
                raise ValueError(f"{source}: a transaction row without table and schema")
            table, at = fields[at], at + 2
        at += self.timestamp
        null = self.null_value
        return table, deleted, [None if v == null else v for v in fields[at:]]

    def decode(
        self, fields: Sequence[str], source: str, columns: Sequence[str] | None = None
    ) -> Decoded | None:
        """One row as a change (None for tables outside the source schema). `columns` names
        the values when a header row gave them, else the schema's DDL order does."""
        table, deleted, values = self.split(fields, source)
        if table not in COLUMNS:
            return None
        names = columns or tuple(schema.columns(table))
        if not len(COLUMNS[table]) <= len(values) <= len(names):
            raise ValueError(
                f"{source}: {table} row has {len(values)} values for {len(names)} columns"
            )
        return decode_row(table, dict(zip(names, values, strict=False)), deleted, source)


class DmsCsv:
    """Objects of one DMS S3 target endpoint. The options are its S3Settings of the same
    names (CsvNullValue as the text written for NULL: "" by default, an empty field)."""

    def __init__(
        self,
        *,
        include_op_for_full_load: bool = False,
        timestamp_column_name: str = "",
        add_column_name: bool = False,
        cdc_inserts_only: bool = False,
        cdc_inserts_and_updates: bool = False,
        csv_null_value: str = "",
        csv_delimiter: str = ",",
    ) -> None:
        self.include_op_for_full_load = include_op_for_full_load
        self.timestamp = bool(timestamp_column_name)
        self.add_column_name = add_column_name
        self.cdc_has_op = include_op_for_full_load or not (
            cdc_inserts_only or cdc_inserts_and_updates
        )
        self.null_value = csv_null_value
        self.delimiter = csv_delimiter

    @staticmethod
    def accepts(key: str) -> bool:
        """DMS writes its CSV data as `.csv` objects only."""
        return key.endswith(".csv")

    @staticmethod
    def control_records() -> None:
        """DMS's CSV holds rows only: a table's new column shows in its later rows."""

    def layout(self, key: str) -> RowLayout:
        """How the rows of the object at `key` are laid out, as its name says."""
        *folders, name = key.split("/")
        if _TXN_FILE.fullmatch(name):
            return RowLayout(None, True, self.timestamp, self.null_value)
        while folders and _DATE_FOLDER.fullmatch(folders[-1]):
            folders.pop()
        if not folders:
            raise ValueError(f"{key}: a DMS LOAD or CDC file outside a table folder")
        op = self.include_op_for_full_load if _LOAD_FILE.fullmatch(name) else self.cdc_has_op
        return RowLayout(folders[-1], op, self.timestamp, self.null_value)

    def decode(self, key: str, text: str) -> Iterator[tuple[int, Decoded]]:
        """(line the row starts on, change) for each row of the object's source tables."""
        layout = self.layout(key)
        header = self.add_column_name and layout.table is not None
        columns: Sequence[str] | None = None
        for line, fields in _records(key, text, self.delimiter):
            if header:
                columns, header = fields[layout.leading :], False
                continue
            decoded = layout.decode(fields, f"{key}:{line}", columns)
            if decoded is not None:
                yield line, decoded


def _records(key: str, text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(first line, fields) of each non-blank CSV record."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        for fields in reader:
            if fields:
                yield start, fields
            start = reader.line_num + 1
    except csv.Error as exc:
        raise ValueError(f"{key}:{start}: {exc}") from None
