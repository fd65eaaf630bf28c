"""The `dms_ddb_streams_kinesis` pattern's functions, on the documented event shapes: the
fan-in turns DynamoDB Streams records into change events on one Kinesis stream (the correct
one keeping each row's changes in order; the naive one as the article's glue does), and the
projector turns them into read-model items; the harness's observers read the same events."""

import base64
import json
from collections.abc import Iterator
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.stub import Stubber

from harness import read_model
from harness.load.row_image import row_digest
from harness.observe.formats.change_event import decode_change_event
from tests import helpers
from tests.helpers import DOC_EXAMPLES, REPO

FUNCTIONS = REPO / "terraform" / "patterns" / "dms_ddb_streams_kinesis" / "functions"
ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/{}/stream/2026-12-02T07:00:00.000"
TABLES = {"run-widgets": "widgets", "run-orders": "orders"}
ENV = {"STREAM_NAME": "bus", "SOURCE_TABLES": json.dumps(TABLES), "READ_MODEL_TABLE": "rm"}
_serializer = TypeSerializer()


def fanin(name: str) -> ModuleType:
    return helpers.function_module(FUNCTIONS / "fanin", name)


def projector() -> ModuleType:
    return helpers.function_module(FUNCTIONS / "projector", "projector")


def widget(key: int, version: int, price: str = "12.34") -> dict[str, Any]:
    """A widgets row as DMS's DynamoDB target writes it (numbers as N, the rest as S)."""
    row = {
        "id": Decimal(key),
        "version": Decimal(version),
        "written_at": f"2026-12-02 07:00:0{version}.123456",
        "name": f"wïdget {key}",
        "price": Decimal(price),
        "attrs": '{"color": "red"}',
    }
    return {name: _serializer.serialize(value) for name, value in row.items()}


def stream_record(
    event_name: str, old: dict[str, Any] | None, new: dict[str, Any] | None, seq: int
) -> dict[str, Any]:
    image = new or old
    assert image is not None
    body: dict[str, Any] = {
        "Keys": {"id": image["id"]},
        "SequenceNumber": str(seq),
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
        "ApproximateCreationDateTime": 1764658800.0,
    }
    if old is not None:
        body["OldImage"] = old
    if new is not None:
        body["NewImage"] = new
    return {
        "eventID": f"e{seq}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": body,
        "eventSourceARN": ARN.format("run-widgets"),
    }


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def test_the_documented_stream_event_becomes_change_events() -> None:
    events = json.loads(
        (DOC_EXAMPLES / "lambda-events" / "dynamodb-streams-event.json").read_text()
    )
    change_events = fanin("change_events")
    made = [change_events.change_event(r, {"TestTable": "t"}) for r in events["Records"]]

    assert [(e["table"], e["op"], e["keys"]) for e in made] == [
        ("t", "insert", {"Id": 101}),
        ("t", "update", {"Id": 101}),
    ]
    assert made[1]["old"] == {"Message": "New item!", "Id": 101}
    assert made[1]["new"] == {"Message": "This item has changed", "Id": 101}
    assert made[0]["old"] is None
    assert change_events.partition_key(made[0]) == "t#101"


def test_numbers_stay_exact_and_the_observer_reads_the_rows_digest() -> None:
    change_events = fanin("change_events")
    event = change_events.change_event(
        stream_record("INSERT", None, widget(7, 3, "123456789012345.1234"), 1), TABLES
    )
    assert event["new"]["price"] == "123456789012345.1234"
    assert event["new"]["id"] == 7
    decoded = decode_change_event(change_events.encode(event), "pos")
    expected = row_digest("widgets", {**event["new"], "price": Decimal("123456789012345.1234")})
    assert decoded is not None
    assert (decoded.table, decoded.key, decoded.version, decoded.digest) == (
        "widgets",
        "7",
        3,
        expected,
    )


def test_unknown_tables_and_events_are_refused_naming_the_record() -> None:
    change_events = fanin("change_events")
    record = stream_record("INSERT", None, widget(1, 1), 1)
    with pytest.raises(ValueError, match="e1: table 'run-widgets' is not in SOURCE_TABLES"):
        change_events.change_event(record, {"other": "x"})
    with pytest.raises(ValueError, match="e1: unknown eventName 'TRUNCATE'"):
        change_events.change_event({**record, "eventName": "TRUNCATE"}, TABLES)
    with pytest.raises(ValueError, match="pos: not a change event"):
        decode_change_event(b'{"op": "upsert"}', "pos")
    with pytest.raises(ValueError, match="pos: a change event without its table or old image"):
        decode_change_event(b'{"op": "delete", "table": "widgets", "old": null}', "pos")


