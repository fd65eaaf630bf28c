"""The DMS S3 CSV decoder reads what the local DMS S3 target writes, and the guide's rows.

Source rows are psycopg values; the DMS rows are the text test_decoding prints for them,
brought to DMS's form by the engine (`pg_types.canonical`), so a decoded digest equal to
the source row's proves both sides agree on numeric, timestamptz, jsonb, NULL and text.
"""

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from harness.load.row_image import row_digest
from harness.local.dms.changes import Row, RowChange, Table, Transaction
from harness.local.dms.context import TaskContext
from harness.local.dms.mapping import TableMapping
from harness.local.dms.sources import pg_types
from harness.local.dms.targets.s3 import S3Target
from harness.observe.formats import Decoded
from harness.observe.formats.dms_csv import DmsCsv, RowLayout
from tests.helpers import DOC_EXAMPLES, SELECT_ALL

PG_TYPES = {
    "widgets": {
        "id": "bigint",
        "version": "bigint",
        "written_at": "timestamp with time zone",
        "name": "text",
        "price": "numeric(19,4)",
        "produced_at": "timestamp with time zone",
        "attrs": "jsonb",
        "notes": "text",
    },
    "orders": {
        "id": "bigint",
        "version": "bigint",
        "written_at": "timestamp with time zone",
        "widget_id": "bigint",
        "quantity": "integer",
        "amount": "numeric(19,4)",
        "status": "text",
        "meta": "jsonb",
    },
}
TABLES = {
    name: Table("public", name, tuple(pg_types.column(c, t) for c, t in types.items()), ("id",))
    for name, types in PG_TYPES.items()
}
AT = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
PLUS2 = timezone(timedelta(hours=2))

# (table, psycopg row, the same row as test_decoding prints it in a UTC session)
WIDGET_1 = (
    "widgets",
    {
        "id": 1,
        "version": 1,
        "written_at": AT,
        "name": 'Widget, "deluxe"\nsecond line',
        "price": Decimal("12.3400"),
        "produced_at": datetime(2024, 5, 6, 9, 8, 9, 500000, tzinfo=PLUS2),
        "attrs": {"size": 3, "ratio": 0.5, "tags": ["a", "ü"], "none": None},
        "notes": "naïve € text\r\nwith CRLF, and a comma",
    },
    {
        "id": "1",
        "version": "1",
        "written_at": "2024-05-06 07:08:09.123456+00",
        "name": 'Widget, "deluxe"\nsecond line',
        "price": "12.3400",
        "produced_at": "2024-05-06 07:08:09.5+00",
        "attrs": '{"none": null, "size": 3, "tags": ["a", "ü"], "ratio": 0.5}',
        "notes": "naïve € text\r\nwith CRLF, and a comma",
    },
)
WIDGET_1_V2 = (
    "widgets",
    {**WIDGET_1[1], "version": 2, "price": Decimal("100.0000"), "notes": None},
    {**WIDGET_1[2], "version": "2", "price": "100.0000", "notes": None},
)
WIDGET_2 = (
    "widgets",
    {
        "id": 2,
        "version": 1,
        "written_at": AT,
        "name": "plain",
        "price": None,
        "produced_at": None,
        "attrs": None,
        "notes": None,
    },
    {
        "id": "2",
        "version": "1",
        "written_at": "2024-05-06 07:08:09.123456+00",
        "name": "plain",
        "price": None,
        "produced_at": None,
        "attrs": None,
        "notes": None,
    },
)
ORDER_1 = (
    "orders",
    {
        "id": 1,
        "version": 1,
        "written_at": AT,
        "widget_id": 1,
        "quantity": 3,
        "amount": Decimal("0.0000"),
        "status": None,
        "meta": {"channel": "web", "note": None},
    },
    {
        "id": "1",
        "version": "1",
        "written_at": "2024-05-06 07:08:09.123456+00",
        "widget_id": "1",
        "quantity": "3",
        "amount": "0.0000",
        "status": None,
        "meta": '{"note": null, "channel": "web"}',
    },
)
CHANGES = [
    ("insert", WIDGET_1),
    ("insert", WIDGET_2),
    ("insert", ORDER_1),
    ("update", WIDGET_1_V2),
    ("delete", WIDGET_2),
]
OPTION_NAMES = {
    "IncludeOpForFullLoad": "include_op_for_full_load",
    "TimestampColumnName": "timestamp_column_name",
    "AddColumnName": "add_column_name",
    "CdcInsertsOnly": "cdc_inserts_only",
    "CdcInsertsAndUpdates": "cdc_inserts_and_updates",
    "CsvNullValue": "csv_null_value",
    "CsvDelimiter": "csv_delimiter",
}


