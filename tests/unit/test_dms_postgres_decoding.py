"""Parsing test_decoding output, typing PostgreSQL columns as DMS does, the source's TLS mode."""

from datetime import UTC, datetime

import pytest
from psycopg.conninfo import conninfo_to_dict

from harness.local.dms.changes import Column, typed
from harness.local.dms.context import TaskContext
from harness.local.dms.mapping import TableMapping, matches
from harness.local.dms.sources import pg_types
from harness.local.dms.sources.base import SourceError
from harness.local.dms.sources.postgres import PostgresSource
from harness.local.dms.sources.test_decoding import (
    UNCHANGED_TOAST,
    TupleShape,
    parse_commit,
    parse_header,
    parse_row,
)
from tests.helpers import SELECT_ALL

SELECT = TableMapping({"rules": [SELECT_ALL]})


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
        "t[timestamp with time zone]:'2026-01-02 03:04:05+00' b[boolean]:true"
    )
    shape = TupleShape(general.columns)
    fits = [
        "table public.w: UPDATE: id[bigint]:2 \"Odd\"[text]:'x, y' n[numeric]:1.5 "
        "t[timestamp with time zone]:null b[boolean]:false",
        "table public.w: INSERT: id[bigint]:3 \"Odd\"[text]:'' n[numeric]:-0.5 "
        "t[timestamp with time zone]:'2026-01-02 03:04:05+00' b[boolean]:null",
        "table public.w: INSERT: id[bigint]:4 \"Odd\"[text]:'null' n[numeric]:NaN "
        "t[timestamp with time zone]:'infinity' b[boolean]:true",
        'table public.w: INSERT: id[bigint]:5 "Odd"[text]:null n[numeric]:2 '
        "t[timestamp with time zone]:'x]:y z[text]:w' b[boolean]:true",
    ]
    general_only = [  # an escaped quote, unchanged TOAST, another layout
        "table public.w: INSERT: id[bigint]:6 \"Odd\"[text]:'it''s' n[numeric]:2 "
        "t[timestamp with time zone]:null b[boolean]:true",
        "table public.w: INSERT: id[bigint]:7 \"Odd\"[text]:'''' n[numeric]:2 "
        "t[timestamp with time zone]:'a'' b[boolean]:''c' b[boolean]:true",
        'table public.w: UPDATE: id[bigint]:8 "Odd"[text]:unchanged-toast-datum n[numeric]:2 '
        "t[timestamp with time zone]:null b[boolean]:true",
        "table public.w: UPDATE: id[bigint]:9 \"Odd\"[text]:'x' n[numeric]:unchanged-toast-datum "
        "t[timestamp with time zone]:null b[boolean]:true",
        "table public.w: INSERT: id[bigint]:10 \"Odd\"[text]:'x' n[numeric]:2 "
        "t[timestamp with time zone]:null",
    ]
    for line in fits + general_only:
        header = parse_header(line)
        assert header is not None
        expected = decode(line).new if line in fits else None
        assert shape.parse(line, header[3]) == expected, line
    assert all(shape.parse(line) is None for line in fits)  # the header is not a tuple
    unnamed = TupleShape([("id", "bigint"), ("Na me", "text")])
    assert unnamed.parse("id[bigint]:1 \"Na me\"[text]:'a b'") == {"id": "1", "Na me": "a b"}
    assert unnamed.parse('id[bigint]:null "Na me"[text]:null') == {"id": None, "Na me": None}


@pytest.mark.parametrize(
    ("ssl_mode", "sslmode"),
    [(None, "disable"), ("none", "disable"), ("require", "require"), ("verify-full", "require")],
)
def test_the_source_connects_with_tls_as_the_endpoint_s_ssl_mode_asks(
    ssl_mode: str | None, sslmode: str
) -> None:
    endpoint = {"ServerName": "db", "Port": 5432, "DatabaseName": "d", "SslMode": ssl_mode}
    source = PostgresSource(TaskContext("t", "arn:t", endpoint, SELECT, {}, None))  # type: ignore[arg-type]
    assert conninfo_to_dict(source.dsn)["sslmode"] == sslmode


def test_an_unknown_ssl_mode_fails_the_task() -> None:
    endpoint = {"ServerName": "db", "SslMode": "sometimes"}
    with pytest.raises(SourceError, match="SslMode 'sometimes'"):
        PostgresSource(TaskContext("t", "arn:t", endpoint, SELECT, {}, None))  # type: ignore[arg-type]
