"""Parsing test_decoding output and typing PostgreSQL columns as DMS does."""

from datetime import UTC, datetime

from harness.local.dms.changes import Column, typed
from harness.local.dms.mapping import TableMapping, matches
from harness.local.dms.sources import pg_types
from harness.local.dms.sources.test_decoding import (
    UNCHANGED_TOAST,
    TupleShape,
    parse_commit,
    parse_header,
    parse_row,
)


def decode(line: str):  # type: ignore[no-untyped-def]
    header = parse_header(line)
    assert header is not None
    return parse_row(line, header)


def test_insert_with_quoting_nulls_arrays_and_quoted_names() -> None:
    row = decode(
        'table public."Odd T": INSERT: id[bigint]:7 "Na me"[text]:\'it\'\'s, "x"\' '
        "v[numeric]:-1.50 a[integer[]]:'{1,2}' n[text]:null "
        "t[timestamp with time zone]:'2026-01-02 03:04:05.5+00'"
    )
    assert (row.schema, row.table, row.op) == ("public", "Odd T", "insert")
    assert row.new == {
        "id": "7",
        "Na me": 'it\'s, "x"',
        "v": "-1.50",
        "a": "{1,2}",
        "n": None,
        "t": "2026-01-02 03:04:05.5+00",
    }
    assert row.columns[4] == ("n", "text") and row.old is None


def test_update_with_old_key_and_unchanged_toast() -> None:
    row = decode(
        "table public.w: UPDATE: old-key: id[bigint]:1 new-tuple: id[bigint]:2 "
        "notes[text]:unchanged-toast-datum"
    )
    assert row.old == {"id": "1"}
    assert row.new is not None and row.new["id"] == "2" and row.new["notes"] is UNCHANGED_TOAST


def test_delete_carries_the_old_image_and_no_new_one() -> None:
    row = decode("table public.w: DELETE: id[bigint]:3")
    assert row.op == "delete" and row.new is None and row.old == {"id": "3"}
    assert decode("table public.w: DELETE: (no-tuple-data)").old is None


def test_values_with_spaces_and_brackets_in_text() -> None:
    row = decode("table s.t: INSERT: x[text]:'a [b]:c d' y[character varying(5)]:'q'")
    assert row.new == {"x": "a [b]:c d", "y": "q"}


def test_commit_line_gives_xid_and_commit_time() -> None:
    assert parse_commit("COMMIT 731 (at 2026-01-02 03:04:05.123456+00)") == (
        731,
        datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
    )
    assert parse_commit("BEGIN 731") is None
    assert parse_header("BEGIN 731") is None


def test_postgres_types_map_to_dms_types() -> None:
    types = {
        "bigint": "INT8",
        "integer": "INT4",
        "smallint": "INT2",
        "text": "NCLOB",
        "jsonb": "NCLOB",
        "boolean": "BOOLEAN",
        "timestamp with time zone": "DATETIME",
        "timestamp without time zone": "DATETIME",
        "double precision": "REAL8",
        "uuid": "STRING",
    }
    assert {t: pg_types.column("c", t).dms_type for t in types} == types
    assert pg_types.column("p", "numeric(10,2)") == Column("p", "NUMERIC", precision=10, scale=2)
    assert pg_types.column("s", "character varying(20)") == Column("s", "WSTRING", length=20)


def test_canonical_values() -> None:
    dt = Column("t", "DATETIME")
    assert pg_types.canonical(dt, "2026-01-02 03:04:05.5+00") == "2026-01-02 03:04:05.500000"
    assert pg_types.canonical(dt, "2026-01-02 03:04:05") == "2026-01-02 03:04:05.000000"
    assert pg_types.canonical(Column("b", "BOOLEAN"), "t") == "true"
    assert typed(Column("i", "INT8"), "42") == 42
    assert typed(Column("n", "NUMERIC"), "1.50") == "1.50"


def test_wildcards_and_selection() -> None:
    assert matches("rules[_]%", "rules_keep") and not matches("rules[_]%", "rulesXkeep")
    assert matches("a_c", "abc") and matches("[a-c]x", "bx") and not matches("[a-c]x", "dx")
    mapping = TableMapping(
        {
            "rules": [
                {
                    "rule-type": "selection",
                    "rule-id": "1",
                    "rule-name": "1",
                    "object-locator": {"schema-name": "hr", "table-name": "%"},
                    "rule-action": "include",
                },
                {
                    "rule-type": "selection",
                    "rule-id": "2",
                    "rule-name": "2",
                    "object-locator": {"schema-name": "hr", "table-name": "tmp%"},
                    "rule-action": "exclude",
                },
            ]
        }
    )
    assert mapping.selects("hr", "employee")
    assert not mapping.selects("hr", "tmp_1") and not mapping.selects("sales", "employee")


def test_a_learnt_tuple_shape_parses_like_the_general_path() -> None:
    general = decode(
        "table public.w: INSERT: id[bigint]:1 \"Odd\"[text]:'a b' n[numeric]:null "
        "t[timestamp with time zone]:'2026-01-02 03:04:05+00'"
    )
    shape = TupleShape(general.columns)
    for line in (
        "table public.w: UPDATE: id[bigint]:2 \"Odd\"[text]:'x, y' n[numeric]:1.5 "
        "t[timestamp with time zone]:null",
        "table public.w: INSERT: id[bigint]:3 \"Odd\"[text]:'it''s' n[numeric]:2 "
        "t[timestamp with time zone]:null",
        'table public.w: UPDATE: id[bigint]:4 "Odd"[text]:unchanged-toast-datum n[numeric]:2 '
        "t[timestamp with time zone]:null",
    ):
        header = parse_header(line)
        assert header is not None
        assert parse_row(line, header, shape) == parse_row(line, header)
    body = "id[bigint]:2 \"Odd\"[text]:'x, y' n[numeric]:1.5 t[timestamp with time zone]:null"
    assert shape.parse(body) == {"id": "2", "Odd": "x, y", "n": "1.5", "t": None}
    assert shape.parse(body.replace("'x, y'", "'it''s'")) is None  # escaped quote: general path
    assert shape.parse("id[bigint]:2 extra[text]:'x'") is None  # another layout
