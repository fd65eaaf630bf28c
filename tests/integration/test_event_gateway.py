"""The application as a gateway, on a real source database and real queues (moto): each
changed row's event in the article's shape, sent after the commit, before it, or through the
transactional outbox; a process death inside the dual-write window loses the events
(after_commit) or leaves them behind a rolled-back transaction (before_commit); the relay
sends a transaction that commits late; a refused send is recorded and the load goes on."""

import json
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError

from harness.apps import DSN_VARIABLE, Hooks, Spec, hooks, prepare
from harness.apps.emits import Emit, never_sent, read_emits, summarize
from harness.apps.event_gateway import OUTBOX_TABLE, RELAY
from harness.apps.outbox_relay import relay_once
from harness.load import schema
from harness.load.ledger import ABORTED, COMMITTED
from harness.load.transactions import Outcome, connect, execute
from harness.load.workload import Plan
from harness.nemesis.faults import KINDS
from harness.process import spawn, stop
from harness.records import RecordWriter
from harness.targets import Target
from tests.helpers import wait_for

pytestmark = pytest.mark.slow

WIDGET = {
    "name": "sprocket",
    "price": Decimal("0"),
    "produced_at": None,
    "attrs": {"batch": 0, "tags": ["a"]},
    "notes": "",
}


def _gateway(
    target: Target, ledger: Path, emit: str, failure_ratio: float = 0.0
) -> tuple[Hooks, str]:
    sqs = target.aws.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"gateway-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    settings = {
        "emit": emit,
        "emit_failure_ratio": failure_ratio,
        "relay_poll_interval_ms": 100,
        "queue_url": queue_url,
    }
    spec = Spec("event_gateway", {"application": settings})
    schema.reset(target.source_dsn)
    prepare(spec, target.source_dsn)
    spec.write(ledger / "application.json")
    return hooks(spec, target.aws, ledger), queue_url


def _run(target: Target, built: Hooks, plan: Plan) -> Outcome:
    with connect(target.source_dsn) as conn:
        outcome = execute(conn, plan, 0, built.before_commit)
        if outcome.committed and built.after_commit:
            built.after_commit(outcome.changes, outcome.images)
    return outcome


def _emits(built: Hooks, ledger: Path) -> list[Emit]:
    """What the application recorded, once it closed its records."""
    assert built.close is not None
    built.close()
    return read_emits(ledger)


def _messages(target: Target, queue_url: str) -> list[dict[str, Any]]:
    sqs = target.aws.client("sqs")
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        if not got.get("Messages"):
            return bodies
        for message in got["Messages"]:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_after_commit_sends_one_event_per_row_in_the_articles_shape(
    local_target: Target, tmp_path: Path
) -> None:
    built, queue = _gateway(local_target, tmp_path, "after_commit")
    inserted = _run(local_target, built, Plan("insert", None, False, dict(WIDGET)))
    key = int(inserted.changes[0].key)
    order = _run(
        local_target,
        built,
        Plan(
            "order",
            key,
            False,
            {"quantity": 0, "amount": Decimal("12.5"), "status": "", "meta": None},
        ),
    )

    sent = _messages(local_target, queue)

    assert [m["type"] for m in sent] == ["INSERT", "UPDATE", "INSERT"]
    first = sent[0]
    assert set(first) == {"requestId", "timestamp", "id", "type", "source", "data"}
    assert first["requestId"] == str(inserted.changes[0].txid) and first["id"] == str(key)
    assert first["source"] == "widgets" and first["timestamp"].endswith("Z")
    assert len(first["timestamp"]) == len("2020-05-01T20:00:00Z")  # to the second
    data = first["data"]
    assert data["price"] == 0 and data["notes"] == "" and data["produced_at"] is None
    assert json.loads(data["attrs"]) == {"batch": 0, "tags": ["a"]}  # jsonb as its text
    # one request: the transaction's two changes share its id and its second
    assert sent[1]["requestId"] == sent[2]["requestId"] == str(order.changes[0].txid)
    assert sent[1]["timestamp"] == sent[2]["timestamp"]
    assert sent[2]["data"]["amount"] == 12.5 and sent[2]["data"]["quantity"] == 0
    assert summarize(_emits(built, tmp_path), []).sent == 3


