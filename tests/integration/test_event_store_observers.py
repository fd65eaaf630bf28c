"""The event store's observers on a real (moto) table in the article's layout: its stream
shows every event put, retracts an event written over by another and ignores a rewrite of
the same event; each index is read by Query per partition value, a wide read reading back a
partition holding older items than it has seen, the last poll reading the partitions whole."""

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from harness.load.row_image import row_digest
from harness.observe import read_observations
from harness.observe.base import RETRACTED, Observer
from harness.observe.dynamodb_events import DynamoDBEventsObserver
from harness.observe.dynamodb_index import DynamoDBIndexObserver
from harness.targets import Target
from tests.helpers import wait_for

pytestmark = pytest.mark.slow

_S = {"AttributeType": "S"}


def _event_table(target: Target) -> tuple[str, str]:
    name = f"event-{uuid.uuid4().hex[:8]}"
    dynamodb = target.aws.client("dynamodb")
    index = [{"AttributeName": "Timestamp", "KeyType": "RANGE"}]
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": a, **_S} for a in ("RequestId", "Timestamp", "Type", "Source")
        ],
        KeySchema=[
            {"AttributeName": "RequestId", "KeyType": "HASH"},
            {"AttributeName": "Timestamp", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": f"{attribute}-Index",
                "KeySchema": [{"AttributeName": attribute, "KeyType": "HASH"}, *index],
                "Projection": {"ProjectionType": "ALL"},
            }
            for attribute in ("Type", "Source")
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    return name, str(dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"])


def _item(
    txid: int, timestamp: str, key: str, version: int, kind: str = "UPDATE"
) -> dict[str, Any]:
    data = {"id": {"N": key}, "version": {"N": str(version)}, "name": {"S": f"n{version}"}}
    return {
        "RequestId": {"S": str(txid)},
        "Timestamp": {"S": timestamp},
        "Id": {"S": key},
        "Type": {"S": kind},
        "Source": {"S": "widgets"},
        "Data": {"M": data},
    }


def _now(ago_s: float = 0.0) -> str:
    """The `Timestamp` of now, or of `ago_s` seconds ago."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - ago_s))


def _observe(observer: Observer, until: int) -> list[tuple[str, int, str, int]]:
    observer.start()
    try:
        wait_for(lambda: observer.observed >= until, "the observer to see the events")
    finally:
        observer.stop()
    assert observer.error is None
    return [(o.key, o.version, o.op, o.txid) for o in read_observations(observer.log_path)]


def _partitions_read(queries: list[dict[str, Any]], kind: str) -> list[str]:
    """The partition values of the index Queries `queries` (their parameters) of `kind`:
    "count" (Select COUNT), or "back" (reading items from over 200 s back)."""
    long_ago = _now(ago_s=200)
    return [
        query["ExpressionAttributeValues"][":v"]["S"]
        for query in queries
        if (
            query.get("Select") == "COUNT"
            if kind == "count"
            else query.get("Select") != "COUNT"
            and query["ExpressionAttributeValues"].get(":t0", {}).get("S", "~") < long_ago
        )
    ]


def test_the_stream_retracts_an_event_written_over_by_another(
    local_target: Target, tmp_path: Path
) -> None:
    table, stream = _event_table(local_target)
    dynamodb = local_target.aws.client("dynamodb")
    stamp = _now()
    dynamodb.put_item(TableName=table, Item=_item(5, stamp, "1", 2))
    dynamodb.put_item(TableName=table, Item=_item(5, stamp, "1", 2))  # redelivered: same event
    dynamodb.put_item(TableName=table, Item=_item(5, stamp, "2", 1, "INSERT"))  # same key
    dynamodb.put_item(TableName=table, Item=_item(6, stamp, "1", 3))

    seen = _observe(
        DynamoDBEventsObserver("events", tmp_path / "o.csv", local_target.aws, stream), 4
    )

    assert seen == [
        ("1", 2, "upsert", 5),
        ("1", 2, RETRACTED, 5),
        ("2", 1, "upsert", 5),
        ("1", 3, "upsert", 6),
    ]
    logged = read_observations(tmp_path / "o.csv")
    assert (
        logged[0].digest
        == logged[1].digest
        == row_digest("widgets", {"id": 1, "version": 2, "name": "n2"})
    )


def _index_observer(
    target: Target, tmp_path: Path, values: list[str], **options: float
) -> tuple[DynamoDBIndexObserver, Any, str]:
    """An observer of a new event table's Type index (its partitions `values`), polling every
    50 ms with a 60 s lookback; with a DynamoDB client and the table's name."""
    table, _ = _event_table(target)
    observer = DynamoDBIndexObserver(
        "by_type", tmp_path / "o.csv", target.aws, table, "Type-Index", "Type", values,
        interval_s=0.05, lookback_s=60, **options,
    )  # fmt: skip
    return observer, target.aws.client("dynamodb"), table


def test_an_index_is_read_per_partition_value_and_whole_at_the_end(
    local_target: Target, tmp_path: Path
) -> None:
    observer, dynamodb, table = _index_observer(local_target, tmp_path, ["INSERT", "UPDATE"])
    dynamodb.put_item(TableName=table, Item=_item(5, _now(), "1", 2))
    dynamodb.put_item(TableName=table, Item=_item(6, _now(), "2", 1, "INSERT"))
    # an event stamped long before it was written: outside the polls' lookback and counts
    dynamodb.put_item(TableName=table, Item=_item(4, "2020-05-01T20:00:00Z", "3", 1, "INSERT"))
    dynamodb.put_item(TableName=table, Item=_item(7, _now(), "3", 2, "DELETE"))  # not queried

    seen = _observe(observer, 2)

    assert sorted(seen) == [("1", 2, "upsert", 5), ("2", 1, "upsert", 6), ("3", 1, "upsert", 4)]
    assert read_observations(tmp_path / "o.csv")[-1].key == "3"  # found by the last poll


def test_reads_between_wide_ones_follow_the_lateness_seen_and_a_wide_read_finds_what_they_miss(
    local_target: Target, tmp_path: Path
) -> None:
    observer, dynamodb, table = _index_observer(
        local_target, tmp_path, ["UPDATE"], wide_every_s=2.0
    )
    dynamodb.put_item(TableName=table, Item=_item(5, _now(), "1", 2))
    assert observer._take() == 1  # the first read is wide
    assert 3 <= observer.narrow_s <= 4  # under a second late: that and 2 s, at least 3
    stamped = int(time.time() - 30)
    late = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamped))
    dynamodb.put_item(TableName=table, Item=_item(6, late, "2", 1))

    assert observer._take() == 0  # a narrow read (the wide one is 2 s away): 30 s late is outside
    time.sleep(2.0)
    assert observer._take() == 1  # the next wide read finds it
    # its lateness when read (30 s and the wait since) and 2 s
    assert 32 <= observer.narrow_s <= time.time() - stamped + 2
    delay = observer.stats().delay_over_time
    assert delay is not None and max(delay.per_s) >= 0.5  # it waited since the wide read before
    observer.stop()


