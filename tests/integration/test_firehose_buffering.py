"""Firehose delivers to S3 as AWS does: per-stream buffers flushed on size or interval,
records concatenated in order, AWS's object keys. moto hands the records over; the local
Firehose engine (`harness.local.firehose`), run here beside the bare cloud, buffers them and
writes the objects through the S3 API."""

import gzip
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from harness.local.firehose.engine import FirehoseEngine
from tests.conftest import BareCloud
from tests.helpers import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.serial]

ROLE = "arn:aws:iam::123456789012:role/firehose"
MIB = 1024 * 1024
KEY = re.compile(
    r"(?P<prefix>.*?)(?P<dirs>\d{4}/\d{2}/\d{2}/\d{2})/(?P<stream>[\w-]+)-1-"
    r"(?P<time>\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?P<ext>\.gz)?"
)


@pytest.fixture(scope="module", autouse=True)
def engine(bare_cloud: BareCloud) -> Iterator[FirehoseEngine]:
    running = FirehoseEngine(bare_cloud.aws)
    running.start()
    yield running
    running.stop()


def _record(seq: int, size: int) -> bytes:
    """A record that says where it belongs: a 6-digit sequence number, then filler."""
    return f"{seq:06d}".encode() + bytes([65 + seq % 26]) * (size - 6)


def _stream(cloud: BareCloud, kind: str, destination: dict[str, Any]) -> str:
    """A new delivery stream writing to a new bucket of the same name."""
    name = f"fh-{uuid.uuid4().hex[:8]}"
    cloud.aws.client("s3").create_bucket(Bucket=name)
    config = {"RoleARN": ROLE, "BucketARN": f"arn:aws:s3:::{name}", **destination}
    cloud.aws.client("firehose").create_delivery_stream(
        DeliveryStreamName=name, DeliveryStreamType="DirectPut", **{kind: config}
    )
    return name


def _at_least(count: int, objects: dict[str, bytes]) -> dict[str, bytes] | None:
    return objects if len(objects) >= count else None


def _objects(cloud: BareCloud, bucket: str) -> dict[str, bytes]:
    s3 = cloud.aws.client("s3")
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def test_a_burst_within_the_size_arrives_as_one_object_after_the_interval(
    bare_cloud: BareCloud,
) -> None:
    interval = 2
    hints = {"SizeInMBs": 128, "IntervalInSeconds": interval}
    stream = bucket = _stream(
        bare_cloud,
        "ExtendedS3DestinationConfiguration",
        {"Prefix": "archive/", "BufferingHints": hints},
    )
    firehose = bare_cloud.aws.client("firehose")
    records = [_record(i, 40) for i in range(30)]
    started = time.time()
    firehose.put_record(DeliveryStreamName=stream, Record={"Data": records[0]})
    arrived_by = time.time()  # the first record arrived between `started` and now
    for data in records[1:]:
        firehose.put_record(DeliveryStreamName=stream, Record={"Data": data})
    early, listed_at = _objects(bare_cloud, bucket), time.time()
    if listed_at < started + interval:  # (however long the puts took) nothing may be there
        assert early == {}, "delivered before the interval"

    while not (objects := _objects(bare_cloud, bucket)) and time.time() - started < 3 * interval:
        time.sleep(0.05)
    seen = time.time()
    assert seen - started >= interval
    assert seen - arrived_by < 1.5 * interval  # held for the interval, not much longer
    assert list(objects.values()) == [b"".join(records)]
    match = KEY.fullmatch(next(iter(objects)))
    assert match is not None, next(iter(objects))
    assert (match["prefix"], match["stream"], match["ext"]) == ("archive/", stream, None)
    first = datetime.strptime(match["time"], "%Y-%m-%d-%H-%M-%S").replace(tzinfo=UTC)
    # the key's time is the first record's arrival, in whole seconds
    assert int(started) <= first.timestamp() <= arrived_by
    assert match["dirs"] == first.strftime("%Y/%m/%d/%H")


