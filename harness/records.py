"""Append-only CSV files of flat dataclass records (the ledger, observation logs, snapshots):
str, int and bool fields. A field added to a record type later takes a default, and files
written before it read back with that default.

csv is used rather than a columnar format: appends are cheap, every append reaches the
OS before it returns (a process killed at any point loses nothing it recorded, and
at worst leaves a torn last line, which readers skip), and the files are readable by hand.

A run's analysis reads them into columns (`read_columns`: Arrow's CSV reader, the same
records as `read_records`): millions of records then take tens of bytes each, not hundreds,
and are checked a column at a time.
"""

import csv
import ctypes
import dataclasses
import functools
import io
import os
import socket
import typing
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Generic, Self, TypeVar, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

T = TypeVar("T")


def _columns(record_type: type) -> list[tuple[str, type]]:
    hints = typing.get_type_hints(record_type)
    return [(f.name, hints[f.name]) for f in dataclasses.fields(record_type)]


class RecordWriter(Generic[T]):
    """Appends records of one dataclass type, one CSV row each, header first."""

    def __init__(self, path: Path, record_type: type[T]) -> None:
        self.path = path
        self._names = [name for name, _ in _columns(record_type)]
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self._csv = csv.writer(self._file)
        self._csv.writerow(self._names)
        self._file.flush()
        self.count = 0

    def append(self, record: T) -> None:
        self.extend((record,))

    def extend(self, records: Iterable[T]) -> None:
        """Append the records and push them to the OS in one write."""
        rows = [[getattr(r, name) for name in self._names] for r in records]
        self._csv.writerows(rows)
        self._file.flush()
        self.count += len(rows)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> "RecordWriter[T]":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def process_writer(directory: Path, prefix: str, record_type: type[T]) -> RecordWriter[T]:
    """A new file of `record_type` records for this process in `directory`:
    `<prefix>-<host>-<pid>-<n>.csv`, never one another process or run wrote."""
    stem = f"{prefix}-{socket.gethostname()}-{os.getpid()}"
    n = 0
    while (directory / f"{stem}-{n}.csv").exists():
        n += 1
    return RecordWriter(directory / f"{stem}-{n}.csv", record_type)


def read_records(path: Path, record_type: type[T]) -> Iterator[T]:
    """Records of a file written by RecordWriter; a torn last line (no line end: the
    writer crashed mid-row) is skipped, any other malformed row is an error."""
    columns = _columns(record_type)
    torn = _ends_mid_line(path)
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None or not _readable(header, record_type):
            raise ValueError(f"{path}: not a {record_type.__name__} file (header {header})")
        convert: list[Any] = [_CONVERTERS.get(kind, str) for _, kind in columns[: len(header)]]
        pending: list[str] | None = None
        for row in rows:
            if pending is not None:
                yield _record(record_type, convert, pending, path, rows.line_num - 1)
            pending = row
        if pending is not None and not torn:
            yield _record(record_type, convert, pending, path, rows.line_num)


def _boolean(text: str) -> bool:
    if text not in ("True", "False"):
        raise ValueError(f"not a boolean: {text!r}")
    return text == "True"


_CONVERTERS: dict[Any, Any] = {int: int, bool: _boolean}
"""Field type -> how its CSV text is read back (str otherwise)."""


def _ends_mid_line(path: Path) -> bool:
    with open(path, "rb") as f:
        if f.seek(0, os.SEEK_END) == 0:
            return False
        f.seek(-1, os.SEEK_END)
        return f.read(1) != b"\n"


def _record(record_type: type[T], convert: list[Any], row: list[str], path: Path, line: int) -> T:
    if len(row) != len(convert):
        raise ValueError(f"{path}:{line}: expected {len(convert)} fields, found {len(row)}")
    return record_type(*(c(v) for c, v in zip(convert, row, strict=True)))


def _readable(header: list[str], record_type: type) -> bool:
    """The header names the type's fields in order; fields added to the type later (those
    with defaults) may be missing at the end, in files written before them."""
    fields = dataclasses.fields(record_type)
    names = [f.name for f in fields]
    return header == names[: len(header)] and all(
        f.default is not dataclasses.MISSING for f in fields[len(header) :]
    )


