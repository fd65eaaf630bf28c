"""SQS: sending costs the same however full the queue is."""

import json
from collections.abc import Iterator, Mapping
from typing import Any

from harness.local.moto_fixes.guard import fix


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
