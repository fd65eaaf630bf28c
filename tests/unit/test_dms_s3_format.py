"""DMS S3 formats without a network: CSV rows, file names, settings coercion, table definitions."""

import json
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from harness.local.dms.changes import Column, RowChange, Table, Transaction
from harness.local.dms.context import TaskContext
from harness.local.dms.mapping import TableMapping
from harness.local.dms.sources.s3 import parse_csv, parse_op, parse_table_definition, to_row
from harness.local.dms.targets.s3 import (
    CsvFile,
    S3Target,
    S3TargetSettings,
    as_bool,
    as_int,
    cdc_file_name,
    dms_timestamp,
    join_key,
    load_file_name,
    next_tick,
    txn_file_name,
    unescape,
)
from tests.helpers import DOC_EXAMPLES, SELECT_ALL

DOC = DOC_EXAMPLES
INCLUDE_ALL = TableMapping({"rules": [SELECT_ALL]})
EMPLOYEE = Table(
    "hr",
    "employee",
    tuple(
        Column(n, t)
        for n, t in [
            ("Id", "INT8"),
            ("LastName", "STRING"),
            ("FirstName", "STRING"),
            ("HireDate", "DATETIME"),
            ("OfficeLocation", "STRING"),
        ]
    ),
    ("Id",),
)
COMMIT = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def _row(*values: str | None) -> dict[str, str | None]:
    return dict(zip(EMPLOYEE.column_names, values, strict=True))


class _FakeS3:
    def __init__(self) -> None:
        self.objects: dict[str, str] = {}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> None:
        self.objects[Key] = Body.decode()

    def close(self) -> None:
        pass


class _FakeAws:
    def __init__(self) -> None:
        self.s3 = _FakeS3()

    def client(self, service: str) -> _FakeS3:
        return self.s3


def _target(**settings: Any) -> tuple[S3Target, _FakeS3]:
    aws = _FakeAws()
    endpoint = {"EndpointType": "TARGET", "S3Settings": {"BucketName": "b", **settings}}
    ctx = TaskContext("task", "arn:task", endpoint, INCLUDE_ALL, {}, aws)  # type: ignore[arg-type]
    return S3Target(ctx), aws.s3


def _employee_txn() -> Transaction:
    return Transaction(
        1,
        COMMIT,
        "0/1",
        [
            RowChange("insert", EMPLOYEE, _row("101", "Smith", "Bob", "4-Jun-14", "New York")),
            RowChange("update", EMPLOYEE, _row("101", "Smith", "Bob", "8-Oct-15", "Los Angeles")),
            RowChange("update", EMPLOYEE, _row("101", "Smith", "Bob", "13-Mar-17", "Dallas")),
            RowChange("delete", EMPLOYEE, _row("101", "Smith", "Bob", "13-Mar-17", "Dallas")),
        ],
    )


# --- settings -----------------------------------------------------------------------------


def test_settings_coerce_strings_and_apply_defaults() -> None:
    s = S3TargetSettings.from_endpoint(
        {
            "S3Settings": {
                "BucketName": "b",
                "CdcMaxBatchInterval": "5",
                "CdcMinFileSize": "64",
                "IncludeOpForFullLoad": "true",
                "PreserveTransactions": "Y",
                "CdcPath": "cdc",
                "CsvRowDelimiter": "\\r\\n",
            }
        }
    )
    assert (s.max_batch_interval, s.min_file_size_kb) == (5.0, 64)
    assert s.include_op_for_full_load and s.preserve_transactions
    assert s.row_delimiter == "\r\n"
    d = S3TargetSettings.from_endpoint({"S3Settings": {"BucketName": "b"}})
    assert (d.max_batch_interval, d.min_file_size_kb, d.delimiter, d.row_delimiter) == (
        60.0,
        32000,
        ",",
        "\n",
    )
    assert not d.include_op_for_full_load and d.null_value is None


