"""Throughput over time: changes offered (by intended time), committed (by commit
acknowledgement) and observed in each projection (by sighting), per second in windows of
the run's lag window, from the first commit on (the origin of the lag windows too)."""

from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel

from harness.load.ledger import Change, Ledger


class Throughput(BaseModel):
    origin_ns: int
    """The first commit acknowledgement: window 0 starts here."""
    window_s: float
    offered_per_s: list[float]
    committed_per_s: list[float]
    observed_per_s: dict[str, list[float]]
    """Per projection."""


def measure_throughput(
    changes: Sequence[Change], observed: Mapping[str, np.ndarray], window_s: float
) -> Throughput | None:
    """`observed`: per projection, when each observation was seen (ns). None without a
    committed change."""
    ledger = Ledger.of(changes)
    committed = ledger.numbers("acked_ns")[ledger.committed]
    if not len(committed):
        return None
    origin, window_ns = int(committed.min()), int(window_s * 1e9)

    def rates(times: np.ndarray) -> np.ndarray:
        """Count per window."""
        return np.bincount(np.maximum(0, (times - origin) // window_ns))

    offered, acknowledged = rates(ledger.numbers("intended_ns")), rates(committed)
    series = {name: rates(seen) for name, seen in observed.items()}
    width = max(1, *(len(counts) for counts in (offered, acknowledged, *series.values())))

    def per_s(counts: np.ndarray) -> list[float]:
        padded = np.zeros(width, dtype=np.int64)
        padded[: len(counts)] = counts
        return [round(n / window_s, 3) for n in padded.tolist()]

    return Throughput(
        origin_ns=origin,
        window_s=window_s,
        offered_per_s=per_s(offered),
        committed_per_s=per_s(acknowledged),
        observed_per_s={name: per_s(counts) for name, counts in series.items()},
    )
