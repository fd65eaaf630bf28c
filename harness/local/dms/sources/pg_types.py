"""PostgreSQL types as DMS sees them: the DMS data type of a column and canonical values.

The mapping follows the DMS guide's PostgreSQL source data-type table; values are
brought to the canonical text of `changes.py` (DATETIME in UTC with six fractional
digits). Sessions that produce these values run with TimeZone=UTC.
"""

import re
from collections.abc import Callable
from functools import lru_cache

from harness.local.dms.changes import Column, Value

_SIMPLE = {
    "smallint": "INT2",
    "integer": "INT4",
    "bigint": "INT8",
    "real": "REAL4",
    "double precision": "REAL8",
    "boolean": "BOOLEAN",
    "text": "NCLOB",
    "json": "NCLOB",
    "jsonb": "NCLOB",
    "xml": "NCLOB",
    "bytea": "BLOB",
    "date": "DATE",
    "money": "NUMERIC",
    "uuid": "STRING",
}
_SIZED = re.compile(r"^(character varying|character|varchar|char|bit varying|bit)(?:\((\d+)\))?$")
_NUMERIC = re.compile(r"^numeric(?:\((\d+)(?:,(\d+))?\))?$")
_DATETIMES = ("timestamp", "time ")


@lru_cache(maxsize=1024)
def column(name: str, pg_type: str, nullable: bool = True) -> Column:
    """A DMS column for a PostgreSQL column given by `format_type` text."""
    if pg_type in _SIMPLE:
        return Column(name, _SIMPLE[pg_type], nullable=nullable)
    if m := _NUMERIC.match(pg_type):
        precision = int(m.group(1)) if m.group(1) else None
        scale = int(m.group(2)) if m.group(2) else (0 if precision else None)
        return Column(name, "NUMERIC", precision=precision, scale=scale, nullable=nullable)
    if m := _SIZED.match(pg_type):
        length = int(m.group(2)) if m.group(2) else None
        return Column(name, "WSTRING", length=length, nullable=nullable)
    if pg_type.startswith("timestamp"):
        return Column(name, "DATETIME", nullable=nullable)
    if pg_type.startswith("time"):
        return Column(name, "TIME", nullable=nullable)
    return Column(name, "NCLOB" if pg_type.endswith("[]") else "STRING", nullable=nullable)


def canonical_datetime(text: str) -> str:
    """`2026-01-02 03:04:05.5+00` -> `2026-01-02 03:04:05.500000` (UTC session assumed)."""
    if len(text) == 29 and text[26] == "+":  # the usual `...05.123456+00`: one slice
        return text[:26]
    if text in ("infinity", "-infinity"):
        return text
    end = len(text)
    for sign in ("+", "-"):
        at = text.rfind(sign, 19)
        if at > 0:
            end = at
            break
    body = text[:end]
    dot = body.find(".", 19)
    if dot < 0:
        return body + ".000000"
    return body + "0" * (6 - (len(body) - dot - 1))


def canonical_boolean(text: str) -> str:
    return "true" if text in ("t", "true") else "false"


def converter(col: Column) -> Callable[[str], str] | None:
    """How a column's source text becomes canonical text, if it needs anything."""
    return {"DATETIME": canonical_datetime, "BOOLEAN": canonical_boolean}.get(col.dms_type)


def canonical(col: Column, text: Value) -> Value:
    """A source value in canonical text for its DMS type."""
    convert = converter(col)
    return convert(text) if convert and text is not None else text
