"""Kinesis: constant-time shard sequence bounds."""

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
