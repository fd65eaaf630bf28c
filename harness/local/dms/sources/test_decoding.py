"""Parser for the text the `test_decoding` output plugin writes, the plugin DMS reads.

Written by hand: no library parses test_decoding's format. Lines look like
`BEGIN 731`, `table public.t: UPDATE: old-key: id[bigint]:1 new-tuple: id[bigint]:2
note[text]:'it''s'` and `COMMIT 731 (at 2026-01-02 03:04:05.123456+00)` (with the
plugin options include-xids=1 and include-timestamp=1).
"""

import re
from dataclasses import dataclass
from datetime import datetime

UNCHANGED_TOAST = object()
"""Stands for `unchanged-toast-datum`: a large value the UPDATE did not touch."""

_HEADER = re.compile(
    r'table ((?:"(?:[^"]|"")*"|[^ ".]+))\.((?:"(?:[^"]|"")*"|[^ ":]+)): '
    r"(INSERT|UPDATE|DELETE|TRUNCATE): "
)
# name[type]:value, with quoted names and values as "unrolled loops" (no backtracking).
_COLUMN = re.compile(
    r'("[^"]*(?:""[^"]*)*"|[^ \[]+)'  # name
    r"\[([^\]\[]*(?:\[\][^\]\[]*)*)\]:"  # [type]:
    r"('[^']*(?:''[^']*)*'|[^ ]+)"  # value
)
_OPS = {"INSERT": "insert", "UPDATE": "update", "DELETE": "delete", "TRUNCATE": "truncate"}
_VALUE = r"('[^']*(?:''[^']*)*'|[^ ]+)"
_PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_$]*")


@dataclass(slots=True)
class Decoded:
    """One row change. `columns` lists (name, type) of the new tuple (the old one for deletes)."""

    schema: str
    table: str
    op: str
    columns: list[tuple[str, str]]
    new: dict[str, object] | None
    old: dict[str, object] | None


def _ident(text: str) -> str:
    return text[1:-1].replace('""', '"') if text.startswith('"') else text


def parse_header(line: str) -> tuple[str, str, str, int] | None:
    """(schema, table, op, end of header) of a row line, or None for other lines."""
    m = _HEADER.match(line)
    if m is None:
        return None
    return _ident(m.group(1)), _ident(m.group(2)), _OPS[m.group(3)], m.end()


def _tuple(text: str) -> tuple[list[tuple[str, str]], dict[str, object]]:
    # The hot path of the engine: one C-level findall, then a plain loop.
    columns, values = [], {}
    for name, typ, raw in _COLUMN.findall(text):
        if name[0] == '"':
            name = _ident(name)
        first = raw[0]
        if first == "'":
            value: object = raw[1:-1]
            if "''" in raw:
                value = raw[1:-1].replace("''", "'")
        elif raw == "null":
            value = None
        elif raw == "unchanged-toast-datum":
            value = UNCHANGED_TOAST
        else:
            value = raw
        columns.append((name, typ))
        values[name] = value
    return columns, values


class TupleShape:
    """One table's tuple layout as test_decoding prints it (names and types, in order),
    compiled into a single regex: a row of that layout is parsed by one C-level match
    instead of column by column. Rows it does not fit (escaped quotes, unchanged TOAST,
    another layout) return None and take the general path."""

    def __init__(self, columns: list[tuple[str, str]]) -> None:
        self.columns = columns
        self.names = tuple(name for name, _ in columns)
        parts = [
            f"{re.escape(_printed(name))}\\[{re.escape(typ)}\\]:{_VALUE}" for name, typ in columns
        ]
        self._pattern = re.compile(" ".join(parts))

    def parse(self, body: str) -> dict[str, object] | None:
        if "''" in body:
            return None
        m = self._pattern.fullmatch(body)
        if m is None:
            return None
        raw = m.groups()
        if "unchanged-toast-datum" in raw:
            return None
        values = [v[1:-1] if v[0] == "'" else (None if v == "null" else v) for v in raw]
        return dict(zip(self.names, values, strict=True))


def _printed(name: str) -> str:
    # How quote_identifier prints a name (keywords aside: those rows just miss the shape).
    return name if _PLAIN_NAME.fullmatch(name) else '"' + name.replace('"', '""') + '"'


def parse_row(
    line: str, header: tuple[str, str, str, int], shape: TupleShape | None = None
) -> Decoded:
    """The tuples of a row line whose header `parse_header` returned; `shape`, when given,
    is tried first for inserts and updates."""
    schema, table, op, at = header
    body = line[at:]
    if shape is not None and op != "delete":
        new = shape.parse(body)
        if new is not None:
            return Decoded(schema, table, op, shape.columns, new, None)
    old = None
    if body.startswith("old-key: "):
        split = body.find(" new-tuple: ")
        _, old = _tuple(body[9:split])
        body = body[split + 12 :]
    if body.startswith("(no-tuple-data)") or op == "truncate":
        return Decoded(schema, table, op, [], None, old)
    columns, values = _tuple(body)
    if op == "delete":
        return Decoded(schema, table, op, columns, None, values)
    return Decoded(schema, table, op, columns, values, old)


def parse_commit(line: str) -> tuple[int, datetime | None] | None:
    """(xid, commit time) of a COMMIT line, or None for other lines."""
    if not line.startswith("COMMIT "):
        return None
    at = line.find(" (at ", 7)
    if at < 0:
        return int(line[7:]), None
    return int(line[7:at]), datetime.fromisoformat(line[at + 5 : -1])
