"""Each fix in `harness.local.moto_fixes.speed`, shown: moto as released does work that grows
with the data on every request, and with the fix it does not. Counted, not timed (so the
tests hold on a busy machine); when moto drops that work upstream, the first assertion
fails and says which fix can go. The server's module list: `test_moto_server_fix.py`."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.moto_fix_support import applied, fixed_upstream


class _CountedKeys(OrderedDict[int, Any]):
    """A shard's records, counting how often all their keys are taken."""

    copies = 0

    def keys(self) -> Any:
        type(self).copies += 1
        return super().keys()


def test_kinesis_sequence_bounds_do_not_copy_the_shard() -> None:
    from moto.kinesis.models import Shard

    def copies(puts: int) -> int:
        shard = Shard(0, 0, 2**128)
        shard.records = _CountedKeys()
        _CountedKeys.copies = 0
        for n in range(puts):
            shard.put_record("k", f"record {n}", "1")
        assert (shard.get_min_sequence_number(), shard.get_max_sequence_number()) == (1, puts)
        return _CountedKeys.copies

    assert copies(50) >= 49, fixed_upstream("kinesis.sequence_bounds")  # every key, every put
    with applied("kinesis.sequence_bounds"):
        assert copies(50) == 0


def test_dynamodb_items_are_not_walked_member_by_member(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core.serialize import BaseJSONSerializer

    walk = BaseJSONSerializer._serialize_type_structure
    walked: list[str] = []

    def counted(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if shape.name == "AttributeValue":
            walked.append(key)
        walk(self, serialized, value, shape, key)

    monkeypatch.setattr(BaseJSONSerializer, "_serialize_type_structure", counted)
    item = {"pk": {"S": "k"}, **{f"n{i}": {"N": str(i)} for i in range(9)}}

    def walks() -> int:
        walked.clear()
        with mock_aws():
            dynamodb = boto3.client("dynamodb", region_name="us-east-1")
            dynamodb.create_table(
                TableName="t",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            dynamodb.put_item(TableName="t", Item=item)
            assert dynamodb.scan(TableName="t")["Items"] == [item]
        return len(walked)

    assert walks() >= len(item), fixed_upstream("dynamodb.wire_form_items")
    with applied("dynamodb.wire_form_items"):
        assert walks() == 0


_EVENT_QUERIES: list[dict[str, Any]] = [
    {"KeyConditionExpression": "#p = :v AND #t >= :since"},
    {"KeyConditionExpression": "#p = :v AND #t >= :since", "ScanIndexForward": False},
    {"KeyConditionExpression": "#p = :v AND #t BETWEEN :since AND :until", "Limit": 7},
    {"KeyConditionExpression": "#p = :v AND begins_with(#t, :day)"},
    {"KeyConditionExpression": "#p = :v"},
    {"KeyConditionExpression": "#p = :v AND #t < :since", "FilterExpression": "#n > :n"},
    {"KeyConditionExpression": "#p = :v AND #t >= :since", "ProjectionExpression": "#n"},
]


def _event_table(dynamodb: Any, events: int) -> None:
    """An event store as the SQS pattern's: (RequestId, Timestamp), a Type index."""
    dynamodb.create_table(
        TableName="event",
        KeySchema=[
            {"AttributeName": "RequestId", "KeyType": "HASH"},
            {"AttributeName": "Timestamp", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": a, "AttributeType": "S"} for a in ("RequestId", "Timestamp", "Type")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "Type-Index",
                "KeySchema": [
                    {"AttributeName": "Type", "KeyType": "HASH"},
                    {"AttributeName": "Timestamp", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(events):
        item = {"RequestId": {"S": f"r{n}"}, "Timestamp": {"S": _when(n)}, "n": {"N": str(n)}}
        if n % 10:  # some events lack the index's key: the index leaves them out
            item["Type"] = {"S": ("INSERT", "UPDATE", "DELETE")[n % 3]}
        dynamodb.put_item(TableName="event", Item=item)


def _when(n: int) -> str:
    """Event n's Timestamp: one a second, 200 a day."""
    return f"2026-12-0{1 + n // 200}T10:{n // 60 % 60:02d}:{n % 60:02d}Z"


def _query_pages(dynamodb: Any, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of the query, without response metadata."""
    pages, start = [], None
    while True:
        request = {"TableName": "event", "IndexName": "Type-Index", **query}
        said = " ".join(v for k, v in query.items() if k.endswith("Expression"))
        names = {"#p": "Type", "#t": "Timestamp", "#n": "n"}
        values = {":v": {"S": "UPDATE"}, ":since": {"S": "2026-12-02T10:00:30Z"}}
        values |= {":until": {"S": "2026-12-03T10:00:00Z"}, ":day": {"S": "2026-12-03"}}
        values |= {":n": {"N": "100"}}
        request["ExpressionAttributeNames"] = {k: v for k, v in names.items() if k in said}
        request["ExpressionAttributeValues"] = {k: v for k, v in values.items() if k in said}
        if start:
            request["ExclusiveStartKey"] = start
        page = dynamodb.query(**request)
        page.pop("ResponseMetadata")
        pages.append(page)
        start = page.get("LastEvaluatedKey")
        if not start:
            return pages


def test_dynamodb_index_queries_weigh_only_the_items_they_select(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.dynamodb.models.dynamo_type import Item

    size = Item.size
    sized: list[int] = []

    def counted(self: Any) -> int:
        sized.append(1)
        return size(self)

    monkeypatch.setattr(Item, "size", counted)

    def answers() -> tuple[list[list[dict[str, Any]]], int]:
        with mock_aws():
            dynamodb = boto3.client("dynamodb", region_name="us-east-1")
            _event_table(dynamodb, 600)
            got = [_query_pages(dynamodb, query) for query in _EVENT_QUERIES]
            sized.clear()
            first = dynamodb.query(
                TableName="event",
                IndexName="Type-Index",
                KeyConditionExpression="#p = :v AND #t >= :since",
                ExpressionAttributeNames={"#p": "Type", "#t": "Timestamp"},
                ExpressionAttributeValues={":v": {"S": "UPDATE"}, ":since": {"S": "2026-12-03"}},
            )
            assert 0 < first["Count"] < 100
            return got, len(sized) - 2 * first["Count"]  # each one found is sized twice

    released, released_extra = answers()
    assert released_extra >= 100, fixed_upstream("dynamodb.index_query_candidates")
    with applied("dynamodb.index_query_candidates"):
        fixed, fixed_extra = answers()
    assert fixed == released
    assert fixed_extra == 0, "items outside the key condition were sized"
    assert [sum(page["Count"] for page in pages) for pages in fixed] == [
        120,
        120,
        60,
        60,
        180,
        30,
        120,
    ]
    assert len(fixed[2]) == 9  # pages of Limit 7


def _rewrite_events(dynamodb: Any) -> None:
    """Writes that move events between the index's partitions, out of it and back: updates
    of the partition key in place, a removal of it, deletes, overwrites, a batch, and a
    transaction rolled back (moto puts the table's items back wholesale)."""
    table, key = "event", lambda n: {"RequestId": {"S": f"r{n}"}, "Timestamp": {"S": _when(n)}}
    for n in range(1, 60, 7):
        dynamodb.update_item(
            TableName=table,
            Key=key(n),
            UpdateExpression="SET #p = :v",
            ExpressionAttributeNames={"#p": "Type"},
            ExpressionAttributeValues={":v": {"S": "UPDATE"}},
        )
    dynamodb.update_item(TableName=table, Key=key(4), UpdateExpression="REMOVE #p",
                         ExpressionAttributeNames={"#p": "Type"})  # fmt: skip
    for n in (2, 5, 8):
        dynamodb.delete_item(TableName=table, Key=key(n))
    dynamodb.put_item(TableName=table, Item={**key(11), "Type": {"S": "INSERT"}})
    dynamodb.batch_write_item(RequestItems={table: [
        {"PutRequest": {"Item": {**key(n), "Type": {"S": "UPDATE"}, "n": {"N": "1"}}}}
        for n in range(600, 610)
    ]})  # fmt: skip
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException):
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {**key(700), "Type": {"S": "UPDATE"}}}},
            {"Put": {"TableName": table, "Item": {**key(14), "Type": {"S": "DELETE"}},
                     "ConditionExpression": "attribute_not_exists(RequestId)"}},
        ])  # fmt: skip


def test_index_partitions_follow_every_write_and_regroup_only_what_was_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness.local.moto_fixes.speed import index_partitions

    place = index_partitions._Grouping.place
    placed: list[int] = []

    def counted(self: Any, key: Any, item: Any) -> None:
        placed.append(1)
        place(self, key, item)

    monkeypatch.setattr(index_partitions._Grouping, "place", counted)

    def answers() -> list[list[list[dict[str, Any]]]]:
        with mock_aws():
            dynamodb = boto3.client("dynamodb", region_name="us-east-1")
            _event_table(dynamodb, 600)
            before = [_query_pages(dynamodb, query) for query in _EVENT_QUERIES]
            _rewrite_events(dynamodb)
            placed.clear()
            return [before, [_query_pages(dynamodb, query) for query in _EVENT_QUERIES]]

    released = answers()
    with applied("dynamodb.index_query_candidates"):
        fixed = answers()
    assert fixed == released
    assert released[0] != released[1]
    assert 0 < len(placed) < 60  # the items written since, not the table's 600


def test_query_items_are_copied_once_into_the_answer_under_the_write_lock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.dynamodb.models.dynamo_type import Item

    from harness.local.moto_fixes.corrections.dynamodb import WRITE_LOCK

    deepcopy = Item.__deepcopy__
    copied: list[int] = []

    def counted(self: Any, memo: Any) -> Any:
        copied.append(1)
        return deepcopy(self, memo)

    monkeypatch.setattr(Item, "__deepcopy__", counted)

    def answers() -> tuple[list[list[dict[str, Any]]], int]:
        with mock_aws():
            dynamodb = boto3.client("dynamodb", region_name="us-east-1")
            _event_table(dynamodb, 300)
            copied.clear()
            got = [_query_pages(dynamodb, query) for query in _EVENT_QUERIES]
            table = dynamodb.query(
                TableName="event",
                KeyConditionExpression="RequestId = :r",
                ExpressionAttributeValues={":r": {"S": "r7"}},
            )
            table.pop("ResponseMetadata")
            return [*got, [table]], len(copied)

    released, released_copies = answers()
    assert released_copies >= 200, fixed_upstream("dynamodb.query_items_copied_once")
    with applied("dynamodb.query_items_copied_once"):
        fixed, fixed_copies = answers()
        assert fixed_copies == 0
        # a Query waits for a write under way: it never answers half of one
        with mock_aws():
            dynamodb = boto3.client("dynamodb", region_name="us-east-1")
            _event_table(dynamodb, 1)
            answered = threading.Event()
            with WRITE_LOCK:
                query = threading.Thread(
                    target=lambda: (_query_pages(dynamodb, _EVENT_QUERIES[4]), answered.set())
                )
                query.start()
                assert not answered.wait(0.5)
            assert answered.wait(10)
            query.join()
    assert fixed == released


def test_sending_to_a_queue_does_not_count_its_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.sqs.models import Queue

    counted = Queue.approximate_number_of_messages
    counts: list[int] = []

    def counting(self: Any) -> int:
        counts.append(1)
        return int(counted.fget(self))  # type: ignore[misc]

    monkeypatch.setattr(Queue, "approximate_number_of_messages", property(counting))

    def counted_per_send() -> float:
        with mock_aws():
            sqs = boto3.client("sqs", region_name="us-east-1")
            url = sqs.create_queue(QueueName="q")["QueueUrl"]
            counts.clear()
            for n in range(10):
                sqs.send_message(QueueUrl=url, MessageBody=f"m{n}")
            sent = len(counts) / 10
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
            assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "10"
        return sent

    assert counted_per_send() >= 1, fixed_upstream("sqs.lazy_queue_attributes")
    with applied("sqs.lazy_queue_attributes"):
        assert counted_per_send() == 0


def test_lazy_queue_attributes_show_what_the_corrections_show() -> None:
    import json

    def shown() -> list[dict[str, str]]:
        with mock_aws():
            sqs = boto3.client("sqs", region_name="us-east-1")
            dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
            redrive = {"deadLetterTargetArn": arn["Attributes"]["QueueArn"], "maxReceiveCount": 5}
            url = sqs.create_queue(QueueName="q", Attributes={"RedrivePolicy": json.dumps(redrive)})
            allow = {"redrivePermission": "allowAll"}
            sqs.set_queue_attributes(
                QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps(allow)}
            )
            plain = sqs.create_queue(QueueName="plain")["QueueUrl"]
            return [
                sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["All"])["Attributes"]
                for u in (dlq, url["QueueUrl"], plain)
            ]

    def timeless(answers: list[dict[str, str]]) -> list[dict[str, str]]:
        return [{k: v for k, v in a.items() if "Timestamp" not in k} for a in answers]

    with applied("sqs.redrive_attributes"):
        corrected = timeless(shown())
    with applied("sqs.redrive_attributes", "sqs.lazy_queue_attributes"):
        lazy = timeless(shown())

    assert lazy == corrected
    assert "RedrivePolicy" not in lazy[2] and "RedriveAllowPolicy" not in lazy[2]


def _reads_and_updates(dynamodb: Any) -> list[Any]:
    """What the event table answers to index queries, a Scan, a GetItem and a Query of the
    updated item, read twice, then again after each kind of update: a nested attribute set,
    a number added, an update whose condition fails, one that creates its item, and a
    transaction's."""
    key = {"RequestId": {"S": "r7"}, "Timestamp": {"S": _when(7)}}

    def reads() -> list[Any]:
        pages = [_query_pages(dynamodb, query) for query in _EVENT_QUERIES[:2]]
        scanned = dynamodb.scan(TableName="event")["Items"]
        got = dynamodb.get_item(TableName="event", Key=key)["Item"]
        queried = dynamodb.query(
            TableName="event",
            KeyConditionExpression="RequestId = :r",
            ExpressionAttributeValues={":r": key["RequestId"]},
        )["Items"]
        return [pages, sorted(scanned, key=str), got, queried]

    def update(expression: str, values: dict[str, Any], **more: Any) -> None:
        dynamodb.update_item(
            TableName="event",
            Key=more.pop("Key", key),
            UpdateExpression=expression,
            ExpressionAttributeValues=values,
            **more,
        )

    answers = [reads(), reads()]
    update("SET m = :m", {":m": {"M": {"a": {"S": "x"}}}})
    answers.append(reads())
    update("SET m.a = :a", {":a": {"S": "y"}})  # changes a value inside the item's map
    answers.append(reads())
    update("ADD n :one", {":one": {"N": "1"}})
    answers.append(reads())
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        update("SET n = :z", {":z": {"N": "0"}}, ConditionExpression="n = :z")
    answers.append(reads())
    new = {"RequestId": {"S": "new"}, "Timestamp": {"S": _when(8)}}
    update("SET #t = :u", {":u": {"S": "UPDATE"}}, Key=new, ExpressionAttributeNames={"#t": "Type"})
    answers.append(reads())
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": "event",
                    "Key": key,
                    "UpdateExpression": "SET m.a = :a",
                    "ExpressionAttributeValues": {":a": {"S": "z"}},
                }
            }
        ]
    )
    answers.append(reads())
    return answers


