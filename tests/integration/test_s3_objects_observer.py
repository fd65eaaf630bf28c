"""The S3 objects observer reads DMS CSV, MSK Connect sink and Firehose objects from moto:
every object once, in key order, new families and late objects included, errors by key."""

import csv
import io
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from harness.load.row_image import row_digest
from harness.load.schema import COLUMNS
from harness.local.firehose.engine import FirehoseEngine
from harness.local.mskconnect.json_format import JSON_CONVERTER, STRING_CONVERTER, render
from harness.observe import read_observations
from harness.observe.s3_objects import S3ObjectsObserver
from tests.conftest import BareCloud
from tests.helpers import unique, wait_for

pytestmark = pytest.mark.slow

AT = datetime(2024, 5, 6, 7, 8, 9, 250000, tzinfo=UTC)
NO_RELIST = 600.0
"""relist_s for tests where only the incremental listings may find objects."""


def _widget(key: int, version: int, name: str = "w") -> dict[str, Any]:
    return {
        "id": key,
        "version": version,
        "written_at": AT,
        "name": name,
        "price": Decimal("1.2500"),
        "produced_at": None,
        "attrs": {"k": [1, 2], "s": "ü"},
        "notes": None,
    }


def _order(key: int, version: int) -> dict[str, Any]:
    return {
        "id": key,
        "version": version,
        "written_at": AT,
        "widget_id": 1,
        "quantity": 2,
        "amount": Decimal("3.5000"),
        "status": "paid",
        "meta": None,
    }


