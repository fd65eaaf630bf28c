"""Canonical row images: the same row carried as psycopg values, DMS text or DynamoDB
attributes has one digest; any changed value changes it."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer

from harness.load import schema
from harness.load.row_image import canonical_row, carries_added, lob_bytes, row_digest
from harness.read_model import to_item

ROW = {
    "id": 7,
    "version": 3,
    "written_at": datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC),
    "name": 'wïdget, "quoted"\nline',
    "price": Decimal("12.3400"),
    "produced_at": None,
    "attrs": {"color": "red", "batch": 5, "tags": ["a", "ß"]},
    "notes": "日本",
}

AS_TEXT = {
    "id": "7",
    "version": "3",
    "written_at": "2026-11-23 10:00:00.123456",
    "name": 'wïdget, "quoted"\nline',
    "price": "12.34",
    "attrs": '{"tags": ["a", "ß"], "batch": 5, "color": "red"}',
    "notes": "日本",
}


def test_psycopg_values_and_dms_text_have_one_digest() -> None:
    assert row_digest("widgets", AS_TEXT) == row_digest("widgets", ROW)


def test_a_dynamodb_item_has_the_rows_digest() -> None:
    item = to_item("widgets", "7", ROW)
    deserializer = TypeDeserializer()
    plain = {name: deserializer.deserialize(value) for name, value in item.items()}

    assert row_digest("widgets", plain) == row_digest("widgets", ROW)


def test_timestamps_with_any_offset_are_the_same_instant() -> None:
    shifted = ROW["written_at"].astimezone(timezone(timedelta(hours=5, minutes=30)))

    assert row_digest("widgets", {**ROW, "written_at": shifted}) == row_digest("widgets", ROW)
    assert row_digest("widgets", {**ROW, "written_at": "2026-11-23T10:00:00.123456Z"}) == (
        row_digest("widgets", ROW)
    )


def test_columns_outside_the_schema_are_ignored() -> None:
    assert row_digest("widgets", {**ROW, "Op": "I", "pk": "widgets#7"}) == row_digest(
        "widgets", ROW
    )


@pytest.mark.parametrize(
    "change",
    [
        {"version": 4},
        {"written_at": datetime(2026, 11, 23, 10, 0, 0, 123457, tzinfo=UTC)},
        {"name": "wïdget"},
        {"price": Decimal("12.3401")},
        {"price": None},
        {"produced_at": datetime(2026, 1, 1, tzinfo=UTC)},
        {"attrs": {"color": "red", "batch": 6, "tags": ["a", "ß"]}},
        {"attrs": {"color": "red", "batch": 5, "tags": ["ß", "a"]}},
        {"notes": ""},
    ],
)
def test_any_changed_value_changes_the_digest(change: dict[str, object]) -> None:
    assert row_digest("widgets", {**ROW, **change}) != row_digest("widgets", ROW)


def test_canonical_forms() -> None:
    canonical = canonical_row("widgets", ROW)

    assert canonical["price"] == "12.34"
    assert canonical["written_at"] == 1_795_428_000_123_456
    assert canonical["attrs"] == '{"batch":5,"color":"red","tags":["a","ß"]}'
    assert canonical["produced_at"] is None


@pytest.mark.parametrize(
    ("table", "row", "message"),
    [
        ("gadgets", {}, "table 'gadgets' is not in the source schema"),
        ("widgets", {**ROW, "price": "twelve"}, "widgets.price: cannot read 'twelve' as numeric"),
        ("widgets", {**ROW, "written_at": "soon"}, "widgets.written_at: cannot read 'soon'"),
        ("widgets", {**ROW, "attrs": "{not json"}, "widgets.attrs: cannot read '{not json'"),
    ],
)
def test_unreadable_values_are_named(table: str, row: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        canonical_row(table, row)


def test_an_added_column_is_in_the_image_only_where_it_is_set(
    added_column: tuple[str, str, str],
) -> None:
    table, column, _ = added_column
    assert row_digest(table, {**ROW, column: None}) == row_digest(table, ROW)
    assert not carries_added(table, {**ROW, column: None})

    with_column = {**ROW, column: "teal"}
    assert canonical_row(table, with_column)[column] == "teal"
    assert carries_added(table, with_column)
    assert row_digest(table, with_column) != row_digest(table, ROW)
    assert row_digest(table, {**AS_TEXT, column: "teal"}) == row_digest(table, with_column)
    assert row_digest(table, {**ROW, column: "navy"}) != row_digest(table, with_column)


def test_an_added_column_is_read_by_its_kind() -> None:
    schema.register_added("orders", "shipped_at", "timestamptz")
    try:
        when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        as_text = {"shipped_at": "2026-01-02 03:04:05"}
        assert canonical_row("orders", as_text) == canonical_row("orders", {"shipped_at": when})
        with pytest.raises(ValueError, match=r"orders\.shipped_at: cannot read 'soon'"):
            canonical_row("orders", {"shipped_at": "soon"})
    finally:
        schema.forget_added()


def test_a_rows_lob_size_is_its_largest_text_or_json_value_in_utf8_bytes() -> None:
    def size(row: dict[str, object]) -> int:
        return lob_bytes("widgets", canonical_row("widgets", row))

    assert size(ROW) == len(b'{"batch":5,"color":"red","tags":["a","\xc3\x9f"]}')
    assert size(ROW | {"notes": "ü" * 100}) == 200
    assert size({"id": 1}) == 0