def test_a_burst_over_the_size_is_delivered_at_once_in_buffer_sized_objects(
    bare_cloud: BareCloud,
) -> None:
    hints = {"SizeInMBs": 1, "IntervalInSeconds": 900}
    stream = bucket = _stream(bare_cloud, "S3DestinationConfiguration", {"BufferingHints": hints})
    firehose = bare_cloud.aws.client("firehose")
    record_size = 32 * 1024
    records = [_record(i, record_size) for i in range(80)]  # 2.5 MiB
    for start in range(0, len(records), 20):
        batch = [{"Data": d} for d in records[start : start + 20]]
        assert (
            firehose.put_record_batch(DeliveryStreamName=stream, Records=batch)["FailedPutCount"]
            == 0
        )

    # delivered as each buffer fills, long before the interval
    full = wait_for(lambda: _at_least(2, _objects(bare_cloud, bucket)), "2 full objects", 10)
    assert len(full) == 2
    assert all(MIB <= len(body) < MIB + record_size for body in full.values())
    assert all(KEY.fullmatch(key) and key[:4].isdigit() for key in full), "no prefix"

    firehose.delete_delivery_stream(DeliveryStreamName=stream)  # delivers the rest
    objects = wait_for(lambda: _at_least(3, _objects(bare_cloud, bucket)), "the rest", 10)
    assert len(objects) == 3
    in_order = sorted(objects.values(), key=lambda body: int(body[:6]))
    assert b"".join(in_order) == b"".join(records)


def test_zero_interval_gzip_delimiter_and_prefix_expressions(bare_cloud: BareCloud) -> None:
    destination = {
        "Prefix": "logs/year=!{timestamp:yyyy}/!{firehose:random-string}/",
        "ErrorOutputPrefix": "errors/",
        "CompressionFormat": "GZIP",
        "BufferingHints": {"SizeInMBs": 5, "IntervalInSeconds": 0},
        "ProcessingConfiguration": {
            "Enabled": True,
            "Processors": [{"Type": "AppendDelimiterToRecord", "Parameters": []}],
        },
    }
    stream = bucket = _stream(bare_cloud, "ExtendedS3DestinationConfiguration", destination)
    firehose = bare_cloud.aws.client("firehose")
    firehose.put_record_batch(DeliveryStreamName=stream, Records=[{"Data": b"a"}, {"Data": b"b"}])
    firehose.put_record(DeliveryStreamName=stream, Record={"Data": b"c"})

    objects = wait_for(lambda: _at_least(2, _objects(bare_cloud, bucket)), "2 objects", 10)
    assert sorted(gzip.decompress(body) for body in objects.values()) == [b"a\nb\n", b"c\n"]
    year = datetime.now(UTC).year
    pattern = rf"logs/year={year}/[A-Za-z0-9]{{11}}/{stream}-1-[\d-]{{19}}-[0-9a-f-]{{36}}\.gz"
    assert all(re.fullmatch(pattern, key) for key in objects), list(objects)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"CompressionFormat": "Snappy"}, "CompressionFormat Snappy is not emulated locally"),
        ({"Prefix": "x/!{timestamp:EEE}/"}, "Prefix: timestamp pattern 'EEE' is not emulated"),
        ({"CustomTimeZone": "Mars/Olympus"}, "CustomTimeZone 'Mars/Olympus' is not a known"),
    ],
)
def test_what_is_not_emulated_is_refused_in_one_line(
    bare_cloud: BareCloud, setting: dict[str, str], message: str
) -> None:
    with pytest.raises(ClientError) as refused:
        _stream(bare_cloud, "ExtendedS3DestinationConfiguration", setting)
    assert refused.value.response["Error"]["Code"] == "InvalidArgumentException"
    assert message in refused.value.response["Error"]["Message"]


def test_a_failing_delivery_is_reported_and_retried(
    bare_cloud: BareCloud, engine: FirehoseEngine
) -> None:
    hints = {"SizeInMBs": 1, "IntervalInSeconds": 0}
    stream = bucket = _stream(bare_cloud, "S3DestinationConfiguration", {"BufferingHints": hints})
    s3 = bare_cloud.aws.client("s3")
    s3.delete_bucket(Bucket=bucket)
    bare_cloud.aws.client("firehose").put_record(DeliveryStreamName=stream, Record={"Data": b"x"})

    failures = wait_for(engine.failures, "the failure reported", 10)
    assert list(failures) == [f"Firehose delivery stream {stream}"]
    assert failures[f"Firehose delivery stream {stream}"].startswith(
        f"S3 delivery to {bucket} failing, retrying: "
    )
    s3.create_bucket(Bucket=bucket)  # the next retry delivers
    assert list(wait_for(lambda: _objects(bare_cloud, bucket), "the retry", 15).values()) == [b"x"]
    assert engine.failures() == {}