def test_a_delete_event_carries_the_deleted_rows_id_and_version(
    local_target: Target, tmp_path: Path
) -> None:
    built, queue = _gateway(local_target, tmp_path, "after_commit")
    key = int(_run(local_target, built, Plan("insert", None, False, dict(WIDGET))).changes[0].key)
    _run(local_target, built, Plan("delete", key, False, {}))

    deleted = _messages(local_target, queue)[-1]

    assert deleted["type"] == "DELETE" and deleted["data"] == {"id": key, "version": 1}


def test_dying_after_the_commit_loses_the_events_of_a_committed_transaction(
    local_target: Target, tmp_path: Path
) -> None:
    built, queue = _gateway(local_target, tmp_path, "after_commit", failure_ratio=1.0)

    outcome = _run(local_target, built, Plan("insert", None, False, dict(WIDGET)))

    assert outcome.changes[0].status == COMMITTED
    assert _messages(local_target, queue) == []
    emits = _emits(built, tmp_path)
    assert [(e.sent, e.crashed) for e in emits] == [(False, True)]
    assert summarize(emits, outcome.changes).unsent == 1


def test_dying_before_the_commit_leaves_events_of_a_rolled_back_transaction(
    local_target: Target, tmp_path: Path
) -> None:
    built, queue = _gateway(local_target, tmp_path, "before_commit", failure_ratio=1.0)

    outcome = _run(local_target, built, Plan("insert", None, False, dict(WIDGET)))

    assert not outcome.committed and outcome.changes[0].status == ABORTED
    with psycopg.connect(local_target.source_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM widgets").fetchone() == (0,)
    sent = _messages(local_target, queue)
    assert [m["requestId"] for m in sent] == [str(outcome.changes[0].txid)]  # a phantom


def test_the_outbox_commits_or_rolls_back_with_the_transaction(
    local_target: Target, tmp_path: Path
) -> None:
    built, queue = _gateway(local_target, tmp_path, "outbox")
    _run(local_target, built, Plan("insert", None, False, dict(WIDGET)))
    _run(local_target, built, Plan("insert", None, True, dict(WIDGET)))  # rolled back

    with psycopg.connect(local_target.source_dsn) as conn:
        bodies = [json.loads(b) for (b,) in conn.execute(f"SELECT body FROM {OUTBOX_TABLE}")]
    assert [b["type"] for b in bodies] == ["INSERT"]
    assert _messages(local_target, queue) == []  # the relay sends, not the application


def test_the_relay_sends_a_transaction_that_commits_after_a_later_one_was_sent(
    local_target: Target, tmp_path: Path
) -> None:
    _, queue = _gateway(local_target, tmp_path, "outbox")
    sqs = local_target.aws.client("sqs")
    body = json.dumps(
        {"requestId": "7", "id": "1", "type": "INSERT", "source": "widgets", "data": {"version": 1}}
    )
    records = RecordWriter(tmp_path / "emits-relay-test.csv", Emit)
    with (
        psycopg.connect(local_target.source_dsn) as late,
        psycopg.connect(local_target.source_dsn, autocommit=True) as relay,
    ):
        late.execute(f"INSERT INTO {OUTBOX_TABLE} (body) VALUES (%s)", (body,))  # takes id 1
        relay.execute(
            f"INSERT INTO {OUTBOX_TABLE} (body) VALUES (%s)", (body.replace('"1"', '"2"'),)
        )
        assert relay_once(relay, sqs, queue, records) == 1  # id 2 is sent first
        late.commit()  # id 1 commits after id 2 was sent
        assert relay_once(relay, sqs, queue, records) == 1
        assert relay_once(relay, sqs, queue, records) == 0
    records.close()

    assert sorted(m["id"] for m in _messages(local_target, queue)) == ["1", "2"]
    assert [e.key for e in read_emits(tmp_path)] == ["2", "1"]


def test_the_relay_process_reconnects_to_a_restarted_source(
    local_target: Target, tmp_path: Path
) -> None:
    """The source restarts under the running relay (the `source_restart` fault): it drops
    the relay's connection and refuses it for a while; the relay connects again and sends
    what was committed before and after."""
    built, queue = _gateway(local_target, tmp_path, "outbox")
    env = {**local_target.aws.env(), DSN_VARIABLE: local_target.source_dsn}
    args = ["--spec", str(tmp_path / "application.json"), "--ledger-dir", str(tmp_path)]
    relay = spawn(RELAY, args, tmp_path / "relay.log", env)
    try:
        _run(local_target, built, Plan("insert", None, False, dict(WIDGET)))
        wait_for(lambda: len(_messages(local_target, queue)) == 1, "the first event sent")
        local_target.take_down("source", True)
        time.sleep(1.0)  # ten polls refused
        local_target.take_down("source", False)
        _run(local_target, built, Plan("insert", None, False, dict(WIDGET)))
        wait_for(lambda: len(_messages(local_target, queue)) == 1, "the second event sent")
        assert relay.poll() is None, (tmp_path / "relay.log").read_text()
    finally:
        stop(relay)


def test_a_refused_send_is_recorded_in_one_line_and_the_change_stays_committed(
    local_target: Target, tmp_path: Path
) -> None:
    built, queue = _gateway(local_target, tmp_path, "after_commit")
    local_target.aws.client("sqs").delete_queue(QueueUrl=queue)

    outcome = _run(local_target, built, Plan("insert", None, False, dict(WIDGET)))

    assert outcome.committed
    summary = summarize(_emits(built, tmp_path), outcome.changes)
    assert summary is not None and summary.failed == 1 and summary.sent == 0
    assert summary.first_error and "\n" not in summary.first_error
    assert "NonExistentQueue" in summary.first_error


def test_a_queue_whose_sends_are_denied_loses_the_after_commit_events_not_the_outboxs(
    local_target: Target, tmp_path: Path
) -> None:
    """The queue_sends_denied fault through the local target's API: its policy's Deny refuses
    every send (the application records each, never sent) until the policy is put back; the
    relay's refused batch stays in the outbox and goes once sends are accepted again."""
    kind = KINDS["queue_sends_denied"]
    (tmp_path / "app").mkdir()
    (tmp_path / "relay").mkdir()
    built, queue = _gateway(local_target, tmp_path / "app", "after_commit")
    _, outbox_queue = _gateway(local_target, tmp_path / "relay", "outbox")
    sqs = local_target.aws.client("sqs")
    own = {"Version": "2012-10-17", "Statement": [{"Sid": "own", "Effect": "Allow",
           "Principal": "*", "Action": "sqs:ReceiveMessage", "Resource": "*"}]}  # fmt: skip
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"Policy": json.dumps(own)})
    assert kind.unavailable(local_target) is None
    records = RecordWriter(tmp_path / "relay" / "emits-relay-test.csv", Emit)

    before = kind.start(local_target, [queue, outbox_queue], 10.0)
    lost = _run(local_target, built, Plan("insert", None, False, dict(WIDGET)))
    with pytest.raises(ClientError, match="AccessDenied"):
        sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": "1", "MessageBody": "{}"}])
    with psycopg.connect(local_target.source_dsn, autocommit=True) as relay:
        event = {"requestId": "7", "id": "9", "type": "INSERT", "source": "widgets",
                 "data": {"version": 1}}  # fmt: skip
        relay.execute(f"INSERT INTO {OUTBOX_TABLE} (body) VALUES (%s)", (json.dumps(event),))
        assert relay_once(relay, sqs, outbox_queue, records) == 1  # refused: the row stays
        kind.end(local_target, [queue, outbox_queue], before)
        assert relay_once(relay, sqs, outbox_queue, records) == 1  # accepted now
    records.close()
    sent = _run(local_target, built, Plan("insert", None, False, dict(WIDGET)))

    assert [m["id"] for m in _messages(local_target, queue)] == [sent.changes[0].key]
    assert [m["id"] for m in _messages(local_target, outbox_queue)] == ["9"]
    emits = _emits(built, tmp_path / "app")
    assert [(e.key, e.sent) for e in emits] == [
        (lost.changes[0].key, False),
        (sent.changes[0].key, True),
    ]
    assert "AccessDenied" in emits[0].error
    assert never_sent(emits, lost.changes + sent.changes) == [lost.changes[0]]
    assert [(e.key, e.sent) for e in read_emits(tmp_path / "relay")] == [("9", False), ("9", True)]
    policy = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"])["Attributes"]
    assert json.loads(policy["Policy"]) == own  # put back as it was
    assert "Policy" not in sqs.get_queue_attributes(
        QueueUrl=outbox_queue, AttributeNames=["Policy"]
    ).get("Attributes", {})