def _dms_row(table: str, pg_text: dict[str, str | None]) -> Row:
    return {c.name: pg_types.canonical(c, pg_text[c.name]) for c in TABLES[table].columns}


def _expected(op: str, table: str, row: dict[str, Any]) -> Decoded:
    if op == "delete":
        return Decoded(table, str(row["id"]), row["version"] + 1, "delete", "")
    return Decoded(table, str(row["id"]), row["version"], "upsert", row_digest(table, row))


class _FakeS3:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **_: Any) -> None:
        self.objects[Key] = Body

    def client(self, service: str) -> "_FakeS3":
        return self

    def close(self) -> None:
        pass


def _write(
    settings: dict[str, Any], changes: list[tuple[str, Any]] = CHANGES, load: bool = False
) -> dict[str, str]:
    """Key -> text of what the local DMS S3 target writes for `changes` in one transaction
    (or for their inserted rows as a full load)."""
    s3 = _FakeS3()
    endpoint = {"EndpointType": "TARGET", "S3Settings": {"BucketName": "b", **settings}}
    mapping = TableMapping({"rules": [SELECT_ALL]})
    target = S3Target(TaskContext("t", "arn:t", endpoint, mapping, {}, s3))  # type: ignore[arg-type]
    if load:
        for name, table in TABLES.items():
            rows = [
                _dms_row(t, text) for op, (t, _, text) in changes if t == name and op == "insert"
            ]
            target.load_rows(table, rows)
    else:
        row_changes = [RowChange(op, TABLES[t], _dms_row(t, text)) for op, (t, _, text) in changes]
        target.apply(Transaction(7, AT, "0/1", row_changes))
        target.flush()
    return {key: body.decode() for key, body in sorted(s3.objects.items())}


def _decoder(settings: dict[str, Any]) -> DmsCsv:
    return DmsCsv(**{OPTION_NAMES[k]: v for k, v in settings.items() if k in OPTION_NAMES})


def _decode(settings: dict[str, Any], objects: dict[str, str]) -> list[Decoded]:
    decoder = _decoder(settings)
    return [d for key, text in objects.items() for _, d in decoder.decode(key, text)]


@pytest.mark.parametrize(
    ("settings", "folder"),
    [
        ({}, "public"),
        ({"TimestampColumnName": "ts", "AddColumnName": True}, "public"),
        ({"CsvNullValue": "NULL", "CsvDelimiter": "|"}, "public"),
        (
            {"BucketFolder": "events/x", "CdcPath": "cdc", "IncludeOpForFullLoad": True},
            "events/x/cdc/public",
        ),
    ],
)
def test_per_table_cdc_files_decode_to_the_source_images(
    settings: dict[str, Any], folder: str
) -> None:
    objects = _write(settings)
    assert [key.rsplit("/", 1)[0] for key in objects] == [f"{folder}/orders", f"{folder}/widgets"]
    expected = [_expected(op, t, row) for op, (t, row, _) in CHANGES]
    assert _decode(settings, objects) == sorted(expected, key=lambda d: d.table)


