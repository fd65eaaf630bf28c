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
_BARE_TYPES = frozenset(
    {"smallint", "integer", "bigint", "oid", "real", "double precision", "numeric", "boolean"}
)
"""Types test_decoding prints without quotes (its print_literal); it quotes every other value,
doubling the quotes inside, and prints NULL as a bare `null`."""
_BARE_VALUE = r"(?:null|(?!unchanged-toast-datum){}[^ ']+))"
_QUOTED_VALUE = r"(?:'{}[^']*)'|null)"
"""A value's pattern around its group's opening (`(` or `(?P<name>`): NULL leaves the group
unset; an unchanged TOAST datum (a bare word) does not match."""
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
    # Any tuple a shape does not fit: one C-level findall, then a plain loop.
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
    instead of column by column, each group being the value itself (quotes stripped, an
    unmatched group for `null`) and, when every name can name a group, the match giving
    the row as its group dict. Rows it does not fit (escaped quotes, unchanged TOAST,
    another layout) return None and take the general path."""

    def __init__(self, columns: list[tuple[str, str]]) -> None:
        self.columns = columns
        self.names = tuple(name for name, _ in columns)
        self._named = all(name.isidentifier() for name in self.names)
        parts = []
        for name, typ in columns:
            group = f"(?P<{name}>" if self._named else "("
            value = _BARE_VALUE if typ in _BARE_TYPES else _QUOTED_VALUE
            parts.append(f"{re.escape(_printed(name))}\\[{re.escape(typ)}\\]:{value.format(group)}")
        self._match = re.compile(" ".join(parts)).fullmatch

    def parse(self, text: str, pos: int = 0) -> dict[str, object] | None:
        """The values of the tuple in `text[pos:]`, or None if it does not fit the shape."""
        m = self._match(text, pos)
        if m is None:
            return None
        if self._named:
            return m.groupdict()
        return dict(zip(self.names, m.groups(), strict=True))


def _printed(name: str) -> str:
    # How quote_identifier prints a name (keywords aside: those rows just miss the shape).
    return name if _PLAIN_NAME.fullmatch(name) else '"' + name.replace('"', '""') + '"'


def parse_row(line: str, header: tuple[str, str, str, int]) -> Decoded:
    """The tuples of a row line whose header `parse_header` returned."""
    schema, table, op, at = header
    body = line[at:]
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
