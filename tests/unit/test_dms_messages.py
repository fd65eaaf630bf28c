"""DMS stream messages (Kinesis/Kafka): exact JSON, settings, partition keys, doc shapes."""

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from harness.aws import AwsAccess
from harness.local.dms.changes import Column, RowChange, SchemaChange, Table, Transaction
from harness.local.dms.context import TaskContext
from harness.local.dms.mapping import TableMapping
from harness.local.dms.targets.messages import MessageBuilder
from tests.helpers import DOC_EXAMPLES, SELECT_ALL

DOCS = DOC_EXAMPLES
NOW = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
COMMIT = datetime(2024, 5, 6, 7, 8, 8, tzinfo=UTC)
CUSTOMERS = Table(
    "public",
    "customers",
    (
        Column("id", "INT8", nullable=False),
        Column("name", "STRING", length=100),
        Column("note", "NCLOB"),
        Column("score", "NUMERIC", precision=10, scale=2),
        Column("active", "BOOLEAN"),
    ),
    ("id",),
)
ROW = {"id": "7", "name": "Ann", "note": None, "score": "1.50", "active": "true"}


def doc(path: str) -> Any:
    return json.loads((DOCS / path).read_text())


def builder(
    endpoint: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    rules: list[dict[str, Any]] | None = None,
) -> MessageBuilder:
    ctx = TaskContext(
        task_id="TASKID",
        task_arn="arn:aws:dms:us-east-1:123456789012:task:TASKID",
        endpoint={},
        mapping=TableMapping({"rules": [SELECT_ALL, *(rules or [])]}),
        settings=settings or {},
        aws=AwsAccess(region="us-east-1"),
    )
    return MessageBuilder(ctx, endpoint or {}, clock=lambda: NOW)


def body(message: Any) -> Any:
    return json.loads(message.body)


def txn(*changes: RowChange, xid: int = 42) -> Transaction:
    return Transaction(xid, COMMIT, "0/16B3748", list(changes))


def meta(operation: str, **extra: Any) -> dict[str, Any]:
    return {
        "timestamp": "2024-05-06T07:08:09.123456Z",
        "record-type": "data",
        "operation": operation,
        "partition-key-type": "schema-table",
        "schema-name": "public",
        "table-name": "customers",
        **extra,
    }


DATA = {"id": 7, "name": "Ann", "score": "1.50", "active": True}


def test_insert_update_delete_load_with_defaults() -> None:
    b = builder()
    new = {**ROW, "name": "Bob"}
    messages = b.transaction(
        txn(
            RowChange("insert", CUSTOMERS, ROW),
            RowChange("update", CUSTOMERS, new, before=ROW),
            RowChange("delete", CUSTOMERS, {"id": "7"}),
        )
    )
    assert [m.key for m in messages] == ["public.customers"] * 3
    assert [body(m) for m in messages] == [
        {"data": DATA, "metadata": meta("insert")},
        {"data": {**DATA, "name": "Bob"}, "metadata": meta("update")},
        {"data": {"id": 7}, "metadata": meta("delete")},
    ]
    load = b.load(CUSTOMERS, ROW)
    assert body(load) == {"data": DATA, "metadata": meta("load")}
    assert load.key == "public.customers"


def test_json_is_tab_indented_and_json_unformatted_one_line() -> None:
    change = RowChange("insert", CUSTOMERS, ROW)
    formatted = builder().transaction(txn(change))[0].body.decode()
    assert formatted.startswith('{\n\t"data": {\n\t\t"id": 7,')
    unformatted = builder({"MessageFormat": "json-unformatted"}).transaction(txn(change))[0]
    assert unformatted.body.decode().startswith('{"data":{"id":7,"name":"Ann",')
    assert b"\n" not in unformatted.body
    assert json.loads(unformatted.body) == json.loads(formatted)


def test_include_null_and_empty_keeps_null_and_empty_columns() -> None:
    row = {**ROW, "name": ""}
    default = body(builder().load(CUSTOMERS, row))["data"]
    assert default == {"id": 7, "score": "1.50", "active": True}
    full = body(builder({"IncludeNullAndEmpty": True}).load(CUSTOMERS, row))["data"]
    assert full == {"id": 7, "name": "", "note": None, "score": "1.50", "active": True}


