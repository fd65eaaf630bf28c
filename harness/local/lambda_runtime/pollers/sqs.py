"""SQS event-source mapping: long-polls the queue, invokes the function with batches in
Lambda's SQS event shape, and deletes the messages the function handled.

Hand-written: Lambda's SQS poller runs only inside AWS, and no library reproduces it.

AWS semantics kept:
- Batches of up to BatchSize (default 10) gathered within MaximumBatchingWindowInSeconds
  (default 0; FIFO queues have no window), ReceiveMessage taking at most 10 at a time, and
  never more than Lambda's 6 MB invocation payload (messages beyond it are released at once).
- Success deletes the batch; a function error or timeout leaves it, so it comes back after
  the queue's visibility timeout and moves to the dead-letter queue after maxReceiveCount.
- A throttled batch (no concurrency left) never reached the function: it is tried again,
  backing off, until its messages' visibility timeout would run out, and only then left to
  come back ("Lambda continues to retry the message until the message's timestamp exceeds
  your queue's visibility timeout", Lambda operator guide, sqs-retries).
- With ReportBatchItemFailures, `{"batchItemFailures": [{"itemIdentifier": id}]}` keeps only
  those messages; an empty or unknown identifier, or a response that is not a JSON object,
  fails the whole batch. On FIFO queues, skipping the rest of a failed message group is the
  function's duty, as AWS documents: what it does not report is deleted.
- FIFO order per message group holds because the queue hands out one group's messages to
  one batch at a time.

- Concurrent batches: "When messages are available, Lambda starts processing five batches at
  a time with five concurrent invocations" (Lambda Developer Guide, services-sqs-scaling),
  at most ScalingConfig.MaximumConcurrency. Here one lane gathers and delivers batches; a
  lane that gathered a full batch (more are likely waiting) opens another, up to five or
  MaximumConcurrency, and a lane other than the first closes when its long poll finds the
  queue empty: a backlog is worked by several batches at once, a trickle by one. The
  function's reserved concurrency bounds the invocations themselves (`Functions`).

Long polls are cut into 1 s slices so `stop()` is prompt; a long poll returns as soon as a
message arrives, so the slicing adds no latency.
"""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

from botocore.exceptions import ClientError

from harness.local.lambda_runtime.invocation import Invocation
from harness.local.lambda_runtime.pollers.base import (
    PAYLOAD_LIMIT,
    THROTTLED,
    MappingContext,
    Poller,
    backoff,
    payload_size,
)

_SLICE_S = 1
_SHORT_POLL_PAUSE_S = 0.1
_RECEIVE_MAX = 10
LANES = 5
"""Batches Lambda processes at once when messages are available."""
_ATTRIBUTE_ORDER = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "SenderId",
    "MessageDeduplicationId",
    "ApproximateFirstReceiveTimestamp",
)
"""The order of the system attributes in AWS's event examples (others follow)."""


