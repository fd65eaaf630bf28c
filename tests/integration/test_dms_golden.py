"""Golden formats: one fixed sequence of source changes through every DMS target, compared
with expected files in tests/data/dms-golden written from the DMS guide's format description
(see that folder's README). Volatile fields (clock times, transaction ids, log positions,
file-name timestamps) are normalised first; everything else must match byte for byte.

Set CDCBENCH_WRITE_GOLDEN=1 to rewrite the expected files from the engine's output, then
review the diff against the guide before committing it.
"""

import json
import os
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest

from harness.local.kafka_broker import KafkaBroker
from harness.targets import Target
from tests.helpers import DOC_EXAMPLES
from tests.integration import dms_support as dms

pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parent.parent / "data" / "dms-golden"

# The employee table of the guide's S3 examples, on PostgreSQL.
CREATE = """
CREATE SCHEMA hr;
CREATE TABLE hr.employee (
  id bigint PRIMARY KEY, lastname text, firstname text, hiredate date, officelocation text
);
ALTER TABLE hr.employee REPLICA IDENTITY FULL;
INSERT INTO hr.employee VALUES (100, 'Doe', 'Jane', '2010-01-01', 'Boston');
"""
CHANGES = [
    "INSERT INTO hr.employee VALUES (101, 'Smith', 'Bob', '2014-06-04', 'New York')",
    "UPDATE hr.employee SET hiredate = '2015-10-08', officelocation = 'Los Angeles' WHERE id = 101",
    "UPDATE hr.employee SET hiredate = '2017-03-13', officelocation = 'Dallas' WHERE id = 101",
    "DELETE FROM hr.employee WHERE id = 101",
    [
        "INSERT INTO hr.employee VALUES (102, 'Roe', 'Ann, Jr.', '2018-01-01', 'Quote \"Q\"')",
        "UPDATE hr.employee SET officelocation = 'Denver' WHERE id = 100",
    ],
    "ABORT INSERT INTO hr.employee VALUES (103, 'Never', 'Seen', '2019-01-01', 'Nowhere')",
    "ALTER TABLE hr.employee ADD COLUMN email text",
    "INSERT INTO hr.employee VALUES (104, 'Poe', 'Ed', '2020-02-02', 'Baltimore', 'ed@x.org')",
]
STREAM_SETTINGS = {
    "MessageFormat": "json-unformatted",
    "IncludeTransactionDetails": True,
    "IncludePartitionValue": True,
    "IncludeTableAlterOperations": True,
    "IncludeControlDetails": True,
}
_TS = re.compile(r'"(timestamp|commit-timestamp)":"[^"]+"')
_POS = re.compile(r'"stream-position":"[^"]+"')