_ARROW_TYPES: dict[Any, pa.DataType] = {int: pa.int64(), bool: pa.bool_(), str: pa.string()}
_BATCH = 65_536
"""Records made at a time when columns are read back as records."""
_NARROW = 127
"""Distinct values a dictionary of byte indices holds."""
_BLOCK = 1 << 20
"""Bytes Arrow's reader parses at a time."""
_TAIL = 1 << 20
"""How far back from a torn end the last line end is looked for (farther: read whole)."""
_M_MMAP_THRESHOLD = -3
"""glibc's `mallopt` parameter: the size from which blocks are mapped from the system."""
_MAPPED_FROM = 256 * 1024


@functools.cache
def hold_columns_compactly() -> None:
    """Allocate as a process holding millions of records in columns should: Arrow from the C
    library's heap as NumPy does (what one frees, the other reuses), and blocks of
    `_MAPPED_FROM` bytes and more (arrays) mapped from the system and given back to it when
    freed. glibc otherwise raises that threshold as large blocks are freed and keeps later
    ones in its heap, where each step's peak would stay held through the next."""
    pa.set_memory_pool(pa.system_memory_pool())
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # glibc's
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, _MAPPED_FROM)


class Columns(Sequence[T]):
    """Records of one dataclass type held column by column (an Arrow table, one column per
    field). As a sequence its items are the records themselves, made when read; the
    checkers read it a column at a time instead (`numbers`, `texts`)."""

    record_type: type[T]
    repeated: tuple[str, ...] = ()
    """Its str fields of few distinct values, held as dictionaries."""

    def __init__(self, table: pa.Table) -> None:
        hold_columns_compactly()
        for name in self.repeated:  # a byte per record where few values repeat
            column = table.column(name)
            if pa.types.is_dictionary(column.type) and all(
                len(chunk.dictionary) <= _NARROW for chunk in column.chunks
            ):
                narrow = column.cast(pa.dictionary(pa.int8(), pa.string()))
                table = table.set_column(table.schema.get_field_index(name), name, narrow)
        self.table = table
        self._numbers: dict[str, np.ndarray] = {}
        self.derived: dict[str, tuple[object, np.ndarray]] = {}
        """Per-record arrays others derive from these records, by name: (what from, array)."""

    @classmethod
    def of(cls, records: Iterable[T]) -> Self:
        """`records` as columns (themselves if they are)."""
        if isinstance(records, cls):
            return records
        return cls(_table(cls.record_type, list(records), cls.repeated))

    @classmethod
    def read(cls, path: Path) -> Self:
        return cls(read_columns(path, cls.record_type, cls.repeated))

    def numbers(self, name: str) -> np.ndarray:
        """An int or bool field as a NumPy array (read-only, kept)."""
        if name not in self._numbers:
            column = self.table.column(name)
            chunk = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
            self._numbers[name] = chunk.to_numpy(zero_copy_only=False)
        return self._numbers[name]

    def texts(self, name: str) -> pa.Array:
        """A str field as one Arrow array of strings."""
        column = self.table.column(name)
        texts = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
        return texts.dictionary_decode() if name in self.repeated else texts

    def equals(self, name: str, value: str) -> np.ndarray:
        """Where a str field holds `value`."""
        return pc.equal(self.table.column(name), value).to_numpy()

    def is_in(self, name: str, values: Iterable[str]) -> np.ndarray:
        """Where a str field holds one of `values`."""
        value_set = pa.array(sorted(set(values)), pa.string())
        found = pc.is_in(self.table.column(name), value_set=value_set)
        return found.to_numpy(zero_copy_only=False)

    def records(self, indices: Iterable[int] | np.ndarray) -> list[T]:
        """The records at `indices`, in their order."""
        return _records(self.record_type, self.table.take(np.asarray(indices, dtype=np.int64)))

    def __len__(self) -> int:
        return self.table.num_rows

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            return self.records(range(len(self))[index])
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return self.records([index % len(self)])[0]

    def __iter__(self) -> Iterator[T]:
        for batch in self.table.to_batches(_BATCH):
            yield from _records(self.record_type, batch)

    def __eq__(self, other: object) -> bool:
        """Equal to a sequence of the same records."""
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