@pytest.fixture
def kinesis(env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    with helpers.stubbed_client("kinesis") as (client, stubber):
        for name in ("fanin", "naive"):
            monkeypatch.setattr(fanin(name), "kinesis", lambda: client)
        monkeypatch.setattr(fanin("fanin"), "PAUSE_S", 0)
        yield stubber


def batch() -> dict[str, Any]:
    """Row 1 inserted, updated, updated; row 2 inserted, deleted."""
    return {
        "Records": [
            stream_record("INSERT", None, widget(1, 1), 1),
            stream_record("INSERT", None, widget(2, 1), 2),
            stream_record("MODIFY", widget(1, 1), widget(1, 2), 3),
            stream_record("REMOVE", widget(2, 1), None, 4),
            stream_record("MODIFY", widget(1, 2), widget(1, 3), 5),
        ]
    }


def puts(*seqs: int) -> dict[str, Any]:
    """The PutRecords request carrying the batch's records of these sequence numbers."""
    change_events = fanin("change_events")
    records = {int(r["dynamodb"]["SequenceNumber"]): r for r in batch()["Records"]}
    entries = []
    for seq in seqs:
        event = change_events.change_event(records[seq], TABLES)
        entries.append(
            {
                "Data": change_events.encode(event),
                "PartitionKey": change_events.partition_key(event),
            }
        )
    return {"StreamName": "bus", "Records": entries}


def answer(*errors: str | None) -> dict[str, Any]:
    failed = sum(e is not None for e in errors)
    return {
        **({"FailedRecordCount": failed} if failed else {}),
        "Records": [
            {"ErrorCode": e, "ErrorMessage": "slow down"}
            if e
            else {"ShardId": "shardId-000000000000", "SequenceNumber": "1"}
            for e in errors
        ],
    }


def test_the_correct_fanin_sends_one_change_per_row_per_request_in_row_order(
    kinesis: Stubber,
) -> None:
    kinesis.add_response("put_records", answer(None, None), puts(1, 2))
    kinesis.add_response("put_records", answer(None, None), puts(3, 4))
    kinesis.add_response("put_records", answer(None), puts(5))

    assert fanin("fanin").handler(batch(), None) == {"batchItemFailures": []}


def test_rejected_changes_go_again_before_their_rows_next_change(kinesis: Stubber) -> None:
    throttled = "ProvisionedThroughputExceededException"
    kinesis.add_response("put_records", answer(throttled, None), puts(1, 2))
    kinesis.add_response("put_records", answer(None, None), puts(1, 4))
    kinesis.add_response("put_records", answer(None), puts(3))
    kinesis.add_response("put_records", answer(None), puts(5))

    assert fanin("fanin").handler(batch(), None) == {"batchItemFailures": []}


def test_what_keeps_failing_is_reported_from_the_first_unsent_change(kinesis: Stubber) -> None:
    module = fanin("fanin")
    kinesis.add_response("put_records", answer(None, None), puts(1, 2))
    for _ in range(module.ATTEMPTS):
        kinesis.add_client_error("put_records", "ResourceNotFoundException")

    assert module.handler(batch(), None) == {"batchItemFailures": [{"itemIdentifier": "3"}]}


def test_the_naive_fanin_puts_each_record_under_its_event_id_and_swallows_errors(
    kinesis: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    request = puts(1, 2, 3, 4, 5)
    for number, entry in enumerate(request["Records"], 1):
        expected = {"StreamName": "bus", "Data": entry["Data"], "PartitionKey": f"e{number}"}
        if number == 3:
            kinesis.add_client_error("put_record", "ProvisionedThroughputExceededException")
        else:
            kinesis.add_response("put_record", {"ShardId": "s", "SequenceNumber": "1"}, expected)

    assert fanin("naive").handler(batch(), None) is None
    assert "could not put e3" in capsys.readouterr().out


def kinesis_record(event: dict[str, Any]) -> dict[str, Any]:
    data = fanin("change_events").encode(event)
    return {"eventID": "shardId-000000000000:1", "kinesis": {"data": base64.b64encode(data)}}


@pytest.fixture
def dynamodb(env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    with helpers.stubbed_client("dynamodb") as (client, stubber):
        monkeypatch.setattr(projector(), "dynamodb", lambda: client)
        yield stubber


def versioned_put(item: dict[str, Any]) -> dict[str, Any]:
    return helpers.versioned_put("rm", item)


def test_the_projector_writes_rows_and_tombstones_of_newer_versions_only(
    dynamodb: Stubber,
) -> None:
    change_events = fanin("change_events")
    records = [change_events.change_event(r, TABLES) for r in batch()["Records"]]
    inserted, deleted = records[0], records[3]
    row = {**inserted["new"], "price": Decimal(inserted["new"]["price"])}
    dynamodb.add_response("put_item", {}, versioned_put(read_model.to_item("widgets", "1", row)))
    dynamodb.add_client_error(
        "put_item",
        "ConditionalCheckFailedException",
        expected_params=versioned_put(read_model.tombstone("widgets", "2", 2)),
    )
    event = {"Records": [kinesis_record(inserted), kinesis_record(deleted)]}

    assert projector().handler(event, None) == {"records": 2, "written": 1, "superseded": 1}


def test_the_projector_refuses_a_record_that_is_no_change_event(dynamodb: Stubber) -> None:
    event = {"Records": [{"eventID": "s:9", "kinesis": {"data": base64.b64encode(b"[1]")}}]}
    with pytest.raises(ValueError, match="s:9: not a change event record"):
        projector().handler(event, None)
