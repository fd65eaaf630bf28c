"""The `sqs_lambda_eventstore` pattern's persisting functions against DynamoDB's API (moto in
process): the correct one keeps every event of a request, each value typed, once however often
SQS delivers it, and names what it could not persist; the naive one (the article's Node
handler, ported) drops falsy values, stringifies the rest, lets two events of a request in the
same second overwrite each other and swallows errors."""

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests import helpers
from tests.helpers import REPO

FUNCTION_DIR = REPO / "terraform" / "patterns" / "sqs_lambda_eventstore" / "functions" / "persist"
REGION = "us-east-1"
TABLE = "run-event"
SECOND = "2026-12-02T07:00:00Z"


def function_module(name: str) -> ModuleType:
    return helpers.function_module(FUNCTION_DIR, name)


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The event table as the pattern declares it (RequestId + Timestamp, the two GSIs), in
    moto; the functions' client is made inside."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EVENT_TABLE", TABLE)
    cached_client = function_module("event_table").dynamodb
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "RequestId", "KeyType": "HASH"},
                {"AttributeName": "Timestamp", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": name, "AttributeType": "S"}
                for name in ("RequestId", "Timestamp", "Type", "Source")
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": f"{key}-Index",
                    "KeySchema": [
                        {"AttributeName": key, "KeyType": "HASH"},
                        {"AttributeName": "Timestamp", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
                for key in ("Type", "Source")
            ],
        )
        cached_client.cache_clear()
        yield client
    cached_client.cache_clear()


def event(
    request: str,
    key: int,
    data: dict[str, Any],
    type_: str = "UPDATE",
    source: str = "widgets",
    timestamp: str = SECOND,
) -> dict[str, Any]:
    """An event of the application as the message body holds it."""
    return {
        "requestId": request,
        "timestamp": timestamp,
        "id": str(key),
        "type": type_,
        "source": source,
        "data": data,
    }


def record(body: dict[str, Any] | str, message_id: str) -> dict[str, Any]:
    """An SQS record as Lambda's poller delivers it."""
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:run-events",
        "awsRegion": REGION,
    }


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def items(client: Any, request: str) -> list[dict[str, Any]]:
    """The items of one request, by sort key."""
    return client.query(
        TableName=TABLE,
        KeyConditionExpression="RequestId = :r",
        ExpressionAttributeValues={":r": {"S": request}},
    )["Items"]


# --- the correct function -----------------------------------------------------------------------

WIDGET_BODY = (
    '{"requestId": "8123", "timestamp": "2026-12-02T07:00:00Z", "id": "7", "type": "INSERT",'
    ' "source": "widgets", "data": {"id": 7, "version": 1,'
    ' "written_at": "2026-12-02T07:00:00.123456+00:00", "name": "wïdget 7",'
    ' "price": 123456789012345.1234, "produced_at": null, "attrs": "{\\"color\\": \\"red\\"}",'
    ' "notes": "", "quantity": 0, "ratio": 0.0, "flag": false}}'
)


def test_correct_persists_every_field_typed(dynamodb: Any) -> None:
    persist = function_module("persist")

    response = persist.handler(batch(record(WIDGET_BODY, "m1")), None)

    assert response == {"batchItemFailures": []}
    [item] = items(dynamodb, "8123")
    assert item == {
        "RequestId": {"S": "8123"},
        "Timestamp": {"S": "2026-12-02T07:00:00Z#widgets#7#1#INSERT"},
        "Id": {"S": "7"},
        "Type": {"S": "INSERT"},
        "Source": {"S": "widgets"},
        "Data": {
            "M": {
                "id": {"N": "7"},
                "version": {"N": "1"},
                "written_at": {"S": "2026-12-02T07:00:00.123456+00:00"},
                "name": {"S": "wïdget 7"},
                "price": {"N": "123456789012345.1234"},
                "produced_at": {"NULL": True},
                "attrs": {"S": '{"color": "red"}'},
                "notes": {"S": ""},
                "quantity": {"N": "0"},
                "ratio": {"N": "0.0"},
                "flag": {"BOOL": False},
            }
        },
    }
    by_type = dynamodb.query(
        TableName=TABLE,
        IndexName="Type-Index",
        KeyConditionExpression="#t = :t",
        ExpressionAttributeNames={"#t": "Type"},
        ExpressionAttributeValues={":t": {"S": "INSERT"}},
    )["Items"]
    assert [i["Id"]["S"] for i in by_type] == ["7"]