def concat(tables: Sequence[pa.Table]) -> pa.Table:
    """Tables of one record type (`read_columns`'s) as one, in order, one chunk a column."""
    joined = pa.concat_tables(tables).unify_dictionaries()
    columns = {name: joined.column(name) for name in joined.column_names}
    del joined
    for name, column in columns.items():  # one column at a time: one copy at a time
        columns[name] = column.combine_chunks()
    return pa.table(columns)


def _table(record_type: type, records: list[Any], repeated: Collection[str]) -> pa.Table:
    return pa.table(
        {
            name: pa.array([getattr(r, name) for r in records], _ARROW_TYPES[kind]).cast(
                _arrow_type(name, kind, repeated)
            )
            for name, kind in _columns(record_type)
        }
    )


def _records(record_type: type[T], table: pa.Table | pa.RecordBatch) -> list[T]:
    values = [column.to_pylist() for column in table.columns]
    return [record_type(*row) for row in zip(*values, strict=True)]


def read_columns(path: Path, record_type: type, repeated: Collection[str] = ()) -> pa.Table:
    """What `read_records` reads, as an Arrow table of the type's fields in one chunk each
    (a field a file predates holds its default; the `repeated` str fields, of few distinct
    values, as dictionaries). Files Arrow's reader does not take as the csv module would (a
    line break inside a field, a malformed row) are read by `read_records`, with its errors."""
    hold_columns_compactly()
    columns = _columns(record_type)
    with open(path, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f), None)
    if header is None or not _readable(header, record_type):
        raise ValueError(f"{path}: not a {record_type.__name__} file (header {header})")
    types = {name: _arrow_type(name, kind, repeated) for name, kind in columns}
    with open(path, "rb") as f:
        # a torn last line (a writer killed mid-row) is not read
        end = f.seek(0, os.SEEK_END)
        if _ends_mid_line(path):
            f.seek(max(0, end - _TAIL))
            tail = f.read()
            if b"\n" not in tail and end > _TAIL:  # a last line longer than the tail
                return _table(record_type, list(read_records(path, record_type)), repeated)
            end -= len(tail) - tail.rfind(b"\n") - 1
        f.seek(0)
        try:
            reader = pa_csv.open_csv(
                pa.PythonFile(_Head(f, end), mode="r"),
                read_options=pa_csv.ReadOptions(block_size=_BLOCK),
                parse_options=pa_csv.ParseOptions(ignore_empty_lines=False),
                convert_options=pa_csv.ConvertOptions(
                    column_types={name: types[name] for name in header},
                    null_values=[],
                    strings_can_be_null=False,
                    true_values=["True"],
                    false_values=["False"],
                ),
            )
            batches = list(reader)
        except (pa.ArrowInvalid, UnicodeDecodeError):
            return _table(record_type, list(read_records(path, record_type)), repeated)
    # one column at a time into one chunk, each batch's dictionaries made one
    chunked = pa.Table.from_batches(batches, reader.schema).unify_dictionaries()
    del batches
    rows, arrays = chunked.num_rows, {name: chunked.column(name) for name in header}
    del chunked
    defaults = {f.name: f.default for f in dataclasses.fields(record_type)}
    for name, _ in columns:
        arrays[name] = (
            arrays[name].combine_chunks()
            if name in arrays
            else pa.array([defaults[name]] * rows, types[name])
        )
    table = pa.table({name: arrays[name] for name, _ in columns})
    pa.default_memory_pool().release_unused()  # what reading took and gave back
    return table


class _Head(io.RawIOBase):
    """The first `size` bytes of an open binary file, read from where it stands."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self.f, self.left = f, size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)[: self.left]
        read = self.f.readinto(view) or 0
        self.left -= read
        return read


def _arrow_type(name: str, kind: Any, repeated: Collection[str]) -> pa.DataType:
    return pa.dictionary(pa.int32(), pa.string()) if name in repeated else _ARROW_TYPES[kind]
