"""The dms_msk_lambda projector function without AWS: MSK events of the messages our local DMS
writes decode into the harness's read-model items (same digest as the source row), control
records and other tables are skipped, and malformed records or missing versions raise."""

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from botocore.stub import Stubber

from harness import read_model
from harness.aws import AwsAccess
from harness.load import schema
from harness.load.row_image import row_digest
from harness.local.dms.changes import Row, RowChange, Table, Transaction
from harness.local.dms.context import TaskContext
from harness.local.dms.mapping import TableMapping
from harness.local.dms.sources.pg_types import column
from harness.local.dms.targets.messages import MessageBuilder
from tests import helpers
from tests.helpers import DOC_EXAMPLES, REPO, SELECT_ALL

FUNCTION_DIR = REPO / "terraform" / "patterns" / "dms_msk_lambda" / "functions" / "projector"
SHARED_MODULE = "dms_changes"
TOPIC = "dms-cdc"
NOW = datetime(2026, 11, 23, 10, 0, 1, tzinfo=UTC)

WIDGETS = Table(
    "public",
    "widgets",
    (
        column("id", "bigint", False),
        column("version", "bigint", False),
        column("written_at", "timestamp with time zone", False),
        column("name", "text", False),
        column("price", "numeric(19,4)"),
        column("produced_at", "timestamp with time zone"),
        column("attrs", "jsonb"),
        column("notes", "text"),
    ),
    ("id",),
)
ORDERS = Table(
    "public",
    "orders",
    (
        column("id", "bigint", False),
        column("version", "bigint", False),
        column("written_at", "timestamp with time zone", False),
        column("widget_id", "bigint", False),
        column("quantity", "integer", False),
        column("amount", "numeric(19,4)", False),
        column("status", "text"),
        column("meta", "jsonb"),
    ),
    ("id",),
)
GADGETS = Table("public", "gadgets", (column("id", "bigint"), column("version", "bigint")), ("id",))


def function_module(name: str) -> ModuleType:
    return helpers.function_module(FUNCTION_DIR, name)


def widget(key: int, version: int, **values: str | None) -> Row:
    """A widgets row as our DMS source captures it (canonical text)."""
    row: Row = {
        "id": str(key),
        "version": str(version),
        "written_at": f"2026-11-23 10:00:0{version}.123456",
        "name": f'wïdget {key}, "v{version}"',
        "price": "12.3400",
        "produced_at": None,
        "attrs": '{"tags": ["a", "ß"], "batch": 5, "color": "red"}',
        "notes": "日本",
    }
    return {**row, **values}


def order(key: int, version: int, widget_id: int) -> Row:
    return {
        "id": str(key),
        "version": str(version),
        "written_at": f"2026-11-23 10:00:0{version}.000001",
        "widget_id": str(widget_id),
        "quantity": "3",
        "amount": "1234567890.1200",
        "status": "open",
        "meta": None,
    }


def dms_message(operation: str, table: Table, row: Row, **endpoint: Any) -> bytes:
    """The Kafka message our local DMS writes for one row change (`operation` load, insert,
    update, delete, or create-table for a control record)."""
    ctx = TaskContext(
        task_id="TASKID",
        task_arn="arn:aws:dms:us-east-1:123456789012:task:TASKID",
        endpoint={},
        mapping=TableMapping({"rules": [SELECT_ALL]}),
        settings={},
        aws=AwsAccess(region="us-east-1"),
    )
    builder = MessageBuilder(ctx, endpoint, clock=lambda: NOW)
    if operation == "create-table":
        return builder.create_table(table).body
    if operation == "load":
        return builder.load(table, row).body
    txn = Transaction(1, NOW, "0/16B3748", [RowChange(operation, table, row)])
    return builder.transaction(txn)[0].body


def msk_event(*partitions: list[bytes]) -> dict[str, Any]:
    """An MSK event like the documentation's example, the n-th list of values on partition n
    of TOPIC (base64, offsets from 100)."""
    example = json.loads((DOC_EXAMPLES / "lambda-events" / "msk-event.json").read_text())
    template = next(iter(example["records"].values()))[0]
    records = {
        f"{TOPIC}-{partition}": [
            {
                **template,
                "topic": TOPIC,
                "partition": partition,
                "offset": 100 + offset,
                "key": base64.b64encode(b"public.widgets").decode(),
                "value": base64.b64encode(value).decode(),
            }
            for offset, value in enumerate(values)
        ]
        for partition, values in enumerate(partitions)
    }
    return {**example, "records": records}


def raw_record(value: str | None) -> dict[str, Any]:
    """An MSK event of one record whose value is `value` as given (None: no value)."""
    event = msk_event([b"{}"])
    record = event["records"][f"{TOPIC}-0"][0]
    if value is None:
        del record["value"]
    else:
        record["value"] = value
    return event