def test_transaction_details_partition_value_and_primary_key_partition() -> None:
    b = builder(
        {
            "IncludeTransactionDetails": True,
            "IncludePartitionValue": True,
            "PartitionIncludeSchemaTable": True,
        },
        settings={"TargetMetadata": {"ParallelApplyThreads": 4}},
    )
    first = b.transaction(txn(RowChange("insert", CUSTOMERS, ROW), xid=41))
    second = b.transaction(
        txn(RowChange("insert", CUSTOMERS, ROW), RowChange("delete", CUSTOMERS, {"id": "8"}))
    )
    assert [m.key for m in second] == ["public.customers.7", "public.customers.8"]
    details = {
        "commit-timestamp": "2024-05-06T07:08:08.000000Z",
        "stream-position": "0/16B3748",
    }
    assert body(first[0])["metadata"]["prev-transaction-id"] == 0
    assert body(second[1]) == {
        "data": {"id": 8},
        "metadata": {
            **meta("delete", **{"partition-key-type": "primary-key"}),
            "partition-key-value": "public.customers.8",
            "transaction-id": 42,
            "transaction-record-id": 2,
            "prev-transaction-id": 41,
            "prev-transaction-record-id": 1,
            **details,
        },
    }
    load = body(b.load(CUSTOMERS, ROW))["metadata"]
    assert "transaction-id" not in load


def test_insert_matches_the_guides_message_with_all_metadata() -> None:
    """Same keys in the same order, same JSON types as the guide's Kafka example."""
    sample = doc("dms-kafka-target/data-message-with-all-metadata.json")
    table = Table(
        "sbtest",
        "sbtest_x",
        (
            Column("id", "INT4", nullable=False),
            Column("fname", "WSTRING", 255),
            Column("lname", "WSTRING", 255),
            Column("REGION", "WSTRING", 1000),
        ),
        ("id",),
    )
    b = builder(
        {
            "IncludeTransactionDetails": True,
            "IncludePartitionValue": True,
            "PartitionIncludeSchemaTable": True,
        },
        settings={"TargetMetadata": {"ParallelApplyThreads": 2}},
    )
    row = {"id": "100000161", "fname": "val61s", "lname": "val61s", "REGION": "val61s"}
    message = body(b.transaction(txn(RowChange("insert", table, row)))[0])
    assert list(message) == list(sample)
    assert message["data"] == sample["data"]
    assert list(message["metadata"]) == list(sample["metadata"])
    for key, value in sample["metadata"].items():
        assert type(message["metadata"][key]) is type(value), key
    assert message["metadata"]["partition-key-value"] == sample["metadata"]["partition-key-value"]
    ts = message["metadata"]["timestamp"]
    assert len(ts) == len(sample["metadata"]["timestamp"]) and ts.endswith("Z")


def test_before_image_per_column_filter() -> None:
    new = {**ROW, "id": "8", "name": "Bob"}
    update = RowChange("update", CUSTOMERS, new, before=ROW)

    def before(column_filter: str, change: RowChange = update) -> Any:
        settings = {
            "BeforeImageSettings": {
                "EnableBeforeImage": True,
                "FieldName": "before-image",
                "ColumnFilter": column_filter,
            }
        }
        return body(builder(settings=settings).transaction(txn(change))[0])

    message = before("pk-only")
    assert list(message) == ["data", "before-image", "metadata"]
    assert message["before-image"] == {"id": 7}
    assert before("non-lob")["before-image"] == {"id": 7, **{k: DATA[k] for k in DATA if k != "id"}}
    assert before("all")["before-image"] == DATA
    # PostgreSQL without REPLICA IDENTITY FULL gives no old row: the key is unchanged
    assert before("pk-only", RowChange("update", CUSTOMERS, new))["before-image"] == {"id": 8}
    insert = before("all", RowChange("insert", CUSTOMERS, ROW))
    assert "before-image" not in insert


def test_create_table_control_record_matches_the_guide() -> None:
    sample = doc("dms-kafka-target/control-message-create-table.json")
    table = Table(
        "sbtest",
        "sbtest_t1",
        (
            Column("id", "WSTRING", 512, nullable=False),
            Column("fname", "WSTRING", 255),
            Column("lname", "WSTRING", 255),
            Column("REGION", "WSTRING", 1000),
        ),
        ("id",),
    )
    message = builder({"IncludeControlDetails": True}).create_table(table)
    got = body(message)
    assert message.key == "TASKID"
    assert list(got) == list(sample)
    expected_def = {
        k: v for k, v in sample["control"]["table-def"].items() if k != "collation-name"
    }
    assert got["control"]["table-def"] == expected_def
    assert got["metadata"] == {**sample["metadata"], "timestamp": "2024-05-06T07:08:09.123456Z"}
    plain = body(builder().create_table(table))
    assert plain == {"metadata": got["metadata"]}


