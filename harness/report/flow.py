"""The hops of each pattern of a run, for the report: from its descriptor, how changes flow
(source -> ... -> projection, each hop with what carries it and its configured window: the
projection's floor less its upstream's), beside the lag measured over each hop and AWS's
published figure for that kind of hop (`published_hops.yaml`, dated, a source per line).
"""

import functools
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from harness.check.lag import Percentiles
from harness.patterns import patterns
from harness.patterns.descriptor import Hop
from harness.report.results import PatternResult, Results
from harness.yaml_file import read_yaml

PUBLISHED = Path(__file__).with_name("published_hops.yaml")
SOURCE = "source"


class PublishedFigure(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    figure: str
    up_to_ms: float | None = None
    """The delay it implies for one change, where it gives one."""
    source: str


class PublishedHops(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    as_of: date
    hops: dict[str, PublishedFigure]


@functools.cache
def published_hops() -> PublishedHops:
    return PublishedHops.model_validate(read_yaml(PUBLISHED, "published hop figures"))


class HopRow(BaseModel):
    pattern: str
    upstream: str
    """A projection, or `SOURCE`."""
    projection: str
    via: str
    window_ms: float
    measured: Percentiles | None
    """From the upstream's sighting (from commit where the upstream is the source)."""
    published: PublishedFigure | None


def hop_rows(results: Results) -> list[HopRow]:
    """Every hop of every pattern of the run that has a descriptor, in descriptor order."""
    rows = []
    for name, result in results.patterns.items():
        pattern = patterns().get(result.pattern or name)
        if pattern is None:
            continue
        for projection in pattern.projections:
            measured = result.projections.get(projection.name)
            if measured is None:
                continue
            rows.append(_row(name, result, projection.name, projection.hop))
    return rows


def chains(rows: list[HopRow]) -> dict[str, list[list[HopRow]]]:
    """Per pattern, each path from the source to a projection nothing is fed from."""
    found: dict[str, list[list[HopRow]]] = {}
    for pattern in dict.fromkeys(r.pattern for r in rows):
        hops = {r.projection: r for r in rows if r.pattern == pattern}
        fed = {r.upstream for r in hops.values()}
        paths = []
        for leaf in (p for p in hops if p not in fed):
            path = [hops[leaf]]
            while path[0].upstream in hops:
                path.insert(0, hops[path[0].upstream])
            paths.append(path)
        found[pattern] = paths
    return found


def _row(name: str, result: PatternResult, projection: str, hop: Hop) -> HopRow:
    upstream = hop.upstream
    measured = result.projections[projection]
    floor_up = result.projections[upstream].floor_ms if upstream in result.projections else 0.0
    if upstream:
        lag = measured.hop.ms if measured.hop else None
    else:
        lag = measured.lag.from_commit_ms if measured.lag else None
    return HopRow(
        pattern=name,
        upstream=upstream or SOURCE,
        projection=projection,
        via=hop.via,
        window_ms=max(0.0, measured.floor_ms - floor_up),
        measured=lag,
        published=published_hops().hops.get(hop.published) if hop.published else None,
    )