def _text(value: Any) -> str | None:
    """A value as DMS writes it: timestamps in UTC with six digits, JSON as its text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _csv(*rows: list[Any]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def _fields(table: str, row: dict[str, Any]) -> list[str]:
    return [_text(row[c]) or "" for c in COLUMNS[table]]


def _message(operation: str, table: str, row: dict[str, Any]) -> dict[str, Any]:
    """A DMS Kafka/Kinesis message: integers typed, other columns as text."""
    data = {c: v if isinstance(v, int) else _text(v) for c, v in row.items()}
    metadata = {
        "timestamp": "2024-05-06T07:08:09.250000Z",
        "record-type": "data",
        "operation": operation,
        "partition-key-type": "schema-table",
        "schema-name": "public",
        "table-name": table,
    }
    return {"data": data, "metadata": metadata}


CREATE_TABLE = {
    "control": {},
    "metadata": {"record-type": "control", "operation": "create-table", "table-name": "widgets"},
}


def _seen(table: str, row: dict[str, Any], op: str, position: str) -> tuple[Any, ...]:
    """An observation as (table, key, version, op, position, digest)."""
    if op == "delete":
        return (table, str(row["id"]), row["version"] + 1, op, position, "")
    return (table, str(row["id"]), row["version"], op, position, row_digest(table, row))


def _logged(path: Path) -> list[tuple[Any, ...]]:
    return [
        (o.table, o.key, o.version, o.op, o.position, o.digest) for o in read_observations(path)
    ]


@pytest.fixture
def bucket(bare_cloud: BareCloud) -> str:
    name = unique("s3-observer")
    bare_cloud.aws.client("s3").create_bucket(Bucket=name)
    return name


class _Run:
    """An observer on `bucket` and a way to put objects beside it."""

    def __init__(self, cloud: BareCloud, bucket: str, observer: S3ObjectsObserver) -> None:
        self.s3 = cloud.aws.client("s3")
        self.bucket = bucket
        self.observer = observer

    def put(self, key: str, body: bytes) -> int:
        """Put an object; the time before the put."""
        before = time.time_ns()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return before

    def wait(self, observed: int) -> None:
        wait_for(lambda: self.observer.observed >= observed, f"{observed} observations", 5)


@pytest.fixture
def run(bare_cloud: BareCloud, bucket: str, tmp_path: Path, request: Any) -> Iterator[_Run]:
    """Parametrized indirectly with (prefix, format, relist_s, format options)."""
    prefix, fmt, relist_s, options = request.param
    observer = S3ObjectsObserver(
        "store", tmp_path / "obs.csv", bare_cloud.aws, bucket, prefix, fmt, **options
    )
    observer.relist_s = relist_s
    yield _Run(bare_cloud, bucket, observer)
    observer.stop()


@pytest.mark.parametrize(
    "run", [("events/", "dms_csv", NO_RELIST, {"include_op_for_full_load": True})], indirect=True
)
def test_dms_csv_load_and_transaction_files_are_read_in_key_order(run: _Run) -> None:
    w1, w2, o1 = _widget(1, 1, 'a, "quoted"\nname'), _widget(2, 1), _order(1, 1)
    w1_v2 = {**w1, "version": 2, "notes": "now with notes"}
    widgets, orders = (
        "events/public/widgets/LOAD00000001.csv",
        "events/public/orders/LOAD00000001.csv",
    )
    txn1, txn2 = (
        "events/cdc/CDC_TXN-20240506070809001.csv",
        "events/cdc/CDC_TXN-20240506070810001.csv",
    )
    run.put(widgets, _csv(["I", *_fields("widgets", w1)]))
    run.put(orders, _csv(["I", *_fields("orders", o1)]))
    run.put(
        txn1,
        _csv(
            ["I", "widgets", "public", *_fields("widgets", w2)],
            ["I", "awsdms_status", "public", "1"],
            ["U", "widgets", "public", *_fields("widgets", w1_v2)],
        ),
    )
    run.put("events/cdc/readme.txt", b"not data")
    run.put("other/public/widgets/LOAD00000001.csv", b"outside the prefix")
    run.observer.start()
    run.wait(4)
    # Sorts before the newest key read (a LOAD file): only its family's listing finds it.
    put_ns = run.put(txn2, _csv(["D", "widgets", "public", *_fields("widgets", w2)]))
    run.wait(5)
    run.observer.stop()

    assert run.observer.error is None
    assert _logged(run.observer.log_path) == [
        _seen("widgets", w2, "upsert", f"{txn1}:1"),
        _seen("widgets", w1_v2, "upsert", f"{txn1}:3"),
        _seen("orders", o1, "upsert", f"{orders}:1"),
        _seen("widgets", w1, "upsert", f"{widgets}:1"),
        _seen("widgets", w2, "delete", f"{txn2}:1"),
    ]
    last = read_observations(run.observer.log_path)[-1]
    assert put_ns <= last.seen_ns <= time.time_ns()
    assert run.observer.late_objects == 0
    assert run.observer.state[("widgets", "2")] == (2, False)


@pytest.mark.parametrize("run", [("events/", "dms_csv", 0.2, {})], indirect=True)
def test_a_late_object_is_read_and_counted_a_new_family_is_not_late(run: _Run) -> None:
    table = "events/public/widgets/"
    puts = [
        (f"{table}LOAD00000001.csv", []),
        (f"{table}20240506-0708090002.csv", ["I"]),  # the CDC family sorts before LOAD: not late
        (f"{table}20240506-0708090003.csv", ["I"]),
        (f"{table}20240506-0708090001.csv", ["I"]),  # lands after ...0002 and ...0003: late
    ]
    rows = [_widget(k, 1) for k in range(1, len(puts) + 1)]
    run.observer.start()
    for count, ((key, op), row) in enumerate(zip(puts, rows, strict=True), 1):
        run.put(key, _csv([*op, *_fields("widgets", row)]))
        run.wait(count)
    run.observer.stop()

    assert run.observer.error is None
    assert _logged(run.observer.log_path) == [
        _seen("widgets", row, "upsert", f"{key}:1")
        for (key, _), row in zip(puts, rows, strict=True)
    ]
    assert run.observer.late_objects == 1


@pytest.mark.parametrize("run", [("topics/", "dms_json_lines", NO_RELIST, {})], indirect=True)
def test_msk_connect_sink_objects_decode_both_converters_line_by_line(run: _Run) -> None:
    w1, w2 = _widget(1, 1), _widget(2, 3, "tab\tand\nnewline")
    as_bytes = [
        json.dumps(m, indent="\t").encode()
        for m in (CREATE_TABLE, _message("insert", "widgets", w1), _message("load", "widgets", w2))
    ]
    string_lines = b"".join(render(v, STRING_CONVERTER) for v in as_bytes)
    run.put("topics/dms/partition=0/dms+0+0000000000.json", string_lines)
    run.put("topics/dms/partition=0/dms+0+0000000000.keys.json", b'"public.widgets"\n')
    run.put(
        "topics/dms/partition=1/dms+1+0000000000.json",
        render(
            json.dumps(_message("update", "widgets", {**w1, "version": 2})).encode(), JSON_CONVERTER
        ),
    )
    run.observer.start()
    run.wait(3)
    # partition 0's next object sorts before partition 1's: found by its family's listing.
    late_key = "topics/dms/partition=0/dms+0+0000000003.json"
    run.put(
        late_key, render(json.dumps(_message("delete", "widgets", w2)).encode(), JSON_CONVERTER)
    )
    run.wait(4)
    run.observer.stop()

    assert run.observer.stats().control_records == {"create-table": 1}
    assert run.observer.error is None
    assert _logged(run.observer.log_path) == [
        _seen("widgets", w1, "upsert", "topics/dms/partition=0/dms+0+0000000000.json:2"),
        _seen("widgets", w2, "upsert", "topics/dms/partition=0/dms+0+0000000000.json:3"),
        _seen(
            "widgets",
            {**w1, "version": 2},
            "upsert",
            "topics/dms/partition=1/dms+1+0000000000.json:1",
        ),
        _seen("widgets", w2, "delete", f"{late_key}:1"),
    ]


def test_firehose_objects_split_concatenated_messages(
    bare_cloud: BareCloud, bucket: str, tmp_path: Path
) -> None:
    firehose = bare_cloud.aws.client("firehose")
    stream = unique("fh")
    firehose.create_delivery_stream(
        DeliveryStreamName=stream,
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": f"arn:aws:s3:::{bucket}",
            "Prefix": "archive/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
        },
    )
    rows = [_widget(1, 1), _order(1, 1), _widget(1, 1)]
    messages = [
        _message("insert", "widgets", rows[0]),
        _message("insert", "orders", rows[1]),
        _message("delete", "widgets", rows[2]),
    ]
    records = [{"Data": json.dumps(m, indent="\t").encode()} for m in messages]
    engine = FirehoseEngine(bare_cloud.aws)  # the local engine writes Firehose's objects
    engine.start()
    try:
        firehose.put_record_batch(DeliveryStreamName=stream, Records=records)  # one object
        s3 = bare_cloud.aws.client("s3")
        wait_for(
            lambda: s3.list_objects_v2(Bucket=bucket, Prefix="archive/2").get("Contents"),
            "the Firehose object",
            10,
        )
    finally:
        engine.stop()
    delimited = "archive/manual/lines.json"
    s3.put_object(
        Bucket=bucket,
        Key=delimited,
        Body=b"\n".join(json.dumps(m).encode() for m in [CREATE_TABLE, messages[1]]) + b"\n",
    )
    (delivered,) = [
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="archive/2")["Contents"]
    ]
    assert s3.get_object(Bucket=bucket, Key=delivered)["Body"].read().count(b"}{") == 2

    observer = S3ObjectsObserver(
        "archive", tmp_path / "obs.csv", bare_cloud.aws, bucket, "archive/", "json_records"
    )
    observer.start()
    wait_for(lambda: observer.observed >= 4, "4 observations", 5)
    observer.stop()

    assert observer.error is None
    assert _logged(tmp_path / "obs.csv") == [
        _seen("widgets", rows[0], "upsert", f"{delivered}:1"),
        _seen("orders", rows[1], "upsert", f"{delivered}:2"),
        _seen("widgets", rows[2], "delete", f"{delivered}:3"),
        _seen("orders", rows[1], "upsert", f"{delimited}:2"),
    ]


@pytest.mark.parametrize(
    ("fmt", "body", "error"),
    [
        ("dms_csv", b'I,1,1,2024-05-06 07:08:09,w,,,,\nU,"1\n', "{key}:2: unexpected end of data"),
        (
            "dms_csv",
            b"I,1,1,2024-05-06 07:08:09,w,1.5x,,,\n",
            "{key}:1: widgets 1: widgets.price: cannot read '1.5x' as numeric: not a decimal",
        ),
        ("dms_csv", b"D,1,,,,,,,\n", "{key}:1: widgets 1 carries no version (the source needs"),
        ("dms_csv", b"I,1,1,2024-05-06 07:08:09,w,\xff,,,\n", "{key}: 'utf-8' codec can't decode"),
        ("json_records", b'{"data": {}, "metadata": {}}{"data": ', "{key}:2: Expecting value"),
        ("json_records", b"[1]", "{key}:1: not a DMS message (a JSON object)"),
    ],
)
def test_a_malformed_object_stops_the_observer_with_an_error_naming_it(
    bare_cloud: BareCloud, bucket: str, tmp_path: Path, fmt: str, body: bytes, error: str
) -> None:
    row = _widget(1, 1)
    good = {
        "dms_csv": _csv(["I", *_fields("widgets", row)]),
        "json_records": json.dumps(_message("insert", "widgets", row)).encode(),
    }
    s3 = bare_cloud.aws.client("s3")
    first, bad = (
        "p/public/widgets/20240506-0708090000.csv",
        "p/public/widgets/20240506-0708090001.csv",
    )
    s3.put_object(Bucket=bucket, Key=first, Body=good[fmt])
    s3.put_object(Bucket=bucket, Key=bad, Body=body)
    observer = S3ObjectsObserver("store", tmp_path / "obs.csv", bare_cloud.aws, bucket, "p/", fmt)
    observer.start()
    wait_for(lambda: observer.error, "the observer's error", 5)
    observer.stop()
    assert observer.error is not None
    assert observer.error.startswith("ValueError: " + error.format(key=bad)), observer.error


def test_unknown_formats_and_options_are_refused(bare_cloud: BareCloud, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown S3 object format 'parquet'"):
        S3ObjectsObserver("p", tmp_path / "a.csv", bare_cloud.aws, "b", format="parquet")
    with pytest.raises(TypeError, match="unexpected keyword argument 'include_op_for_full_load'"):
        S3ObjectsObserver(
            "p",
            tmp_path / "b.csv",
            bare_cloud.aws,
            "b",
            format="json_records",
            include_op_for_full_load=True,
        )
    with pytest.raises(ValueError, match="unknown message format 'avro'"):
        S3ObjectsObserver(
            "p", tmp_path / "c.csv", bare_cloud.aws, "b", format="json_records", message="avro"
        )
