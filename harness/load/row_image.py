"""Canonical row images: one form for a row whatever carried it (psycopg values, DMS CSV
text, DMS JSON, DynamoDB attributes), so the ledger's digest of what the source wrote and
an observer's digest of what a projection shows can be compared (the divergent class).

Each column's kind comes from the source schema (`schema.COLUMNS`); its canonical value:
- int: int;
- numeric: the plain decimal text without trailing zeros ("12.34", "10", "0");
- timestamptz: microseconds since the epoch (text without an offset is UTC, as DMS writes it);
- json: the document re-encoded with sorted keys, numbers as int when integral;
- text: str.
NULL and an absent column are both None (DynamoDB writers leave NULL attributes out).
A column added during the run (`schema.register_added`) is in the image only where it is not
NULL, so a row's image and digest are the same before and after the DDL until it is set.
Columns outside the schema (a DMS op column, a read model's partition key) are ignored.
"""

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from harness.load.schema import COLUMNS, added_columns, columns

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _int(value: Any) -> int:
    return int(value)


def _numeric(value: Any) -> str:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise ValueError("not a decimal number") from None
    return format(number.normalize(), "f")


def _timestamptz(value: Any) -> int:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _plain(value: Any) -> Any:
    """A decoded JSON document with every number as int when integral, else float."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return int(value) if value == int(value) else float(value)
    return str(value)


def _json(value: Any) -> str:
    document = json.loads(value) if isinstance(value, str | bytes) else value
    return json.dumps(_plain(document), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


_CANONICAL = {
    "int": _int,
    "numeric": _numeric,
    "timestamptz": _timestamptz,
    "json": _json,
    "text": _text,
}


def canonical_row(table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The row's schema columns (and its non-NULL added ones) in canonical form; raises
    ValueError on an unknown table or a value its column's kind cannot read."""
    kinds = COLUMNS.get(table)
    if kinds is None:
        raise ValueError(f"table {table!r} is not in the source schema")
    canonical = {
        column: _canonical(table, column, kind, row.get(column)) for column, kind in kinds.items()
    }
    for column, kind in added_columns(table).items():
        value = row.get(column)
        if value is not None:
            canonical[column] = _canonical(table, column, kind, value)
    return canonical


def carries_added(table: str, row: Mapping[str, Any]) -> bool:
    """Whether the row image holds a non-NULL value of a column added during the run."""
    return any(row.get(column) is not None for column in added_columns(table))


def _canonical(table: str, column: str, kind: str, value: Any) -> Any:
    try:
        return None if value is None else _CANONICAL[kind](value)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise ValueError(f"{table}.{column}: cannot read {value!r} as {kind}: {exc}") from None


def lob_bytes(table: str, canonical: Mapping[str, Any]) -> int:
    """The UTF-8 size of a canonical row's (`canonical_row`) largest text or JSON value
    (DMS's LOB columns)."""
    kinds = columns(table)
    sizes = [
        len(value.encode())
        for column, value in canonical.items()
        if value is not None and kinds.get(column) in ("text", "json")
    ]
    return max(sizes, default=0)


def row_digest(table: str, row: Mapping[str, Any]) -> str:
    """A short digest of the row's canonical image."""
    return canonical_digest(canonical_row(table, row))


def canonical_digest(canonical: Mapping[str, Any]) -> str:
    """A short digest of a canonical row (`canonical_row`)."""
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
