"""SQS: sending costs the same however full the queue is; receiving, deleting and changing
a message's visibility cost the same however many messages are in flight or delayed."""

import heapq
import itertools
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from harness.local.moto_fixes.guard import fix

_POLICIES = {"RedrivePolicy": "redrive_policy", "RedriveAllowPolicy": "redrive_allow_policy"}


class _Attributes(Mapping[str, Any]):
    """A queue's attributes, each computed when read (as moto's `Queue.attributes` would)."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def _names(self) -> list[str]:
        queue = self._queue
        names = list(queue.BASE_ATTRIBUTES)
        names += queue.FIFO_ATTRIBUTES if queue.fifo_queue else []
        names += queue.KMS_ATTRIBUTES if queue.kms_master_key_id else []
        if not getattr(queue, "redrive_allow_policy", None):  # shown only when set
            names = [n for n in names if n != "RedriveAllowPolicy"]
        return list(dict.fromkeys(names))

    def __getitem__(self, name: str) -> Any:
        from moto.core.utils import camelcase_to_underscores

        if name not in self._names():
            raise KeyError(name)
        if name in _POLICIES:  # compact JSON, as AWS shows them (`sqs.redrive_attributes`)
            policy = getattr(self._queue, _POLICIES[name], None)
            policy = json.loads(policy) if isinstance(policy, str) else policy
            return json.dumps(policy, separators=(",", ":")) if policy else None
        value = getattr(self._queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


@fix(
    "moto.sqs.models.Queue.attributes",
    "moto.sqs.models.Queue.BASE_ATTRIBUTES",
    "moto.sqs.models.Queue.FIFO_ATTRIBUTES",
    "moto.sqs.models.Queue.KMS_ATTRIBUTES",
    "moto.sqs.models.Queue().redrive_policy",
    "moto.core.utils.camelcase_to_underscores",
)
def lazy_queue_attributes() -> None:
    # moto builds every attribute of the queue, counting its messages twice, on each
    # SendMessage (to read ContentBasedDeduplication): sending n messages took O(n²), about
    # 0.3 s per batch of 10 into a queue of 1,000. Attributes are now computed when read.
    from moto.sqs.models import Queue

    Queue.attributes = property(_Attributes)


_INDEX = "_indexed_in"
"""The attribute naming the `_Messages` a message is in (for its visibility changes)."""


class _Messages:
    """A queue's messages (moto's `Queue._messages` list), in the order they came, indexed:
    those ready to receive (visible and not delayed) in that order, the others by when they
    may be, and each message by every receipt handle it was given. Each message has one
    entry in one of two heaps; an entry that no longer holds is emptied (its message let
    go) and dropped when met, and a heap is rebuilt when those outnumber the messages."""

    def __init__(self, messages: Iterable[Any] = ()) -> None:
        self._order: dict[Any, int] = {}
        self._ready: list[list[Any]] = []  # heap of [order, tiebreak, message or None]
        self._later: list[list[Any]] = []  # heap of [due ms, tiebreak, message or None]
        self._queued: dict[Any, list[Any]] = {}  # each ready message's entry in _ready
        self._due: dict[Any, list[Any]] = {}  # each other message's entry in _later
        self._handed: dict[Any, int] = {}  # in a walk (by how many): ready again after it
        self._handles: dict[str, Any] = {}
        self._numbers = itertools.count()
        self._lock = threading.RLock()
        for message in messages:
            self.append(message)

    # moto's list operations on `_messages`
    def append(self, message: Any) -> None:
        with self._lock:
            self._order[message] = next(self._numbers)
            vars(message)[_INDEX] = self
            for handle in message.all_receipt_handles:
                if handle:
                    self._handles[handle] = message
            self._place(message)

    def remove(self, message: Any) -> None:
        with self._lock:
            if message not in self._order:
                raise ValueError("message not in queue")
            self.discard(message)

    def discard(self, message: Any) -> None:
        with self._lock:
            if self._order.pop(message, None) is None:
                return
            _empty(self._queued.pop(message, None))
            _empty(self._due.pop(message, None))
            for handle in message.all_receipt_handles:
                if self._handles.get(handle) is message:
                    del self._handles[handle]
            self._compact()

    def __iter__(self) -> Iterator[Any]:
        with self._lock:
            return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, message: object) -> bool:
        return message in self._order

    def __deepcopy__(self, memo: dict[int, Any]) -> "_Messages":
        return self  # a received message's copy (moto answers with one) names the same queue

    # the index
    def holder(self, receipt_handle: str) -> Any:
        """The message that was given this receipt handle; None if none here was."""
        return self._handles.get(receipt_handle)

    def received(self, message: Any) -> None:
        with self._lock:
            if message in self._order:
                self._handles[message.receipt_handle] = message
                self._place(message)

    def moved(self, message: Any) -> None:
        """Its visibility changed."""
        with self._lock:
            self._place(message)

    def ready(self) -> Iterator[Any]:
        """The messages ready to receive, in order, each ready when handed out. Those handed
        out and still ready afterwards (not received) are ready again after the walk."""
        with self._lock:
            self._release()
        handed: list[Any] = []
        try:
            while (message := self._next_ready()) is not None:
                handed.append(message)
                yield message
        finally:
            with self._lock:
                for message in handed:
                    if walks := self._handed.pop(message) - 1:
                        self._handed[message] = walks
                    self._place(message)

    def any_ready(self) -> bool:
        with self._lock:
            self._release()
            while self._ready:
                message = self._ready[0][2]
                if message is not None and _ready(message):
                    return True
                heapq.heappop(self._ready)
                if message is not None:  # hidden or delayed since: back when due
                    del self._queued[message]
                    self._place(message)
            return False

    def count_ready(self) -> int:
        with self._lock:
            self._release()
            return sum(1 for _, _, m in self._ready if m is not None and _ready(m))

    def _next_ready(self) -> Any:
        with self._lock:
            while self._ready:
                message = heapq.heappop(self._ready)[2]
                if message is None:
                    continue
                del self._queued[message]
                if _ready(message):
                    self._handed[message] = self._handed.get(message, 0) + 1
                    return message
                self._place(message)  # hidden or delayed since: back when due
            return None

    def _place(self, message: Any) -> None:
        """Index a message where it belongs now: ready, or due later."""
        if message not in self._order:
            return
        if _ready(message):
            _empty(self._due.pop(message, None))
            if message not in self._queued and message not in self._handed:
                entry = [self._order[message], next(self._numbers), message]
                self._queued[message] = entry
                heapq.heappush(self._ready, entry)
            return
        _empty(self._queued.pop(message, None))
        due = max(message.visible_at, message.delayed_until)
        entry = self._due.get(message)
        if entry is None or entry[0] != due:
            _empty(entry)
            entry = self._due[message] = [due, next(self._numbers), message]
            heapq.heappush(self._later, entry)
            self._compact()

    def _release(self) -> None:
        """Make the messages whose time has come ready."""
        now = _now_ms()
        due_now = []
        while self._later and self._later[0][0] <= now:
            message = heapq.heappop(self._later)[2]
            if message is not None:
                del self._due[message]
                due_now.append(message)
        for message in due_now:
            self._place(message)

    def _compact(self) -> None:
        limit = 2 * len(self._order) + 64
        if len(self._ready) > limit:
            self._ready = list(self._queued.values())
            heapq.heapify(self._ready)
        if len(self._later) > limit:
            self._later = list(self._due.values())
            heapq.heapify(self._later)


def _empty(entry: list[Any] | None) -> None:
    """Let an entry's message go (the entry stays in its heap until met or rebuilt)."""
    if entry is not None:
        entry[2] = None


