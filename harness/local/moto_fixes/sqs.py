"""SQS: sending costs the same however full the queue is; FIFO queues give every message an
increasing SequenceNumber and hand messages that come back after their visibility timeout
out again in their group's order."""

import itertools
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

_FIRST_SEQUENCE = 18_000_000_000_000_000_000
"""Sequence numbers are 20-digit decimals, as AWS's are."""
_this_call = threading.local()
"""The messages the ReceiveMessage call running in this thread has handed out so far."""


class _Attributes(Mapping[str, Any]):
    """A queue's attributes, each computed when read (as moto's `Queue.attributes` would)."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def _names(self) -> list[str]:
        queue = self._queue
        names = list(queue.BASE_ATTRIBUTES)
        names += queue.FIFO_ATTRIBUTES if queue.fifo_queue else []
        names += queue.KMS_ATTRIBUTES if queue.kms_master_key_id else []
        names += ["Policy"] if queue.policy else []
        names += ["RedrivePolicy"] if queue.redrive_policy else []
        return names

    def __getitem__(self, name: str) -> Any:
        from moto.core.utils import camelcase_to_underscores

        if name not in self._names():
            raise KeyError(name)
        if name == "Policy":
            return self._queue.policy
        if name == "RedrivePolicy":
            return json.dumps(self._queue.redrive_policy)
        value = getattr(self._queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


def apply() -> None:
    from moto.sqs.models import Message, Queue, SQSBackend

    # moto builds every attribute of the queue, counting its messages twice, on each
    # SendMessage (to read ContentBasedDeduplication): sending n messages took O(n²), about
    # 0.3 s per batch of 10 into a queue of 1,000. Attributes are now computed when read.
    Queue.attributes = property(_Attributes)

    numbers = itertools.count(_FIRST_SEQUENCE)  # next() is atomic under the GIL
    add = Queue.add_message

    def add_message(self: Any, message: Any) -> None:
        # moto numbers a FIFO message only when the sender names a MessageDeduplicationId,
        # and at random; AWS numbers every FIFO message, in order (ReceiveMessage and Lambda's
        # SQS events show it). A message moved to a dead-letter queue keeps its number.
        if self.fifo_queue and not getattr(message, "numbered", False):
            message.sequence_number = str(next(numbers))
            message.numbered = True
        add(self, message)

    # moto counts a group as in flight while any message it handed out is undeleted, even one
    # whose visibility timeout has passed or one handed out by the same call. After a failed
    # batch it then skips a group's first messages and hands out later ones first. A group is
    # in flight only while a message that an earlier call handed out is still invisible.
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

    Queue.add_message = add_message
    SQSBackend.receive_message = receive_message
    Message.mark_received = mark_received_here
    Queue.pending_message_groups = property(pending_message_groups)
