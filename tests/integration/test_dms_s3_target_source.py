"""The DMS S3 target and source against moto's S3: object keys, file contents, batch cadence,
the lexical-order skip of the S3 source, checkpoint resume, and a target-to-source round trip."""

import json
import logging
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from harness.local.dms.changes import Column, RowChange, Table, Transaction
from harness.local.dms.context import TaskContext
from harness.local.dms.mapping import TableMapping
from harness.local.dms.sources.s3 import S3Source
from harness.local.dms.targets.s3 import S3Target
from harness.targets import Target
from tests.helpers import DOC_EXAMPLES, SELECT_ALL

pytestmark = pytest.mark.slow

DOC = DOC_EXAMPLES
MAPPING = TableMapping({"rules": [SELECT_ALL]})
ORDERS = Table(
    "public",
    "orders",
    (Column("id", "INT8", nullable=False), Column("note", "STRING"), Column("total", "NUMERIC")),
    ("id",),
)
ITEMS = Table("public", "items", (Column("id", "INT8"), Column("sku", "STRING")), ("id",))
COMMIT = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def _bucket(target: Target) -> str:
    name = f"dms-s3-{uuid.uuid4().hex[:12]}"
    target.aws.client("s3").create_bucket(Bucket=name)
    return name


def _objects(target: Target, bucket: str, prefix: str = "") -> dict[str, str]:
    s3 = target.aws.client("s3")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {
        o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().decode() for o in listed
    }


def _s3_target(target: Target, bucket: str, **settings: Any) -> S3Target:
    endpoint = {
        "EndpointIdentifier": "s3-target",
        "EndpointType": "TARGET",
        "EngineName": "s3",
        "S3Settings": {"BucketName": bucket, **settings},
    }
    return S3Target(TaskContext("task", "arn:aws:dms:task", endpoint, MAPPING, {}, target.aws))


def _s3_source(target: Target, bucket: str, definition: str, **settings: Any) -> S3Source:
    endpoint = {
        "EndpointIdentifier": "s3-source",
        "EndpointType": "SOURCE",
        "EngineName": "s3",
        "ExternalTableDefinition": definition,
        "S3Settings": {"BucketName": bucket, **settings},
    }
    return S3Source(TaskContext("task", "arn:aws:dms:task", endpoint, MAPPING, {}, target.aws))


def _definition(*tables: Table) -> str:
    """An external table definition of `tables`, their first column the key."""
    return json.dumps(
        {
            "TableCount": str(len(tables)),
            "Tables": [
                {
                    "TableName": t.name,
                    "TablePath": f"{t.schema}/{t.name}/",
                    "TableOwner": t.schema,
                    "TableColumns": [
                        {"ColumnName": c.name, "ColumnType": c.dms_type, "ColumnIsPk": str(i == 0)}
                        for i, c in enumerate(t.columns)
                    ],
                    "TableColumnsTotal": str(len(t.columns)),
                }
                for t in tables
            ],
        }
    )


def _order(op: str, id_: int, note: str | None, total: str = "1.50") -> RowChange:
    return RowChange(op, ORDERS, {"id": str(id_), "note": note, "total": total})  # type: ignore[arg-type]


def _txn(xid: int, *changes: RowChange) -> Transaction:
    return Transaction(xid, COMMIT, f"0/{xid}", list(changes))


def _put(target: Target, bucket: str, key: str, body: str) -> None:
    target.aws.client("s3").put_object(Bucket=bucket, Key=key, Body=body.encode())


# --- target ---------------------------------------------------------------------------------