def test_a_wide_read_reads_back_a_partition_holding_more_items_older_than_its_window_than_seen(
    local_target: Target, tmp_path: Path
) -> None:
    """Up to `recount_s` (300 s) before the wide window."""
    observer, dynamodb, table = _index_observer(
        local_target, tmp_path, ["INSERT", "UPDATE"], wide_every_s=1.0, recount_every_s=1.0
    )
    queries: list[dict[str, Any]] = []
    observer._dynamodb.meta.events.register(
        "before-parameter-build.dynamodb.Query", lambda params, **_: queries.append(dict(params))
    )
    dynamodb.put_item(TableName=table, Item=_item(5, _now(ago_s=120), "1", 2))  # before 60 s
    dynamodb.put_item(TableName=table, Item=_item(6, _now(), "2", 1, "INSERT"))

    assert observer._take() == 2  # the first read is wide: it counts an older item, unseen
    assert sorted(_partitions_read(queries, "count")) == ["INSERT", "UPDATE"]
    assert _partitions_read(queries, "back") == ["UPDATE"]  # so reads its partition back
    queries.clear()
    # a batch redelivered 5 minutes late: older than every window when it lands
    dynamodb.put_item(TableName=table, Item=_item(7, _now(ago_s=300), "3", 1, "INSERT"))

    assert observer._take() == 0  # a narrow read (the wide one is 1 s away)
    assert wait_for(observer._take, "the next wide read to find it", timeout_s=5) == 1
    assert not observer.stopping  # found by a wide read, not by the last poll
    assert _partitions_read(queries, "back") == ["INSERT"]
    assert observer.narrow_s <= 4  # its lateness does not widen the narrow window
    delay = observer.stats().delay_over_time
    assert delay is not None and delay.per_s[-1] >= 0.9  # it waited since the wide read before
    queries.clear()
    time.sleep(1.0)

    assert observer._take() == 0  # the next wide read: nothing landed late
    assert sorted(_partitions_read(queries, "count")) == ["INSERT", "UPDATE"]
    assert _partitions_read(queries, "back") == []  # as many older items as seen: none read
    observer.stop()