def changes(event: dict[str, Any], tables: str = "widgets,orders") -> list[Any]:
    module = function_module(SHARED_MODULE)
    return list(module.changes(event, frozenset(tables.split(","))))


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A low-level item as the observers read it."""
    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in item.items()}


def test_the_layout_restated_in_the_function_is_the_harness_one() -> None:
    shared = function_module(SHARED_MODULE)

    assert shared.KEY_ATTRIBUTE == read_model.KEY_ATTRIBUTE
    assert shared.VERSION_ATTRIBUTE == read_model.VERSION_ATTRIBUTE
    assert shared.TOMBSTONE_ATTRIBUTE == read_model.TOMBSTONE_ATTRIBUTE
    assert shared.NEWER_ONLY == read_model.NEWER_ONLY
    assert (shared.KEY_COLUMN, shared.VERSION_COLUMN) == (schema.KEY_COLUMN, schema.VERSION_COLUMN)
    assert ",".join(schema.TABLES) == shared.DEFAULT_TABLES
    numeric = {
        table: {name for name, kind in columns.items() if kind == "numeric"}
        for table, columns in schema.COLUMNS.items()
    }
    assert numeric == shared.NUMERIC_COLUMNS


@pytest.mark.parametrize("operation", ["load", "insert", "update"])
def test_row_changes_become_the_read_model_items_with_the_source_rows_digest(
    operation: str,
) -> None:
    message = dms_message(operation, WIDGETS, widget(7, 3))
    (change,) = changes(msk_event([message]))

    row = {
        "id": 7,
        "version": 3,
        "written_at": "2026-11-23 10:00:03.123456",
        "name": 'wïdget 7, "v3"',
        "price": Decimal("12.3400"),
        "attrs": '{"tags": ["a", "ß"], "batch": 5, "color": "red"}',
        "notes": "日本",
    }
    assert (change.table, change.key, change.version, change.deleted) == ("widgets", "7", 3, False)
    assert change.row_item() == read_model.to_item("widgets", "7", row)
    assert change.row_item()["price"] == {"N": "12.3400"}
    # what the observer reads back has the digest of the message's row and of the source's
    source_row = {
        **row,
        "written_at": datetime(2026, 11, 23, 10, 0, 3, 123456, tzinfo=UTC),
        "attrs": {"color": "red", "batch": 5, "tags": ["a", "ß"]},
        "produced_at": None,
    }
    digest = row_digest("widgets", plain(change.row_item()))
    assert digest == row_digest("widgets", json.loads(message)["data"])
    assert digest == row_digest("widgets", source_row)


def test_an_orders_row_keeps_its_numerics_exact() -> None:
    message = dms_message("insert", ORDERS, order(5, 1, widget_id=7))
    (change,) = changes(msk_event([message]))

    row = {
        "id": 5,
        "version": 1,
        "written_at": "2026-11-23 10:00:01.000001",
        "widget_id": 7,
        "quantity": 3,
        "amount": Decimal("1234567890.1200"),
        "status": "open",
    }
    assert change.row_item() == read_model.to_item("orders", "5", row)
    assert row_digest("orders", plain(change.row_item())) == row_digest(
        "orders", json.loads(message)["data"]
    )


def test_numbers_the_message_carries_as_json_numbers_stay_exact() -> None:
    text = dms_message("insert", WIDGETS, widget(7, 1), MessageFormat="json-unformatted")
    document = json.loads(text)
    document["data"]["price"] = "PRICE"
    message = json.dumps(document).replace('"PRICE"', "0.1000000000000000000000000001").encode()

    (change,) = changes(msk_event([message]))

    assert change.row["price"] == Decimal("0.1000000000000000000000000001")
    assert change.row_item()["price"] == {"N": "0.1000000000000000000000000001"}


def test_a_delete_leaves_the_tombstone_of_the_next_version() -> None:
    message = dms_message("delete", WIDGETS, widget(7, 3))
    (change,) = changes(msk_event([message]))

    assert (change.key, change.version, change.deleted) == ("7", 3, True)
    assert change.tombstone() == read_model.tombstone("widgets", "7", 4)
    # what the naive projector puts back: the deleted row's image
    assert plain(change.row_item())["name"] == 'wïdget 7, "v3"'


def test_control_records_and_other_tables_are_skipped() -> None:
    event = msk_event(
        [
            dms_message("create-table", WIDGETS, {}),
            dms_message("insert", GADGETS, {"id": "1", "version": "1"}),
            dms_message("insert", ORDERS, order(5, 1, widget_id=7)),
            dms_message("insert", WIDGETS, widget(7, 1)),
        ]
    )

    assert [(c.table, c.key) for c in changes(event)] == [("orders", "5"), ("widgets", "7")]
    assert [(c.table, c.key) for c in changes(event, "widgets")] == [("widgets", "7")]


def test_records_come_partition_by_partition_in_offset_order() -> None:
    event = msk_event(
        [
            dms_message("insert", WIDGETS, widget(1, 1)),
            dms_message("update", WIDGETS, widget(1, 2)),
        ],
        [dms_message("insert", WIDGETS, widget(2, 1))],
    )

    seen = [(c.source, c.key, c.version) for c in changes(event)]

    assert seen == [
        (f"{TOPIC}-0@100", "1", 1),
        (f"{TOPIC}-0@101", "1", 2),
        (f"{TOPIC}-1@100", "2", 1),
    ]


def test_a_delete_without_the_deleted_rows_version_raises() -> None:
    shared = function_module(SHARED_MODULE)
    key_only = dms_message("delete", WIDGETS, {"id": "7"})  # REPLICA IDENTITY DEFAULT

    with pytest.raises(shared.MessageError, match=r"widgets 7 carries no version.*IDENTITY FULL"):
        changes(msk_event([key_only]))


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (raw_record("not base64!"), "not a base64 JSON document"),
        (raw_record(base64.b64encode(b"\xff\xfe\x00").decode()), "not a base64 JSON document"),
        (raw_record(base64.b64encode(b'{"data": ').decode()), "not a base64 JSON document"),
        (raw_record(base64.b64encode(b"[1, 2]").decode()), r"not a DMS message \(a JSON object\)"),
        (raw_record(base64.b64encode(b'{"data": {}}').decode()), r"not a DMS message \(no meta"),
        (raw_record(None), "a record without a value"),
        (msk_event([dms_message("insert", WIDGETS, {"version": "1"})]), "without its key column"),
        (msk_event([dms_message("insert", WIDGETS, {"id": "7"})]), "widgets 7 carries no version$"),
        (msk_event([dms_message("insert", WIDGETS, widget(7, 1, price="NaN"))]), "not a finite"),
        (msk_event([dms_message("insert", WIDGETS, widget(7, 1, price="x"))]), "'x' is not a num"),
    ],
)
def test_unusable_records_raise_naming_the_record(event: dict[str, Any], message: str) -> None:
    shared = function_module(SHARED_MODULE)

    with pytest.raises(shared.MessageError, match=f"^{TOPIC}-0@100: .*{message}"):
        changes(event)


def test_an_unknown_operation_or_a_version_that_is_no_number_raises() -> None:
    shared = function_module(SHARED_MODULE)
    document = json.loads(dms_message("insert", WIDGETS, widget(7, 1)))
    truncate = {**document, "metadata": {**document["metadata"], "operation": "truncate"}}
    fractional = {**document, "data": {**document["data"], "version": "1.5"}}

    with pytest.raises(shared.MessageError, match="unknown DMS operation 'truncate'"):
        changes(msk_event([json.dumps(truncate).encode()]))
    with pytest.raises(shared.MessageError, match=r"version '1\.5' is not a whole number"):
        changes(msk_event([json.dumps(fractional).encode()]))


def test_settings_come_from_the_environment() -> None:
    settings = function_module(SHARED_MODULE).Settings

    assert settings.from_env({"READ_MODEL_TABLE": "rm"}) == settings(
        "rm", frozenset({"widgets", "orders"})
    )
    assert settings.from_env({"READ_MODEL_TABLE": "rm", "TABLES": " orders, "}).tables == {"orders"}
    with pytest.raises(RuntimeError, match="READ_MODEL_TABLE"):
        settings.from_env({})
    with pytest.raises(RuntimeError, match="TABLES names no source table"):
        settings.from_env({"READ_MODEL_TABLE": "rm", "TABLES": ","})


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """A stubbed DynamoDB client in place of the function's; READ_MODEL_TABLE=rm."""
    with helpers.stubbed_client("dynamodb") as (client, stubber):
        for name in ("projector", "naive"):
            monkeypatch.setattr(function_module(name), "dynamodb", lambda: client)
        monkeypatch.setenv("READ_MODEL_TABLE", "rm")
        monkeypatch.delenv("TABLES", raising=False)
        yield stubber


