"""Kinesis: constant-time shard sequence bounds; puts to a shard one at a time."""

import threading
from typing import Any


def apply() -> None:
    from moto.kinesis.models import Shard

    # moto copies every record key of the shard to find the first or last one, on every
    # put: O(n) per record, so a stream slows down as it fills. The records dict is ordered.
    def first(self: Any) -> int:
        return next(iter(self.records), 0)

    def last(self: Any) -> int:
        return next(reversed(self.records), 0)

    Shard.get_min_sequence_number = first
    Shard.get_max_sequence_number = last

    # moto numbers a record as the shard's last number + 1 without a lock, and its server
    # runs requests in threads: two concurrent puts can take the same number, and the
    # second record then replaces the first (moto's own comment says it is not safe).
    lock = threading.Lock()
    put = Shard.put_record

    def put_record(self: Any, *args: Any, **kwargs: Any) -> str:
        with lock:
            return str(put(self, *args, **kwargs))

    Shard.put_record = put_record