def test_transaction_files_keep_commit_order_and_skip_the_timestamp() -> None:
    settings = {"PreserveTransactions": True, "CdcPath": "cdc", "TimestampColumnName": "ts"}
    objects = _write(settings)
    ((key, text),) = objects.items()
    assert key.startswith("cdc/CDC_TXN-")
    assert text.startswith("I,widgets,public,2024-05-06 07:08:09.123456,1,1,")
    assert (
        list(_decoder(settings).decode(key, text))
        == [
            (1, _expected("insert", *WIDGET_1[:2])),  # its name and notes hold line breaks
            (4, _expected("insert", *WIDGET_2[:2])),
            (5, _expected("insert", *ORDER_1[:2])),
            (6, _expected("update", *WIDGET_1_V2[:2])),
            (8, _expected("delete", *WIDGET_2[:2])),
        ]
    )


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"IncludeOpForFullLoad": True, "TimestampColumnName": "ts", "AddColumnName": True},
    ],
)
def test_full_load_files_decode_with_and_without_op_timestamp_and_header(
    settings: dict[str, Any],
) -> None:
    objects = _write(settings, load=True)
    assert list(objects) == ["public/orders/LOAD00000001.csv", "public/widgets/LOAD00000001.csv"]
    expected = [_expected("load", t, row) for op, (t, row, _) in CHANGES if op == "insert"]
    assert _decode(settings, objects) == sorted(expected, key=lambda d: d.table)


@pytest.mark.parametrize(
    ("settings", "ops", "first_field"),
    [
        ({"CdcInsertsOnly": True}, ("insert",), "1"),  # the widget's id: no op field
        ({"CdcInsertsAndUpdates": True, "IncludeOpForFullLoad": True}, ("insert", "update"), "I"),
    ],
)
def test_cdc_narrowed_to_inserts_has_no_op_field_unless_included(
    settings: dict[str, Any], ops: tuple[str, ...], first_field: str
) -> None:
    objects = _write(settings)
    assert objects[next(k for k in objects if "/widgets/" in k)].split(",")[0] == first_field
    kept = [_expected(op, t, row) for op, (t, row, _) in CHANGES if op in ops]
    assert _decode(settings, objects) == sorted(kept, key=lambda d: d.table)


def test_null_and_empty_string_are_one_empty_field_unless_a_null_marker_is_set() -> None:
    table, row, text = WIDGET_2
    empty_notes = ("insert", (table, {**row, "notes": ""}, {**text, "notes": ""}))
    for settings, notes in [({}, None), ({"CsvNullValue": "NULL"}, "")]:
        (decoded,) = _decode(settings, _write(settings, [empty_notes]))
        assert decoded.digest == row_digest(table, {**row, "notes": notes})
    assert row_digest(table, {**row, "notes": ""}) != row_digest(table, row)


def test_a_delete_without_its_version_names_the_object_line_and_replica_identity() -> None:
    key = "public/widgets/20240506-0708091234.csv"
    text = "I,1,1,2024-05-06 07:08:09.123456,w,,,,\nD,1,,,,,,,\n"
    with pytest.raises(ValueError, match=rf"^{key}:2: widgets 1 carries no version .*FULL"):
        list(DmsCsv().decode(key, text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("X,1,1,2024-05-06 07:08:09,w,,,,\n", ":1: unknown DMS op field 'X'"),
        ("I,1,1,2024-05-06 07:08:09,w,,,,\nI,2,1,2024-05-06 07:08:09,w\n", ":2: widgets row has"),
        ('I,1,1,2024-05-06 07:08:09,"w"x,,,,\n', ":1: ',' expected after '\"'"),
        ('I,1,1,2024-05-06 07:08:09,w,,,,\nU,"1\n', ":2: unexpected end of data"),
    ],
)
def test_malformed_rows_name_the_object_and_line(text: str, message: str) -> None:
    key = "public/widgets/20240506-0708091234.csv"
    with pytest.raises(ValueError, match="^" + re.escape(key + message)):
        list(DmsCsv().decode(key, text))


def test_rows_written_after_an_added_column_carry_it_last(
    added_column: tuple[str, str, str],
) -> None:
    table, column, _ = added_column
    key = f"public/{table}/20240506-0708091234.csv"
    text = "I,5,1,2024-05-06 07:08:09,w,,,,\nU,5,2,2024-05-06 07:08:10,w,,,,,teal\n"
    before = {"id": 5, "version": 1, "written_at": "2024-05-06 07:08:09", "name": "w"}
    after = {"id": 5, "version": 2, "written_at": "2024-05-06 07:08:10", "name": "w"}

    assert list(DmsCsv().decode(key, text)) == [
        (1, Decoded(table, "5", 1, "upsert", row_digest(table, before))),
        (2, Decoded(table, "5", 2, "upsert", row_digest(table, {**after, column: "teal"}))),
    ]
    with pytest.raises(ValueError, match="widgets row has 10 values for 9 columns"):
        list(DmsCsv().decode(key, "U,5,2,2024-05-06 07:08:10,w,,,,,teal,more\n"))