def conditional_put(item: dict[str, Any]) -> dict[str, Any]:
    return helpers.versioned_put("rm", item)


def test_the_projector_writes_newer_versions_only_and_raises_other_errors(
    stubbed: Stubber,
) -> None:
    projector = function_module("projector")
    event = msk_event(
        [
            dms_message("create-table", WIDGETS, {}),
            dms_message("update", WIDGETS, widget(7, 2)),
            dms_message("delete", WIDGETS, widget(8, 1)),
        ]
    )
    updated, deleted = changes(event)
    stubbed.add_response("put_item", {}, conditional_put(updated.row_item()))
    stubbed.add_client_error(
        "put_item",
        "ConditionalCheckFailedException",
        expected_params=conditional_put(deleted.tombstone()),
    )
    stubbed.add_client_error("put_item", "ProvisionedThroughputExceededException")

    assert projector.handler(event, None) == {"records": 3, "written": 1, "superseded": 1}
    with pytest.raises(projector.dynamodb().exceptions.ProvisionedThroughputExceededException):
        projector.handler(event, None)


def test_the_naive_projector_puts_every_row_image_unconditionally(stubbed: Stubber) -> None:
    naive = function_module("naive")
    event = msk_event(
        [dms_message("update", WIDGETS, widget(7, 2)), dms_message("delete", WIDGETS, widget(8, 1))]
    )
    for change in changes(event):
        stubbed.add_response("put_item", {}, {"TableName": "rm", "Item": change.row_item()})

    assert naive.handler(event, None) == {"records": 2, "written": 2}