def test_correct_keeps_two_events_of_a_request_in_one_second(dynamodb: Any) -> None:
    persist = function_module("persist")
    touched = event("8124", 7, {"id": 7, "version": 2, "attrs": '{"orders": 1}'})
    ordered = event("8124", 31, {"id": 31, "version": 1, "widget_id": 7}, "INSERT", "orders")

    response = persist.handler(batch(record(touched, "m1"), record(ordered, "m2")), None)

    assert response == {"batchItemFailures": []}
    assert [i["Timestamp"]["S"] for i in items(dynamodb, "8124")] == [
        "2026-12-02T07:00:00Z#orders#31#1#INSERT",
        "2026-12-02T07:00:00Z#widgets#7#2#UPDATE",
    ]
    deleted = event("8125", 7, {"id": 7, "version": 2}, "DELETE", timestamp="2026-12-02T07:00:01Z")
    persist.handler(batch(record(deleted, "m3")), None)
    by_source = dynamodb.query(
        TableName=TABLE,
        IndexName="Source-Index",
        KeyConditionExpression="#s = :s",
        ExpressionAttributeNames={"#s": "Source"},
        ExpressionAttributeValues={":s": {"S": "widgets"}},
    )["Items"]
    assert [(i["Type"]["S"], i["RequestId"]["S"]) for i in by_source] == [
        ("UPDATE", "8124"),
        ("DELETE", "8125"),
    ], "an index still sorts by time first"


def test_correct_keeps_a_redelivered_message_as_one_item(dynamodb: Any) -> None:
    persist = function_module("persist")
    message = record(event("8126", 7, {"id": 7, "version": 3, "price": 1.5}), "m1")

    first = persist.handler(batch(message), None)
    again = persist.handler(batch(message, record(event("8126", 8, {"version": 1}), "m2")), None)

    assert first == again == {"batchItemFailures": []}
    assert [i["Id"]["S"] for i in items(dynamodb, "8126")] == ["7", "8"]
    assert dynamodb.scan(TableName=TABLE)["Count"] == 2


def test_correct_reports_a_failed_put(dynamodb: Any) -> None:
    persist = function_module("persist")
    dynamodb.delete_table(TableName=TABLE)

    response = persist.handler(
        batch(
            record(event("8127", 7, {"version": 1}), "m1"),
            record(event("8127", 8, {"version": 1}), "m2"),
        ),
        None,
    )

    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}


def test_correct_reports_what_is_not_an_event(
    dynamodb: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    persist = function_module("persist")
    good = event("8128", 7, {"id": 7, "version": 4})
    without_version = event("8128", 8, {"id": 8})
    without_source = {k: v for k, v in event("8128", 9, {"version": 1}).items() if k != "source"}
    bad_type = event("8128", 10, {"version": 1}, "TRUNCATE")

    response = persist.handler(
        batch(
            record("{not json", "bad-json"),
            record(good, "good"),
            record(without_version, "no-version"),
            record(without_source, "no-source"),
            record(bad_type, "bad-type"),
            record("[1, 2]", "not-an-object"),
        ),
        None,
    )

    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        "bad-json",
        "no-version",
        "no-source",
        "bad-type",
        "not-an-object",
    ]
    assert [i["Id"]["S"] for i in items(dynamodb, "8128")] == ["7"]
    logged = capsys.readouterr().out
    assert "message bad-json not persisted: not a JSON document" in logged
    assert "message no-source not persisted: source must be non-empty text" in logged


