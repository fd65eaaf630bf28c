"""SQS: FIFO queues give every message an increasing SequenceNumber and hand messages that
come back after their visibility timeout out again in their group's order; concurrent
receivers of one queue never get the same message nor one FIFO group's messages at once; a
queue shows its redrive attributes as AWS does."""

import itertools
import threading
from typing import Any

from harness.local.moto_fixes.guard import fix

_FIRST_SEQUENCE = 18_000_000_000_000_000_000
"""Sequence numbers are 20-digit decimals, as AWS's are."""
_this_call = threading.local()
"""The messages the ReceiveMessage call running in this thread has handed out so far."""


@fix(
    "moto.sqs.models.Queue.add_message",
    "moto.sqs.models.Queue().fifo_queue",
    "moto.sqs.models.Message().sequence_number",
)
def fifo_sequence_numbers() -> None:
    # moto numbers a FIFO message only when the sender names a MessageDeduplicationId, and
    # at random; AWS numbers every FIFO message, in order (ReceiveMessage and Lambda's SQS
    # events show it). A message moved to a dead-letter queue keeps its number.
    from moto.sqs.models import Queue

    numbers = itertools.count(_FIRST_SEQUENCE)  # next() is atomic under the GIL
    add = Queue.add_message

    def add_message(self: Any, message: Any) -> None:
        if self.fifo_queue and not getattr(message, "numbered", False):
            message.sequence_number = str(next(numbers))
            message.numbered = True
        add(self, message)

    Queue.add_message = add_message


@fix(
    "moto.sqs.models.SQSBackend.receive_message",
    "moto.sqs.models.Message.mark_received",
    "moto.sqs.models.Message.visible",
    "moto.sqs.models.Message().group_id",
    "moto.sqs.models.Queue.pending_message_groups",
    "moto.sqs.models.Queue.pending_messages",
)
def fifo_group_order() -> None:
    # moto counts a group as in flight while any message it handed out is undeleted, even one
    # whose visibility timeout has passed or one handed out by the same call. After a failed
    # batch it then skips a group's first messages and hands out later ones first. A group is
    # in flight only while a message that an earlier call handed out is still invisible.
    from moto.sqs.models import Message, Queue, SQSBackend

    receive = SQSBackend.receive_message
    mark_received = Message.mark_received

    def receive_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        _this_call.handed = set()
        try:
            return receive(self, *args, **kwargs)
        finally:
            _this_call.handed = set()

    def mark_received_here(self: Any, *args: Any, **kwargs: Any) -> None:
        mark_received(self, *args, **kwargs)
        getattr(_this_call, "handed", set()).add(self)

    def pending_message_groups(self: Any) -> set[str]:
        handed = getattr(_this_call, "handed", set())
        return {
            m.group_id
            for m in self.pending_messages
            if m.group_id is not None and not m.visible and m not in handed
        }

    SQSBackend.receive_message = receive_message
    Message.mark_received = mark_received_here
    Queue.pending_message_groups = property(pending_message_groups)


@fix("moto.sqs.models.SQSBackend.receive_message", "moto.sqs.models.SQSBackend.get_queue")
def one_receive_at_a_time() -> None:
    # moto's ReceiveMessage checks that a message is visible, then marks it received, and
    # reads which FIFO groups are in flight once, when the call starts: two calls running at
    # once (Lambda reads a queue with several batches at a time) can both take one message,
    # or one group's messages each. Calls on one queue now run one at a time. A call that
    # waits for messages holds its queue only while none it could take are there.
    from moto.sqs.models import SQSBackend

    receive = SQSBackend.receive_message
    created = threading.Lock()

    def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
        queue = self.get_queue(queue_name)
        with created:
            lock = queue.__dict__.setdefault("_receiving", threading.Lock())
        with lock:
            return receive(self, queue_name, *args, **kwargs)

    SQSBackend.receive_message = receive_message


@fix("moto.sqs.models.Queue.attributes", "moto.sqs.models.Queue.BASE_ATTRIBUTES")
def redrive_attributes() -> None:
    # A dead-letter queue's RedriveAllowPolicy is kept but never shown (nor may it be asked
    # for by name), so Terraform's provider waits for it until it times out; and moto shows
    # RedrivePolicy as spaced JSON, AWS compact (the provider then plans a change on every
    # apply).
    import json

    from moto.sqs.models import Queue

    shown = Queue.attributes

    def attributes(self: Any) -> dict[str, Any]:
        result: dict[str, Any] = shown.fget(self)  # type: ignore[attr-defined]
        if self.redrive_policy:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
        allowed = getattr(self, "redrive_allow_policy", None)
        result.pop("RedriveAllowPolicy", None)
        if allowed:
            policy = json.loads(allowed) if isinstance(allowed, str) else allowed
            result["RedriveAllowPolicy"] = json.dumps(policy, separators=(",", ":"))
        return result

    Queue.redrive_allow_policy = None
    Queue.BASE_ATTRIBUTES = [*Queue.BASE_ATTRIBUTES, "RedriveAllowPolicy"]
    Queue.attributes = property(attributes)  # type: ignore[assignment]