def test_rows_of_tables_outside_the_source_schema_are_skipped() -> None:
    text = "I,awsdms_status,public,1\nI,widgets,public,5,2,2024-05-06 07:08:09.000000,w,,,,\n"
    decoded = list(DmsCsv().decode("cdc/CDC_TXN-20240506070809123.csv", text))
    row = {"id": 5, "version": 2, "written_at": "2024-05-06 07:08:09", "name": "w"}
    assert decoded == [(2, Decoded("widgets", "5", 2, "upsert", row_digest("widgets", row)))]


# --- the guide's literal examples ---------------------------------------------------------


def test_the_guides_cdc_rows_split_into_op_and_values() -> None:
    lines = (DOC_EXAMPLES / "dms-s3-target/cdc-employee-rows.csv").read_text().splitlines()
    layout = DmsCsv().layout("hr/employee/20141029-1134010000.csv")
    assert layout == RowLayout("employee", op=True)
    assert [layout.split(line.split(","), "doc") for line in lines] == [
        ("employee", False, ["101", "Smith", "Bob", "4-Jun-14", "New York"]),
        ("employee", False, ["101", "Smith", "Bob", "8-Oct-15", "Los Angeles"]),
        ("employee", False, ["101", "Smith", "Bob", "13-Mar-17", "Dallas"]),
        ("employee", True, ["101", "Smith", "Bob", "13-Mar-17", "Dallas"]),
    ]
    assert list(DmsCsv().decode("hr/employee/20141029-1134010000.csv", "\n".join(lines))) == []


def test_the_guides_transaction_rows_name_their_table() -> None:
    name = (DOC_EXAMPLES / "dms-s3-target/transaction-file-name-example.txt").read_text().strip()
    rows = (DOC_EXAMPLES / "dms-s3-target/transaction-file-rows-CDC_TXN.csv").read_text()
    layout = DmsCsv().layout(f"folder/changes/{name}")
    assert layout == RowLayout(None, op=True)
    split = [layout.split(line.split(","), "doc") for line in rows.splitlines()]
    assert split[:3] == [
        ("Names_03cdcad11a", False, ["13", "Daniel"]),
        ("Names_03cdcad11a", False, ["23", "Kathy"]),
        ("Names_03cdcad11a", True, ["13", "Cathy"]),
    ]
    assert [table for table, _, _ in split[3:]] == [
        "Names_6d152ce62d",
        "Names_6d152ce62d",
        "Names_03cdcad11a",
    ]


def test_the_guides_file_names_give_the_table_and_whether_rows_carry_an_op() -> None:
    doc = DOC_EXAMPLES / "dms-s3-target"
    loads = (doc / "full-load-file-names.txt").read_text().splitlines()
    segments = (doc / "parallel-load-segment-file-names.txt").read_text().splitlines()
    cdc = (doc / "file-name-examples-from-prose.txt").read_text().splitlines()[-1]
    names = [n.removeprefix("...") for n in loads + segments if n.endswith(".csv")]
    assert len(names) == 11
    for with_op in (False, True):
        decoder = DmsCsv(include_op_for_full_load=with_op)
        assert {decoder.layout(n) for n in names} == {RowLayout("table_name", op=with_op)}
    assert DmsCsv().layout(f"folder/hr/employee/{cdc}") == RowLayout("employee", op=True)
    assert DmsCsv(cdc_inserts_only=True).layout(f"hr/employee/{cdc}").op is False
    dated = "hr/employee/2024/05/06/" + cdc
    assert DmsCsv().layout(dated) == RowLayout("employee", op=True)
    assert DmsCsv.accepts(cdc) and not DmsCsv.accepts("hr/employee/LOAD00000001.parquet")