def test_target_writes_load_files_then_one_cdc_file_per_table(local_target: Target) -> None:
    bucket = _bucket(local_target)
    target = _s3_target(local_target, bucket, BucketFolder="out")
    rows = [{"id": "1", "note": "first, with comma", "total": "9.99"}, {"id": "2", "note": None}]
    assert target.load_rows(ORDERS, rows) == 2
    target.apply(_txn(1, _order("insert", 3, "new")))
    target.apply(_txn(2, _order("update", 3, 'say "hi"', "2.00"), _order("insert", 4, "x")))
    target.apply(_txn(3, _order("delete", 1, "first, with comma", "9.99")))
    assert list(_objects(local_target, bucket)) == ["out/public/orders/LOAD00000001.csv"]
    target.flush()
    target.close()

    objects = _objects(local_target, bucket)
    load = objects.pop("out/public/orders/LOAD00000001.csv")
    assert load == '1,"first, with comma",9.99\n2,,\n'
    ((key, body),) = objects.items()
    assert key.startswith("out/public/orders/") and key.endswith(".csv")
    assert len(key.rsplit("/", 1)[1]) == len("20141029-1134010000.csv")
    assert body == (
        'I,3,new,1.50\nU,3,"say ""hi""",2.00\nI,4,x,1.50\nD,1,"first, with comma",9.99\n'
    )


def test_target_writes_a_file_per_batch_interval_while_changes_flow(
    local_target: Target,
) -> None:
    bucket = _bucket(local_target)
    target = _s3_target(local_target, bucket, CdcMaxBatchInterval="1")
    ages: list[float] = []  # per file: how old its batch was when the target said it was due
    opened: float | None = None  # just before the apply that opened the current batch
    filled = 0.0  # just after it
    deadline = time.monotonic() + 30
    xid = 0
    while len(ages) < 3:  # a change every 50 ms, however long each flush takes
        assert time.monotonic() < deadline, f"{len(ages)} files in 30 s"
        xid += 1
        before = time.monotonic()
        target.apply(_txn(xid, _order("insert", xid, "n")))
        if opened is None:
            opened, filled = before, time.monotonic()
        now = time.monotonic()
        due = target.due(now)
        # due exactly once the batch's first change is 1 s old (it was taken in between)
        assert due or now - filled < 1.0, f"not due {now - filled:.3f} s after the batch began"
        assert not due or now - opened >= 1.0, f"due {now - opened:.3f} s after it began"
        if due:
            target.flush()
            ages.append(now - opened)
            opened = None
        time.sleep(0.05)
    keys = list(_objects(local_target, bucket))
    assert len(keys) == len(ages) == 3, (keys, ages)
    assert keys == sorted(keys)


def test_target_min_file_size_forces_an_early_file(local_target: Target) -> None:
    bucket = _bucket(local_target)
    target = _s3_target(local_target, bucket, CdcMaxBatchInterval=60, CdcMinFileSize="1")
    xid = 0
    while not target.due(time.monotonic()):
        xid += 1
        target.apply(_txn(xid, _order("insert", xid, "padding" * 5)))
    assert 1024 / 60 < xid < 1024 / 40  # each row is ~50 characters
    target.flush()
    (body,) = _objects(local_target, bucket).values()
    assert body.count("\n") == xid and len(body) >= 1024


def test_target_preserve_transactions_writes_transaction_files(local_target: Target) -> None:
    bucket = _bucket(local_target)
    target = _s3_target(
        local_target, bucket, BucketFolder="f", CdcPath="cdc", PreserveTransactions="true"
    )
    item = RowChange("insert", ITEMS, {"id": "7", "sku": "A-1"})
    target.apply(_txn(1, _order("insert", 1, "a"), item, _order("update", 1, "b")))
    target.flush()
    target.apply(_txn(2, RowChange("delete", ITEMS, {"id": "7", "sku": "A-1"})))
    target.flush()
    objects = _objects(local_target, bucket)
    assert [k.split("/")[:2] for k in objects] == [["f", "cdc"], ["f", "cdc"]]
    assert all(k.split("/")[2].startswith("CDC_TXN-") for k in objects)
    assert list(objects.values()) == [
        "I,orders,public,1,a,1.50\nI,items,public,7,A-1\nU,orders,public,1,b,1.50\n",
        "D,items,public,7,A-1\n",
    ]