@pytest.fixture(scope="module")
def kafka(shared_tmp: Path) -> Any:
    broker = KafkaBroker(shared_tmp / "kafka-golden")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def golden_run(local_target: Target, kafka: KafkaBroker) -> dict[str, Any]:
    """Run the sequence once with one task per target kind; return each output."""
    aws, dsn = local_target.aws, local_target.source_dsn
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(CREATE)
    aws.client("s3").create_bucket(Bucket="golden")
    aws.client("kinesis").create_stream(StreamName="golden", ShardCount=1)
    stream = aws.client("kinesis").describe_stream(StreamName="golden")["StreamDescription"]
    # One CDC file: the whole sequence commits well within one batch interval.
    s3 = {"BucketName": "golden", "ServiceAccessRoleArn": dms.ROLE, "CdcMaxBatchInterval": 3}
    endpoints = {
        "s3": dms.target_endpoint(local_target, "g-s3", "s3", BucketFolder="tables", **s3),
        "s3txn": dms.target_endpoint(
            local_target,
            "g-s3txn",
            "s3",
            BucketFolder="txn",
            PreserveTransactions=True,
            CdcPath="cdc",
            **s3,
        ),
        "kinesis": dms.target_endpoint(
            local_target,
            "g-kinesis",
            "kinesis",
            StreamArn=stream["StreamARN"],
            ServiceAccessRoleArn=dms.ROLE,
            **STREAM_SETTINGS,
        ),
        "kafka": dms.target_endpoint(
            local_target,
            "g-kafka",
            "kafka",
            Broker=kafka.bootstrap,
            Topic="golden",
            **STREAM_SETTINGS,
        ),
        "dynamodb": dms.target_endpoint(
            local_target, "g-ddb", "dynamodb", ServiceAccessRoleArn=dms.ROLE
        ),
    }
    source = dms.source_endpoint(local_target, "g-src")
    tasks = [
        dms.create_task(local_target, f"golden-{k}", source, arn, [dms.selection("hr", "employee")])
        for k, arn in endpoints.items()
    ]
    for arn in tasks:
        dms.start(local_target, arn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for step in CHANGES:
            if isinstance(step, list):
                with conn.transaction():
                    for statement in step:
                        conn.execute(statement)  # type: ignore[arg-type]
            elif step.startswith("ABORT "):
                with conn.transaction(force_rollback=True):
                    conn.execute(step.removeprefix("ABORT "))  # type: ignore[arg-type]
            else:
                conn.execute(step)  # type: ignore[arg-type]

    def complete() -> dict[str, Any] | None:
        out = {
            "s3": dms.s3_objects(local_target, "golden", "tables/"),
            "s3txn": dms.s3_objects(local_target, "golden", "txn/"),
            "kinesis": dms.kinesis_messages(local_target, "golden"),
            "kafka": dms.kafka_messages(kafka.bootstrap, "golden"),
            "dynamodb": aws.client("dynamodb").scan(TableName="employee")["Items"],
        }
        done = all("104" in json.dumps(v) for v in out.values())
        return out if done else None

    found = dms.eventually(complete, timeout_s=30)
    assert found, "not every target received the whole sequence"
    for arn in tasks:
        dms.stop(local_target, arn)
    return dict(found)


def _compare(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("CDCBENCH_WRITE_GOLDEN"):
        path.write_text(actual)
    assert actual == path.read_text(), f"{name} differs from the golden file"


def _s3_listing(objects: dict[str, str]) -> str:
    """Object names with timestamps shown as their pattern, then each body."""
    parts = []
    for key, body in objects.items():
        shown = re.sub(r"/\d{8}-\d{10}\.csv$", "/<yyyymmdd-hhmmssSSSS>.csv", key)
        shown = re.sub(r"CDC_TXN-\d{17}\.csv$", "CDC_TXN-<yyyyMMddHHmmssSSS>.csv", shown)
        parts.append(f"== {shown}\n{body}")
    return "".join(parts)


def _messages(messages: list[dict[str, Any]]) -> str:
    """One message per line, clock times and log positions replaced, transaction ids
    renumbered from 1 in order of appearance."""
    ids: dict[int, int] = {0: 0}
    lines = []
    for message in messages:
        meta = message["metadata"]
        for key in ("transaction-id", "prev-transaction-id"):
            if key in meta:
                meta[key] = ids.setdefault(meta[key], len(ids))
        text = json.dumps(message, separators=(",", ":"))
        text = _TS.sub(lambda m: f'"{m.group(1)}":"<{m.group(1)}>"', text)
        lines.append(_POS.sub('"stream-position":"<lsn>"', text))
    return "\n".join(lines) + "\n"


def test_s3_per_table_files(golden_run: dict[str, Any]) -> None:
    _compare("s3-tables.txt", _s3_listing(golden_run["s3"]))


def test_s3_cdc_rows_have_the_guides_shape(golden_run: dict[str, Any]) -> None:
    """The guide's CDC example: op first, U rows the after-image, D the row before delete."""
    doc = (DOC_EXAMPLES / "dms-s3-target" / "cdc-employee-rows.csv").read_text().splitlines()
    cdc = "".join(v for k, v in golden_run["s3"].items() if "LOAD" not in k).splitlines()
    ours = [line.split(",") for line in cdc[:4]]
    theirs = [line.split(",") for line in doc]
    assert [r[0] for r in ours] == [r[0] for r in theirs] == ["I", "U", "U", "D"]
    assert [len(r) for r in ours] == [len(r) for r in theirs]
    assert ours[3][1:] == ours[2][1:], "a D row carries the last image of the row"


def test_s3_transaction_files(golden_run: dict[str, Any]) -> None:
    _compare("s3-transactions.txt", _s3_listing(golden_run["s3txn"]))


def test_kinesis_messages(golden_run: dict[str, Any]) -> None:
    _compare("stream-messages.jsonl", _messages(golden_run["kinesis"]))


def test_kafka_messages_match_kinesis(golden_run: dict[str, Any]) -> None:
    _compare("stream-messages.jsonl", _messages(golden_run["kafka"]))


def test_dynamodb_items(golden_run: dict[str, Any]) -> None:
    items = sorted(golden_run["dynamodb"], key=lambda i: i["id"]["N"])
    _compare("dynamodb-items.json", json.dumps(items, indent=1, sort_keys=True) + "\n")
