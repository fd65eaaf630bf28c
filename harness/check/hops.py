"""Lag per hop: for a projection fed from another projection of its pattern (its
descriptor's `hop.from`), each change's time from its first sighting there to its first
sighting here, over the changes both showed. A projection fed from the source has no hop
lag of its own: its lag from commit is it."""

from pydantic import BaseModel

from harness.check.lag import Percentiles, Sightings, percentiles_ms


class HopLag(BaseModel):
    upstream: str
    ms: Percentiles
    """From the upstream projection's sighting to this one's (a change shown here first
    counts 1 µs)."""


def hop_lag(upstream: str, upstream_seen: Sightings, seen: Sightings) -> HopLag:
    """`upstream_seen` and `seen`: sightings of the changes of one ledger."""
    both = upstream_seen.seen & seen.seen
    return HopLag(
        upstream=upstream,
        ms=percentiles_ms((seen.seen_ns[both] - upstream_seen.seen_ns[both]) // 1000),
    )
