"""Kinesis: puts to a shard one at a time, so no record replaces another."""

import threading
from typing import Any

from harness.local.moto_fixes.guard import fix


@fix("moto.kinesis.models.Shard.put_record")
def atomic_puts() -> None:
    # moto numbers a record as the shard's last number + 1 without a lock, and its server
    # runs requests in threads: two concurrent puts can take the same number, and the
    # second record then replaces the first (moto's own comment says it is not safe).
    from moto.kinesis.models import Shard

    lock = threading.Lock()
    put = Shard.put_record

    def put_record(self: Any, *args: Any, **kwargs: Any) -> str:
        with lock:
            return str(put(self, *args, **kwargs))

    Shard.put_record = put_record
