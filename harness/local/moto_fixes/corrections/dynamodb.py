"""DynamoDB: each write is atomic, as on AWS."""

import functools
import threading
from typing import Any

from harness.local.moto_fixes.guard import fix

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")


@fix(*(f"moto.dynamodb.models.DynamoDBBackend.{name}" for name in _WRITES))
def atomic_writes() -> None:
    # moto's server runs requests in threads and its writes take no lock: two concurrent
    # conditional puts can both pass their condition, and two stream records can get the
    # same sequence number (it is the shard's length when the record is made). A reader
    # of the stream then gets one record again and again. One lock makes every write whole.
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()

    def atomic(write: Any) -> Any:
        @functools.wraps(write)
        def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return write(self, *args, **kwargs)

        return locked

    for name in _WRITES:
        setattr(DynamoDBBackend, name, atomic(getattr(DynamoDBBackend, name)))