class SqsPoller(Poller):
    """Polls one queue for one mapping."""

    def __init__(self, ctx: MappingContext) -> None:
        super().__init__(ctx)
        self.arn = str(self.mapping["EventSourceArn"])
        _, _, _, self.region, self.account, self.queue_name = self.arn.split(":", 5)
        self.fifo = self.queue_name.endswith(".fifo")
        self.batch_size = int(self.mapping.get("BatchSize") or 10)
        window = self.mapping.get("MaximumBatchingWindowInSeconds") or 0
        self.window_s = 0.0 if self.fifo else float(window)
        self.report_items = "ReportBatchItemFailures" in (
            self.mapping.get("FunctionResponseTypes") or ()
        )
        scaling = self.mapping.get("ScalingConfig") or {}
        self.max_lanes = min(LANES, int(scaling.get("MaximumConcurrency") or LANES))
        self._lanes_lock = threading.Lock()
        self._lanes: list[threading.Thread] = []
        """The lanes opened besides the first (finished ones are dropped when one opens)."""
        self._open_lanes = 0
        self._visibility: float | None = None

    def run(self) -> None:
        sqs = self.ctx.aws.client("sqs")
        try:
            queue = {"QueueName": self.queue_name, "QueueOwnerAWSAccountId": self.account}
            url = sqs.get_queue_url(**queue)["QueueUrl"]
        except ClientError as exc:
            self.ctx.fail(f"SQS queue {self.arn} cannot be read: {exc}")
            return
        self._open_lane()
        self._lane(sqs, url, first=True)
        with self._lanes_lock:
            lanes = list(self._lanes)
        for lane in lanes:  # each returns soon after `stopping` is set
            lane.join()

    def _lane(self, sqs: Any, url: str, first: bool) -> None:
        """Gather and deliver batches until stopped (or, unless `first`, the queue is empty)."""
        try:
            while not self.stopping.is_set():
                records = self._gather(sqs, url)
                if not records and not first:
                    return
                if len(records) >= self.batch_size:
                    self._widen(url)
                if records and not self._deliver(sqs, url, records):
                    return  # failed for good: `invoke` stopped every lane
        finally:
            with self._lanes_lock:
                self._open_lanes -= 1

    def _widen(self, url: str) -> None:
        """Open one more lane if the limit allows."""
        if not self._open_lane():
            return
        sqs = self.ctx.aws.client("sqs")
        lane = threading.Thread(
            target=self.guarded,
            args=(lambda: self._lane(sqs, url, first=False),),
            name=f"esm-{self.mapping['UUID'][:8]}-lane",
            daemon=True,
        )
        with self._lanes_lock:
            self._lanes = [t for t in self._lanes if t.is_alive()] + [lane]
        lane.start()

    def _open_lane(self) -> bool:
        with self._lanes_lock:
            if self._open_lanes >= self.max_lanes:
                return False
            self._open_lanes += 1
            return True

    def _gather(self, sqs: Any, url: str) -> list[dict[str, Any]]:
        """One batch: the first long poll's messages, then more until the batch is full, the
        window (counted from the first message) closes or the payload limit is reached."""
        records: list[dict[str, Any]] = []
        released: list[dict[str, Any]] = []
        size = payload_size({"Records": []})
        wait_s = min(self.ctx.timing.sqs_wait_s, _SLICE_S)
        deadline: float | None = None
        while len(records) < self.batch_size and not released and not self.stopping.is_set():
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wait_s = min(_SLICE_S, int(remaining))
            received = self._receive(sqs, url, self.batch_size - len(records), wait_s)
            for record in received:
                record_size = payload_size(record)
                if records and size + record_size > PAYLOAD_LIMIT:
                    released.append(record)
                else:
                    records.append(record)
                    size += record_size
            if deadline is None:
                if not records:
                    return []
                deadline = time.monotonic() + self.window_s
            elif not received and wait_s == 0:
                self.stopping.wait(min(remaining, _SHORT_POLL_PAUSE_S))
        if self.stopping.is_set():  # stopping: hand everything back rather than invoke
            released += records
            records = []
        _per_ten(sqs.change_message_visibility_batch, url, released, VisibilityTimeout=0)
        return records

    def _receive(self, sqs: Any, url: str, wanted: int, wait_s: int) -> list[dict[str, Any]]:
        answer = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(_RECEIVE_MAX, wanted),
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return [self._record(message) for message in answer.get("Messages", [])]

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        """One message as Lambda's SQS event has it."""
        received = message.get("Attributes", {})
        attributes = {k: received[k] for k in _ATTRIBUTE_ORDER if k in received}
        attributes.update({k: v for k, v in received.items() if k not in attributes})
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": attributes,
            "messageAttributes": {
                name: _message_attribute(value)
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message["MD5OfBody"],
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        record.update(eventSource="aws:sqs", eventSourceARN=self.arn, awsRegion=self.region)
        return record

    def _deliver(self, sqs: Any, url: str, records: list[dict[str, Any]]) -> bool:
        """Invoke on the batch and delete what succeeded; False if the mapping failed for good."""
        invisible_until = time.monotonic() - self.window_s + self._visibility_s(sqs, url)
        throttles = 0
        while True:
            invocation = self.invoke({"Records": records})
            if invocation is None:
                return False
            if not (invocation.error and invocation.error.error_type == THROTTLED):
                break
            self.ctx.report("PROBLEM: Function call failed")
            wait_s = backoff(throttles)
            throttles += 1
            if time.monotonic() + wait_s >= invisible_until or self.stopping.wait(wait_s):
                return True  # left invisible: the messages come back after their timeout
        kept = self._failed(records, invocation)
        # A handle that stopped working (the message came back after its visibility timeout
        # and was received again) fails alone and SQS keeps the message, as on AWS.
        done = [r for r in records if r["messageId"] not in kept]
        _per_ten(sqs.delete_message_batch, url, done)
        self.ctx.report("PROBLEM: Function call failed" if invocation.error else "OK")
        return True

    def _visibility_s(self, sqs: Any, url: str) -> float:
        """The queue's visibility timeout (read once: what a throttled batch may wait)."""
        if self._visibility is None:
            found = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
            self._visibility = float(found["Attributes"]["VisibilityTimeout"])
        return self._visibility

    def _failed(self, records: list[dict[str, Any]], invocation: Invocation) -> set[str]:
        """The ids of the messages to leave on the queue."""
        every = {r["messageId"] for r in records}
        if invocation.error:
            return every
        if not self.report_items:
            return set()
        return batch_item_failures(invocation.payload, every)


def batch_item_failures(payload: Any, ids: set[str]) -> set[str]:
    """The message ids a ReportBatchItemFailures response names; all of `ids` when the
    response is invalid (not an object, or an item without a known identifier)."""
    if payload is None:
        return set()
    if not isinstance(payload, dict):
        return ids
    items = payload.get("batchItemFailures")
    if items is None:
        return set()
    if not isinstance(items, list):
        return ids
    failed: set[str] = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in ids:
            return ids
        failed.add(identifier)
    return failed


def _per_ten(call: Any, url: str, records: list[dict[str, Any]], **entry: Any) -> None:
    """A batch call on the records' receipt handles, ten entries per request."""
    for start in range(0, len(records), _RECEIVE_MAX):
        chunk = records[start : start + _RECEIVE_MAX]
        entries = [
            {"Id": str(i), "ReceiptHandle": r["receiptHandle"], **entry}
            for i, r in enumerate(chunk)
        ]
        call(QueueUrl=url, Entries=entries)


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    """A message attribute in the event's camel case, binary values base64."""
    out: dict[str, Any] = {}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = _b64(value["BinaryValue"])
    out["stringListValues"] = list(value.get("StringListValues", []))
    out["binaryListValues"] = [_b64(v) for v in value.get("BinaryListValues", [])]
    out["dataType"] = value["DataType"]
    return out


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