def test_a_stalled_upload_lands_after_a_later_file_and_the_source_skips_it(
    local_target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    """The late CDC file fault: the next file's upload stalls while later ones go through,
    and completes at the first flush after the stall that follows a later file; a task
    reading the folder has read past it by then and skips it."""
    bucket = _bucket(local_target)
    settings = {"BucketFolder": "lake", "CdcPath": "cdc"}
    target = _s3_target(local_target, bucket, PreserveTransactions=True, **settings)
    source = _s3_source(local_target, bucket, _definition(ORDERS), **settings)
    source.open(None, full_load=False)

    target.stall(True)
    target.apply(_txn(1, _order("insert", 1, "held")))
    target.flush()
    assert target.holding and _objects(local_target, bucket) == {}
    target.apply(_txn(2, _order("insert", 2, "passes")))
    target.flush()
    target.stall(False)
    assert [t.changes[0].row["id"] for t in source.read(2.0)] == ["2"]  # type: ignore[union-attr]
    target.apply(_txn(3, _order("insert", 3, "after")))
    target.flush()

    assert not target.holding
    held, *later = sorted(_objects(local_target, bucket))
    assert len(later) == 2 and _objects(local_target, bucket)[held].startswith("I,orders,public,1,")
    with caplog.at_level(logging.WARNING, logger="harness.local.dms"):
        got = source.read(2.0)
    assert [t.changes[0].row["id"] for t in got] == ["3"]  # type: ignore[union-attr]
    assert any(held in r.getMessage() for r in caplog.records if r.name == "harness.local.dms")
    source.close()
    target.close()


def test_a_stall_with_no_file_meanwhile_waits_for_a_later_file_then_a_batch(
    local_target: Target,
) -> None:
    bucket = _bucket(local_target)
    target = _s3_target(local_target, bucket, CdcPath="cdc", PreserveTransactions=True)
    target.stall(True)
    target.apply(_txn(1, _order("insert", 1, "held")))
    target.flush()
    target.stall(False)
    target.apply(_txn(2, _order("insert", 2, "first after")))
    target.flush()
    assert target.holding and len(_objects(local_target, bucket)) == 1
    target.apply(_txn(3, _order("insert", 3, "second after")))
    target.flush()
    assert not target.holding and len(_objects(local_target, bucket)) == 3
    target.stall(True)
    target.apply(_txn(4, _order("insert", 4, "held at the end")))
    target.flush()
    target.close()  # a stalled upload completes before the client goes
    assert len(_objects(local_target, bucket)) == 4


# --- source ---------------------------------------------------------------------------------


def _employee_source(local_target: Target, bucket: str) -> S3Source:
    definition = (DOC / "dms-s3-source/external-table-definition.json").read_text()
    return _s3_source(local_target, bucket, definition, BucketFolder="src", CdcPath="changes")


def test_source_reads_load_files_and_cdc_files(local_target: Target) -> None:
    bucket = _bucket(local_target)
    load = (DOC / "dms-s3-source/full-load-employee-data.csv").read_text()
    _put(local_target, bucket, "src/hr/employee/LOAD001.csv", load)
    _put(local_target, bucket, "src/hr/employee/LOAD002.csv", "I,105,Li,Ann,2020-01-01,\n")
    cdc = (DOC / "dms-s3-source/cdc-employee-rows.csv").read_text()
    _put(local_target, bucket, "src/changes/CDC00001.csv", cdc)
    source = _employee_source(local_target, bucket)
    source.open(None, full_load=True)

    ((table, rows),) = list(source.full_load())
    rows = list(rows)
    assert (table.schema, table.name, table.primary_key) == ("hr", "employee", ("Id",))
    assert [r["Id"] for r in rows] == ["101", "102", "103", "104", "105"]
    assert rows[0] == {
        "Id": "101",
        "LastName": "Smith",
        "FirstName": "Bob",
        "HireDate": "2014-06-04",
        "OfficeLocation": "New York",
    }
    assert rows[4]["OfficeLocation"] is None

    (txn,) = source.read(2.0)
    assert isinstance(txn, Transaction)
    assert txn.position == "src/changes/CDC00001.csv" and txn.commit_ts.tzinfo is not None
    assert [(c.op, c.row["OfficeLocation"]) for c in txn.changes] == [
        ("insert", "New York"),
        ("update", "Los Angeles"),
        ("update", "Dallas"),
        ("delete", "Dallas"),
    ]
    assert source.read(0.3) == []
    source.close()


def test_source_skips_a_cdc_file_that_arrives_out_of_lexical_order(
    local_target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = _bucket(local_target)
    source = _employee_source(local_target, bucket)
    source.open(None, full_load=False)
    _put(local_target, bucket, "src/changes/CDC00002.csv", "I,employee,hr,2,B,b,,x\n")
    assert [t.position for t in source.read(2.0)] == ["src/changes/CDC00002.csv"]  # type: ignore[union-attr]
    _put(local_target, bucket, "src/changes/CDC00001.csv", "I,employee,hr,1,A,a,,x\n")
    with caplog.at_level(logging.WARNING, logger="harness.local.dms"):
        assert source.read(0.6) == []
        assert source.read(0.3) == []
    warnings = [r for r in caplog.records if r.name == "harness.local.dms"]
    assert len(warnings) == 1 and "CDC00001.csv" in warnings[0].getMessage()
    _put(local_target, bucket, "src/changes/CDC00003.csv", "D,employee,hr,2,B,b,,x\n")
    assert [t.position for t in source.read(2.0)] == ["src/changes/CDC00003.csv"]  # type: ignore[union-attr]


def test_source_resumes_after_its_checkpoint(local_target: Target) -> None:
    bucket = _bucket(local_target)
    for n in (1, 2):
        _put(local_target, bucket, f"src/changes/CDC0000{n}.csv", f"I,employee,hr,{n},L,F,,x\n")
    first = _employee_source(local_target, bucket)
    first.open(None, full_load=False)
    txns = first.read(2.0)
    assert [t.changes[0].row["Id"] for t in txns] == ["1", "2"]  # type: ignore[union-attr]
    first.confirm(txns[0].position)  # type: ignore[union-attr]
    checkpoint = first.checkpoint()
    first.close()
    assert checkpoint == "src/changes/CDC00001.csv"

    second = _employee_source(local_target, bucket)
    second.open(checkpoint, full_load=False)
    assert [t.position for t in second.read(2.0)] == ["src/changes/CDC00002.csv"]  # type: ignore[union-attr]
    _put(local_target, bucket, "src/changes/CDC00003.csv", "U,employee,hr,1,L,G,,x\n")
    (txn,) = second.read(2.0)
    assert txn.changes[0].op == "update" and txn.changes[0].row["FirstName"] == "G"  # type: ignore[union-attr]
    second.drop()
    second.close()


def test_round_trip_target_transaction_files_read_back_by_the_source(
    local_target: Target,
) -> None:
    bucket = _bucket(local_target)
    settings = {"BucketFolder": "lake", "CdcPath": "cdc"}
    target = _s3_target(local_target, bucket, PreserveTransactions=True, **settings)
    load_rows = [{"id": "1", "note": "a,b", "total": "1.00"}]
    target.load_rows(ORDERS, load_rows)
    sent = [
        _txn(1, _order("insert", 2, 'q"uote'), RowChange("insert", ITEMS, {"id": "9", "sku": "s"})),
        _txn(2, _order("update", 2, "line\nbreak", "3.25")),
        _txn(3, _order("delete", 1, "a,b", "1.00"), _order("insert", 3, None)),
    ]
    target.apply(sent[0])
    target.flush()
    for txn in sent[1:]:
        target.apply(txn)
    target.flush()
    target.close()

    source = _s3_source(local_target, bucket, _definition(ORDERS, ITEMS), **settings)
    source.open(None, full_load=True)
    loaded = {t.name: list(rows) for t, rows in source.full_load()}
    assert loaded == {"orders": load_rows, "items": []}

    got: list[Transaction] = []
    deadline = time.monotonic() + 5
    while len(got) < 2 and time.monotonic() < deadline:
        got += source.read(1.0)  # type: ignore[arg-type]
    source.close()
    # One transaction per flushed file: the second file holds transactions 2 and 3.
    assert [len(t.changes) for t in got] == [2, 3]
    received = [(c.op, c.table.name, c.row) for t in got for c in t.changes]
    assert received == [(c.op, c.table.name, c.row) for t in sent for c in t.changes]
