"""Append-only CSV files of flat dataclass records (the ledger, observation logs, snapshots):
str, int and bool fields. A field added to a record type later takes a default, and files
written before it read back with that default.

csv is used rather than a columnar format: appends are cheap, every append reaches the
OS before it returns (a process killed at any point loses nothing it recorded, and
at worst leaves a torn last line, which readers skip), and the files are readable by hand.
"""

import csv
import dataclasses
import os
import socket
import typing
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeVar

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