def test_add_column_needs_include_table_alter_operations() -> None:
    change = SchemaChange(
        "add-column",
        replace(CUSTOMERS, columns=(*CUSTOMERS.columns, Column("email", "STRING", 200))),
        COMMIT,
        "0/1",
        Column("email", "STRING", 200),
    )
    assert builder().schema_change(change) is None
    message = builder({"IncludeTableAlterOperations": True, "IncludeControlDetails": True})
    got = body(message.schema_change(change))
    assert got["metadata"]["record-type"] == "control"
    assert got["metadata"]["operation"] == "add-column"
    assert got["control"]["table-def"]["columns"]["email"] == {
        "type": "STRING",
        "length": 200,
        "nullable": True,
    }
    create = SchemaChange("create-table", CUSTOMERS, COMMIT, "0/2")
    assert body(builder().schema_change(create))["metadata"]["operation"] == "create-table"


def _rules(path: str) -> list[dict[str, Any]]:
    return [r for r in doc(path)["rules"] if r["rule-type"] == "object-mapping"]


def test_default_object_mapping_partitions_by_schema_and_table() -> None:
    """The guide's map-record-to-record example: PartitionKey Test.Customers, row as data."""
    customers = Table(
        "Test", "Customers", tuple(Column(c, "STRING") for c in ("FirstName", "StoreId")), ()
    )
    b = builder(rules=_rules("dms-kinesis-target/map-record-to-record-rule.json"))
    message = b.load(customers, {"FirstName": "Randy", "StoreId": "5"})
    assert message.key == "Test.Customers"
    assert body(message)["data"] == {"FirstName": "Randy", "StoreId": "5"}


CUSTOMER_COLUMNS = (
    "FirstName",
    "LastName",
    "StoreId",
    "HomeAddress",
    "HomePhone",
    "WorkAddress",
    "WorkPhone",
    "DateOfBirth",
)
RANDY = dict(
    zip(
        CUSTOMER_COLUMNS,
        (
            "Randy",
            "Marsh",
            "5",
            "221B Baker Street",
            "1234567890",
            "31 Spooner Street, Quahog",
            "9876543210",
            "02/29/1988",
        ),
        strict=True,
    )
)


def test_attribute_name_partition_key_and_attribute_mappings() -> None:
    table = Table("Test", "Customers", tuple(Column(c, "STRING") for c in CUSTOMER_COLUMNS), ())
    b = builder(
        {"IncludePartitionValue": True},
        rules=_rules("dms-kinesis-target/attribute-mapping-rule.json"),
    )
    message = b.load(table, RANDY)
    assert message.key == "Marsh, Randy"
    got = body(message)
    assert got["data"] == {
        "StoreId": "5",
        "DateOfBirth": "02/29/1988",
        "CustomerName": "Marsh, Randy",
        "ContactDetails": {
            "Home": {"Address": "221B Baker Street", "Phone": "1234567890"},
            "Work": {"Address": "31 Spooner Street, Quahog", "Phone": "9876543210"},
        },
    }
    assert got["metadata"]["partition-key-type"] == "attribute-name"
    assert got["metadata"]["partition-key-value"] == "Marsh, Randy"
    assert got["metadata"]["table-name"] == "CustomerData"


def test_constant_partition_key_and_record_to_document() -> None:
    table = Table("Test", "Customer", tuple(Column(c, "STRING") for c in CUSTOMER_COLUMNS), ())
    b = builder(rules=_rules("dms-kafka-target/constant-partition-key-rule.json"))
    message = b.load(table, RANDY)
    assert message.key == "ConstantPartitionKey"
    assert body(message)["data"]["_doc"] == {
        "StoreId": "5",
        "DateOfBirth": "02/29/1988",
        "CustomerName": "Randy,Marsh",
        "ContactDetails": {
            "Home": {"Address": "221B Baker Street", "Phone": "1234567890"},
            "Work": {"Address": "31 Spooner Street, Quahog", "Phone": "9876543210"},
        },
    }


def test_primary_key_partition_without_schema_table_prefix() -> None:
    rule = {
        "rule-type": "object-mapping",
        "rule-id": "2",
        "rule-name": "2",
        "rule-action": "map-record-to-record",
        "object-locator": {"schema-name": "public", "table-name": "customers"},
        "mapping-parameters": {"partition-key-type": "primary-key"},
    }
    message = builder({"IncludePartitionValue": True}, rules=[rule]).load(CUSTOMERS, ROW)
    assert message.key == "7"
    assert body(message)["metadata"]["partition-key-value"] == "7"


def test_unknown_message_format_is_refused() -> None:
    with pytest.raises(ValueError, match="MessageFormat"):
        builder({"MessageFormat": "avro"})