def test_correct_fails_the_batch_when_the_mapping_reads_no_partial_response(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    persist = function_module("persist")
    monkeypatch.setenv("REPORT_BATCH_ITEM_FAILURES", "false")

    with pytest.raises(persist.BatchFailed, match="1 message\\(s\\) not persisted: bad"):
        persist.handler(
            batch(record(event("8129", 7, {"version": 1}), "good"), record("{", "bad")), None
        )
    assert len(items(dynamodb, "8129")) == 1
    assert persist.handler(batch(record(event("8129", 7, {"version": 1}), "good")), None) == {
        "batchItemFailures": []
    }


# --- the naive function (the article's) ---------------------------------------------------------


def test_naive_drops_falsy_values_and_stringifies_the_rest(dynamodb: Any) -> None:
    naive = function_module("naive")
    data = {
        "id": 7,
        "version": 1,
        "price": 0,
        "ratio": 0.0,
        "name": "",
        "produced_at": None,
        "flag": False,
        "amount": 12.5,
        "whole": 3.0,
        "big": 1e21,
        "tiny": 1e-7,
        "small": 0.000001,
        "huge_id": 12345678901234567890,
        "active": True,
        "attrs": '{"color": "red"}',
        "meta": {"a": 1},
        "tags": [1, None, "x", [2, 3]],
        "empty": [],
    }

    assert naive.handler(batch(record(event("9001", 7, data, "INSERT"), "m1")), None) is None

    [item] = items(dynamodb, "9001")
    assert item["Timestamp"] == {"S": SECOND}
    assert item["Data"]["M"] == {
        "id": {"S": "7"},
        "version": {"S": "1"},
        "amount": {"S": "12.5"},
        "whole": {"S": "3"},
        "big": {"S": "1e+21"},
        "tiny": {"S": "1e-7"},
        "small": {"S": "0.000001"},
        "huge_id": {"S": "12345678901234567000"},
        "active": {"S": "true"},
        "attrs": {"S": '{"color": "red"}'},
        "meta": {"S": "[object Object]"},
        "tags": {"S": "1,,x,2,3"},
        "empty": {"S": ""},
    }
    assert (item["Id"], item["Type"], item["Source"]) == (
        {"S": "7"},
        {"S": "INSERT"},
        {"S": "widgets"},
    )


def test_naive_lets_two_events_of_a_request_in_one_second_overwrite_each_other(
    dynamodb: Any,
) -> None:
    naive = function_module("naive")
    touched = event("9002", 7, {"id": 7, "version": 2})
    ordered = event("9002", 31, {"id": 31, "version": 1}, "INSERT", "orders")

    naive.handler(batch(record(touched, "m1"), record(ordered, "m2")), None)

    [item] = items(dynamodb, "9002")
    assert (item["Source"]["S"], item["Id"]["S"]) == ("orders", "31")


def test_naive_swallows_errors(dynamodb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    naive = function_module("naive")
    no_request = {k: v for k, v in event("9003", 7, {"version": 1}).items() if k != "requestId"}
    fine = event("9003", 8, {"version": 1})

    assert naive.handler(batch(record(no_request, "m1"), record(fine, "m2")), None) is None
    assert [i["Id"]["S"] for i in items(dynamodb, "9003")] == ["8"]

    dynamodb.delete_table(TableName=TABLE)
    assert naive.handler(batch(record(fine, "m3")), None) is None
    logged = capsys.readouterr().out
    assert "MESSAGE: " in logged and "ITEM: " in logged
    assert "ResourceNotFoundException" in logged


def test_naive_fails_the_batch_on_a_body_that_is_not_json(dynamodb: Any) -> None:
    """As the Node handler: JSON.parse throws outside the put's catch."""
    naive = function_module("naive")
    with pytest.raises(ValueError):
        naive.handler(batch(record("{not json", "m1")), None)
    with pytest.raises(ValueError):
        naive.handler(batch(record('{"requestId": NaN}', "m2")), None)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.1, "0.1"),
        (-2.0, "-2"),
        (100.0, "100"),
        (1.5e-7, "1.5e-7"),
        (123456789.125, "123456789.125"),
        (1.2345e22, "1.2345e+22"),
        (2**53 + 1, "9007199254740992"),
        (10**400, "Infinity"),
    ],
)
def test_naive_prints_numbers_as_javascript(value: float, text: str) -> None:
    assert function_module("naive")._js_number(value) == text
