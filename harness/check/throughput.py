"""Throughput over time: changes offered (by intended time), committed (by commit
acknowledgement) and observed in each projection (by sighting), per second in windows of
the run's lag window, from the first commit on (the origin of the lag windows too)."""

from collections import Counter
from collections.abc import Iterable, Mapping

from pydantic import BaseModel

from harness.load.ledger import COMMITTED, Change
from harness.observe.base import Observation


class Throughput(BaseModel):
    origin_ns: int
    """The first commit acknowledgement: window 0 starts here."""
    window_s: float
    offered_per_s: list[float]
    committed_per_s: list[float]
    observed_per_s: dict[str, list[float]]
    """Per projection."""


def measure_throughput(
    changes: list[Change], observed: Mapping[str, Iterable[Observation]], window_s: float
) -> Throughput | None:
    """None without a committed change."""
    committed = [c.acked_ns for c in changes if c.status == COMMITTED]
    if not committed:
        return None
    origin, window_ns = min(committed), int(window_s * 1e9)

    def rates(times: Iterable[int]) -> Counter[int]:
        return Counter(max(0, (t - origin) // window_ns) for t in times)

    offered = rates(c.intended_ns for c in changes)
    series = {name: rates(o.seen_ns for o in seen) for name, seen in observed.items()}
    width = 1 + max(max(s, default=0) for s in (offered, *series.values()))
    width = max(width, 1 + max(rates(committed)))

    def per_s(counts: Counter[int]) -> list[float]:
        return [round(counts[i] / window_s, 3) for i in range(width)]

    return Throughput(
        origin_ns=origin,
        window_s=window_s,
        offered_per_s=per_s(offered),
        committed_per_s=per_s(rates(committed)),
        observed_per_s={name: per_s(counts) for name, counts in series.items()},
    )
