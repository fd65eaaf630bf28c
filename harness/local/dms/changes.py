"""What flows from a DMS source to a DMS target: tables, row changes, transactions.

Values travel as canonical text (`None` for NULL), the form DMS writes into CSV:
integers and numerics as digits, DATETIME as `YYYY-MM-DD HH:MM:SS.ffffff` in UTC,
BOOLEAN as `true`/`false`, everything else as the source's text. Targets that
write typed values (JSON, DynamoDB) convert with `typed()`.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Value = str | None
LOB_TYPES = frozenset({"BLOB", "CLOB", "NCLOB"})
"""The DMS types of large objects (LOBs)."""
Row = dict[str, Value]
Op = Literal["load", "insert", "update", "delete"]

INTEGER_TYPES = frozenset({"INT1", "INT2", "INT4", "INT8", "UINT1", "UINT2", "UINT4", "UINT8"})
FLOAT_TYPES = frozenset({"REAL4", "REAL8"})


@dataclass(frozen=True, slots=True)
class Column:
    """One column with its DMS data type (INT8, NUMERIC, STRING, WSTRING, NCLOB, DATETIME...)."""

    name: str
    dms_type: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    nullable: bool = True


@dataclass(frozen=True, slots=True)
class Table:
    """A table as the target sees it (after transformation rules).

    `source_schema`/`source_name` keep the names on the source, which is what
    object-mapping rules' `object-locator` refers to.
    """

    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    source_schema: str = ""
    source_name: str = ""

    def __post_init__(self) -> None:
        if not self.source_schema:
            object.__setattr__(self, "source_schema", self.schema)
        if not self.source_name:
            object.__setattr__(self, "source_name", self.name)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.schema}.{self.name} has no column {name!r}")


@dataclass(slots=True)
class RowChange:
    """One row's change. `row` is the after-image (for a delete: the row as the source gave
    it, all columns with REPLICA IDENTITY FULL, else the key); `before` is the old image when
    the source provides one (key change, or REPLICA IDENTITY FULL)."""

    op: Op
    table: Table
    row: Row
    before: Row | None = None


@dataclass(slots=True)
class Transaction:
    """A committed source transaction, in commit order. `position` is the source position of
    its commit (an LSN for PostgreSQL, the CDC file's key for S3) and orders transactions."""

    xid: int
    commit_ts: datetime
    position: str
    changes: list[RowChange] = field(default_factory=list)


@dataclass(slots=True)
class SchemaChange:
    """A DDL change seen during CDC. `operation` uses DMS's control-record names:
    create-table, drop-table, add-column, drop-column, rename-table, change-columns."""

    operation: str
    table: Table
    commit_ts: datetime
    position: str
    column: Column | None = None


Item = Transaction | SchemaChange


def typed(column: Column, value: Value) -> object:
    """A value as a JSON-typed target holds it: numbers for integer and float types, booleans
    for BOOLEAN; NUMERIC stays text so no precision is lost."""
    if value is None:
        return None
    t = column.dms_type
    if t in INTEGER_TYPES:
        return int(value)
    if t in FLOAT_TYPES:
        return float(value)
    if t == "BOOLEAN":
        return value in ("true", "t", "1")
    return value