def test_an_item_s_size_and_plain_form_are_worked_out_once_until_it_is_updated(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.dynamodb.models import utilities
    from moto.dynamodb.models.dynamo_type import DynamoType

    plain, size = utilities.dynamo_to_dict, DynamoType.size
    worked: list[str] = []

    def counted_plain(obj: Any) -> Any:
        if isinstance(obj, DynamoType):
            worked.append("plain")
        return plain(obj)

    def counted_size(self: Any) -> int:
        worked.append("size")
        return size(self)

    monkeypatch.setattr(utilities, "dynamo_to_dict", counted_plain)
    monkeypatch.setattr(DynamoType, "size", counted_size)

    def run() -> tuple[list[Any], int]:
        """The answers, and how many values one more round of index queries worked out."""
        with mock_aws():
            dynamodb = boto3.client("dynamodb", region_name="us-east-1")
            _event_table(dynamodb, 300)
            answers = _reads_and_updates(dynamodb)
            _query_pages(dynamodb, _EVENT_QUERIES[0])
            worked.clear()
            _query_pages(dynamodb, _EVENT_QUERIES[0])
            return answers, len(worked)

    released, released_worked = run()
    assert released_worked >= 300, fixed_upstream("dynamodb.item_forms_kept")
    with applied("dynamodb.query_items_copied_once", "dynamodb.item_forms_kept"):
        fixed, fixed_worked = run()
    assert fixed_worked == 0
    assert fixed == released
    assert released[3][3] == [released[3][2]] and released[3][2]["m"] == {"M": {"a": {"S": "y"}}}
    assert released[-1][3][0]["m"]["M"]["a"] == {"S": "z"}


def test_the_forms_kept_are_those_of_the_items_queried_last() -> None:
    from harness.local.moto_fixes.speed.dynamodb import _KeptForms

    worked: list[str] = []
    kept = _KeptForms(2)
    a, b, c = ({"n": n} for n in range(3))  # attributes, equal or not, kept by identity

    def form(attrs: dict[str, int], name: str) -> Any:
        return kept.get(attrs, "size", lambda: worked.append(name) or attrs["n"])

    assert [form(a, "a"), form(b, "b"), form(a, "a"), form(c, "c")] == [0, 1, 0, 2]
    assert worked == ["a", "b", "c"]  # a was queried again: b is the one let go
    assert [form(a, "a"), form(b, "b")] == [0, 1]
    assert worked == ["a", "b", "c", "b"]
    kept.forget(a)
    form(a, "a")
    assert worked[-1] == "a"