def _ready(message: Any) -> bool:
    return bool(message.visible and not message.delayed)


def _now_ms() -> float:
    """moto's SQS clock (what `Message.visible` reads)."""
    import moto.sqs.models

    return float(moto.sqs.models.unix_time_millis())


class _Ready:
    """`Queue.messages`: the messages ready to receive, in order (moto's list of them)."""

    def __init__(self, messages: _Messages) -> None:
        self._messages = messages

    def __iter__(self) -> Iterator[Any]:
        return self._messages.ready()

    def __bool__(self) -> bool:
        return self._messages.any_ready()

    def __len__(self) -> int:
        return self._messages.count_ready()


@fix(
    "moto.sqs.models.Queue()._messages",
    "moto.sqs.models.Queue.messages",
    "moto.sqs.models.Queue.delete_message",
    "moto.sqs.models.Queue().deleted_messages",
    "moto.sqs.models.Queue.pending_messages",
    "moto.sqs.models.SQSBackend.change_message_visibility",
    "moto.sqs.models.Message.mark_received",
    "moto.sqs.models.Message.change_visibility",
    "moto.sqs.models.Message.all_receipt_handles",
    "moto.sqs.models.Message().visible_at",
    "moto.sqs.models.Message().delayed_until",
    "moto.sqs.models.unix_time_millis",
)
def indexed_messages() -> None:
    # moto keeps a queue's messages in one list and walks all of it, in flight and delayed
    # ones too (checking the clock twice for each), on every ReceiveMessage (and again for
    # each second of a long poll); DeleteMessage and ChangeMessageVisibility walk it to find
    # the receipt handle, and DeleteMessage copies it. With 10,000 messages in flight a
    # receive took 40 ms and a delete 4 ms. The messages are now indexed (`_Messages`): a
    # receive walks only the messages ready to go, in moto's order, and a receipt handle
    # finds its message at once.
    from moto.sqs.exceptions import InvalidParameterValue, ReceiptHandleIsInvalid
    from moto.sqs.models import Message, Queue, SQSBackend

    def set_messages(self: Any, messages: Iterable[Any]) -> None:
        vars(self)["_messages"] = _Messages(messages)

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # already deleted: moto and AWS answer success
        message = self._messages.holder(receipt_handle)
        if message is None:
            raise ReceiptHandleIsInvalid()
        self._messages.discard(message)
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)

    def change_message_visibility(
        self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        queue = self.get_queue(queue_name)
        message = queue._messages.holder(receipt_handle)
        if message is None:
            raise ReceiptHandleIsInvalid
        until = _now_ms() + int(visibility_timeout) * 1000
        if until - message.sent_timestamp > 43200 * 1000:
            raise InvalidParameterValue(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. "
                "Reason: Total VisibilityTimeout for the message is beyond the limit "
                "[43200 seconds]"
            )
        message.change_visibility(visibility_timeout)
        if message.visible and message in queue.pending_messages:
            queue.pending_messages.remove(message)

    mark_received = Message.mark_received
    change_visibility = Message.change_visibility

    def mark_received_indexed(self: Any, *args: Any, **kwargs: Any) -> None:
        mark_received(self, *args, **kwargs)
        if (messages := vars(self).get(_INDEX)) is not None:
            messages.received(self)

    def change_visibility_indexed(self: Any, *args: Any, **kwargs: Any) -> None:
        change_visibility(self, *args, **kwargs)
        if (messages := vars(self).get(_INDEX)) is not None:
            messages.moved(self)

    Queue._messages = property(lambda self: vars(self)["_messages"], set_messages)
    Queue.messages = property(lambda self: _Ready(self._messages))  # type: ignore[assignment]
    Queue.delete_message = delete_message
    SQSBackend.change_message_visibility = change_message_visibility
    Message.mark_received = mark_received_indexed
    Message.change_visibility = change_visibility_indexed


@fix("moto.sqs.models.Queue.pending_message_groups", "moto.sqs.models.Queue().fifo_queue")
def no_groups_in_standard_queues() -> None:
    # moto gathers the message groups of every message in flight on each ReceiveMessage (and
    # again for each message back from its visibility timeout), to hold back the groups in
    # flight; only FIFO queues have groups to hold back.
    from moto.sqs.models import Queue

    groups = Queue.pending_message_groups

    def pending_message_groups(self: Any) -> set[str]:
        return groups.fget(self) if self.fifo_queue else set()  # type: ignore[attr-defined]

    Queue.pending_message_groups = property(pending_message_groups)  # type: ignore[assignment]