def test_coercion_helpers() -> None:
    assert [as_bool(v) for v in (True, "true", "TRUE", "y", "1")] == [True] * 5
    assert [as_bool(v) for v in (False, "false", "n", "0", "")] == [False] * 5
    assert as_bool(None, default=True) is True
    with pytest.raises(ValueError):
        as_bool("maybe")
    assert (as_int("60", 1), as_int(None, 7), as_int(3, 1)) == (60, 7, 3)
    assert unescape("\\t") == "\t"
    assert join_key("", "/folder/", "hr", "employee") == "folder/hr/employee"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"DataFormat": "parquet"}, "DataFormat 'parquet'"),
        ({"CdcInsertsOnly": "true", "CdcInsertsAndUpdates": True}, "can't both be true"),
        ({"PreserveTransactions": True}, "needs CdcPath"),
        ({"PreserveTransactions": True, "CdcPath": "c", "AddColumnName": True}, "AddColumnName"),
        ({"CompressionType": "GZIP"}, "CompressionType"),
        ({"CsvDelimiter": "||"}, "one character"),
    ],
)
def test_unsupported_or_contradictory_settings_are_refused(
    settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        S3TargetSettings.from_endpoint({"S3Settings": {"BucketName": "b", **settings}})


def test_op_codes_follow_the_inserts_only_settings() -> None:
    def codes(**kw: Any) -> dict[str, tuple[str, ...]]:
        return S3TargetSettings(bucket="b", **kw).op_codes()

    assert codes() == {"insert": ("I",), "update": ("U",), "delete": ("D",)}
    assert codes(cdc_inserts_only=True) == {"insert": ()}
    assert codes(cdc_inserts_only=True, include_op_for_full_load=True) == {"insert": ("I",)}
    assert codes(cdc_inserts_and_updates=True) == {"insert": (), "update": ()}
    assert codes(cdc_inserts_and_updates=True, preserve_transactions=True, cdc_path="c") == {
        "insert": ("I",),
        "update": ("U",),
    }


# --- names --------------------------------------------------------------------------------


def test_load_file_names_count_in_uppercase_hex() -> None:
    assert [load_file_name(n) for n in (1, 9, 10, 15, 16)] == [
        "LOAD00000001.csv",
        "LOAD00000009.csv",
        "LOAD0000000A.csv",
        "LOAD0000000F.csv",
        "LOAD00000010.csv",
    ]
    expected = (DOC / "dms-s3-target/full-load-file-names.txt").read_text().splitlines()
    assert f"database_schema_name/table_name/{load_file_name(11)}" in expected


def test_cdc_and_transaction_file_names_match_the_guide() -> None:
    moment = datetime(2014, 10, 29, 11, 34, 1, tzinfo=UTC)
    assert cdc_file_name(int(moment.timestamp()) * 10_000) == "20141029-1134010000.csv"
    assert cdc_file_name(int(moment.timestamp()) * 10_000 + 1234) == "20141029-1134011234.csv"
    txn = datetime(2020, 11, 17, 15, 30, 46, tzinfo=UTC)
    doc_name = (DOC / "dms-s3-target/transaction-file-name-example.txt").read_text().strip()
    assert txn_file_name(int(txn.timestamp()) * 1000 + 33) == doc_name


def test_ticks_stay_unique_and_increasing_within_one_unit() -> None:
    now_ns = 1_700_000_000_123_456_789
    first = next_tick(now_ns, 100_000, 0)
    second = next_tick(now_ns, 100_000, first)
    third = next_tick(now_ns + 50, 100_000, second)
    assert first == 17_000_000_001_234 and second == first + 1 and third == first + 2
    assert cdc_file_name(first) < cdc_file_name(second) < cdc_file_name(third)


def test_timestamp_column_value_format() -> None:
    assert dms_timestamp(COMMIT) == "2024-05-06 07:08:09.123456"
    plus2 = datetime(2024, 5, 6, 9, 8, 9, tzinfo=timezone(timedelta(hours=2)))
    assert dms_timestamp(plus2) == "2024-05-06 07:08:09.000000"


# --- CSV rows -----------------------------------------------------------------------------


def test_csv_rows_quote_like_rfc4180_and_write_null_as_empty() -> None:
    f = S3TargetSettings(bucket="b").new_file()
    f.write(["I", "1", None, "plain"])
    f.write(["U", "a,b", 'say "hi"', "two\nlines"])
    f.write(["D", "", "cr\rhere", None])
    f.write([None])
    assert f.body().decode() == (
        'I,1,,plain\nU,"a,b","say ""hi""","two\nlines"\nD,,"cr\rhere",\n""\n'
    )
    assert f.size == len(f.body())


@pytest.mark.parametrize(
    ("delimiter", "end"), [(",", "\n"), ("|", "\r\n"), ("\t", "\n"), (";", "#")]
)
def test_csv_rows_read_back_with_the_csv_module(delimiter: str, end: str) -> None:
    rows: list[list[str]] = [
        ["I", "1", "x"],
        ["I", "", ""],
        ["U", "a,b", "c|d"],
        ["U", "tab\there", "semi;colon"],
        ["D", '"', "hash#"],
        ["cr\r", "lf\n", "crlf\r\n"],
        ["x y", " lead", "trail "],
    ]
    f = CsvFile(delimiter, end, header=("Op", "a", "b"))
    for row in rows:
        f.write(list(row))
    assert parse_csv(f.body().decode(), delimiter, end) == [["Op", "a", "b"], *rows]


def test_cdc_rows_reproduce_the_guide_example() -> None:
    target, s3 = _target(BucketFolder="folder")
    target.apply(_employee_txn())
    assert s3.objects == {}
    target.flush()
    ((key, body),) = s3.objects.items()
    assert key.startswith("folder/hr/employee/") and len(key.rsplit("/", 1)[1]) == 23
    assert body == (DOC / "dms-s3-target/cdc-employee-rows.csv").read_text()


def test_timestamp_column_follows_the_op_and_header_names_it() -> None:
    target, s3 = _target(TimestampColumnName="TS", AddColumnName="true")
    target.apply(_employee_txn())
    target.flush()
    (body,) = s3.objects.values()
    lines = body.splitlines()
    assert lines[0] == "Op,TS,Id,LastName,FirstName,HireDate,OfficeLocation"
    assert lines[1] == "I,2024-05-06 07:08:09.123456,101,Smith,Bob,4-Jun-14,New York"
    assert len(lines) == 5


def test_inserts_only_drops_other_ops_and_the_op_field() -> None:
    target, s3 = _target(CdcInsertsOnly=True)
    target.apply(_employee_txn())
    target.flush()
    assert list(s3.objects.values()) == ["101,Smith,Bob,4-Jun-14,New York\n"]


def test_inserts_and_updates_with_include_op_keeps_i_and_u() -> None:
    target, s3 = _target(CdcInsertsAndUpdates="true", IncludeOpForFullLoad="true")
    target.apply(_employee_txn())
    target.flush()
    (body,) = s3.objects.values()
    assert [line[0] for line in body.splitlines()] == ["I", "U", "U"]


def test_transaction_files_carry_table_and_schema_after_the_op() -> None:
    target, s3 = _target(PreserveTransactions="true", CdcPath="cdc", BucketFolder="f")
    target.apply(_employee_txn())
    target.flush()
    ((key, body),) = s3.objects.items()
    assert key.startswith("f/cdc/CDC_TXN-") and len(key) == len("f/cdc/CDC_TXN-") + 21
    assert body.splitlines()[0] == "I,employee,hr,101,Smith,Bob,4-Jun-14,New York"
    assert body.splitlines()[3] == "D,employee,hr,101,Smith,Bob,13-Mar-17,Dallas"


def test_cdc_path_alone_puts_per_table_files_under_it() -> None:
    target, s3 = _target(CdcPath="changes")
    target.apply(_employee_txn())
    target.flush()
    assert next(iter(s3.objects)).startswith("changes/hr/employee/")


def test_full_load_rows_with_op_and_null_marker() -> None:
    target, s3 = _target(IncludeOpForFullLoad=True, CsvNullValue="NULL")
    rows = [_row("101", "Smith", "Bob", None, "New York"), _row("102", "Li", "Ann", "x", "y")]
    assert target.load_rows(EMPLOYEE, rows) == 2
    assert s3.objects == {
        "hr/employee/LOAD00000001.csv": "I,101,Smith,Bob,NULL,New York\nI,102,Li,Ann,x,y\n"
    }
    assert target.load_rows(EMPLOYEE, []) == 0
    assert len(s3.objects) == 1


def test_full_load_splits_files_past_max_file_size() -> None:
    target, s3 = _target(MaxFileSize="1")  # KB
    rows = [_row(str(i), "x" * 200, "y", None, "z") for i in range(12)]
    assert target.load_rows(EMPLOYEE, rows) == 12
    assert sorted(s3.objects) == [f"hr/employee/LOAD0000000{n}.csv" for n in (1, 2, 3)]
    assert sum(body.count("\n") for body in s3.objects.values()) == 12


def test_due_after_interval_or_size() -> None:
    target, _ = _target(CdcMaxBatchInterval="10", CdcMinFileSize="1")
    assert not target.due(1e12)
    target.apply(_employee_txn())
    now = time.monotonic()
    assert not target.due(now)
    assert target.due(now + 10.5)
    for _ in range(10):
        target.apply(_employee_txn())
    assert target.due(now)  # over 1 KB buffered
    target.flush()
    assert not target.due(now + 100)


# --- S3 source parsing --------------------------------------------------------------------


def test_external_table_definition_from_the_guide() -> None:
    text = (DOC / "dms-s3-source/external-table-definition.json").read_text()
    (source,) = parse_table_definition(text)
    assert source.path == "hr/employee/"
    table = source.table
    assert (table.schema, table.name, table.primary_key) == ("hr", "employee", ("Id",))
    assert table.column_names == EMPLOYEE.column_names
    assert table.columns[0] == Column("Id", "INT8", nullable=False)
    assert table.columns[1] == Column("LastName", "STRING", length=20)
    numeric = {
        "Tables": [
            {
                "TableName": "t",
                "TablePath": "s/t/",
                "TableOwner": "s",
                "TableColumns": [
                    {
                        "ColumnName": "r",
                        "ColumnType": "NUMERIC",
                        "ColumnPrecision": "5",
                        "ColumnScale": "2",
                    }
                ],
            }
        ]
    }
    (t,) = parse_table_definition(json.dumps(numeric))
    assert t.table.columns[0] == Column("r", "NUMERIC", precision=5, scale=2)


def test_source_cdc_rows_and_ops() -> None:
    text = (DOC / "dms-s3-source/cdc-employee-rows.csv").read_text()
    rows = parse_csv(text)
    assert [parse_op(r[0]) for r in rows] == ["insert", "update", "update", "delete"]
    assert [parse_op(x) for x in ("i", "u", "d", "Insert")] == [
        "insert",
        "update",
        "delete",
        "insert",
    ]
    with pytest.raises(ValueError):
        parse_op("X")
    assert to_row(EMPLOYEE, rows[0][3:]) == _row("101", "Smith", "Bob", "2014-06-04", "New York")
    assert to_row(EMPLOYEE, ["1", "", "b"]) == _row("1", None, "b", None, None)


def test_parse_csv_handles_quotes_and_custom_delimiters() -> None:
    assert parse_csv('a,"b,c","d""e"\n\n"f\ng",h\n') == [["a", "b,c", 'd"e'], ["f\ng", "h"]]
    assert parse_csv("a|b#c|d#", "|", "#") == [["a", "b"], ["c", "d"]]
