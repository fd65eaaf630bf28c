"""Per-change lag: first time a projection shows a change's version (or a later one)
minus the change's time.

Lag is taken from the commit acknowledgement and from the intended start
(coordinated-omission-free), recorded in HDR histograms (µs, 3 significant
digits) and summarised as percentiles in milliseconds, overall and per window of
commit time. In a state projection, a change overwritten before the projection showed it is
"superseded": its lag is counted until the newer version appeared (or the row's removal,
which covers every version), and so in a net-change feed (change tracking skips a key's
intermediate versions). A row the source deleted before a state projection showed any of it
is "skipped": it never had to hold the row, so nothing shows when its changes went. An event
log or store of every change shows each change itself (`exact`): one it never showed is
unseen, whatever came after.
Sightings of a rolled-back transaction's change (where the projection names the
transaction) are no one's; a change shown before its commit was acknowledged (an event sent
before the commit) lags 1 µs.
"""

import bisect
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable

from hdrh.histogram import HdrHistogram
from pydantic import BaseModel

from harness.load.ledger import COMMITTED, Change, Entity, final_state
from harness.observe.base import Observation

_MAX_LAG_US = 3_600 * 1_000_000
_PERCENTILES = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}
_CDF_PERCENTILES = (0, 1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 98, 99, 99.5, 99.9, 99.99, 100)
"""Where the lag distribution is sampled for its CDF (denser in the tail)."""
_SUB_BUCKET_BITS = 11
"""Bits of a value an HDR histogram of 3 significant digits keeps exactly (2048 sub-buckets)."""


class Percentiles(BaseModel):
    count: int
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    p999: float | None = None
    max: float | None = None


class LagWindow(BaseModel):
    start_s: float
    """Window start, seconds after the first commit."""
    count: int
    p50: float
    p99: float
    max: float


class CdfPoint(BaseModel):
    ms: float
    fraction: float
    """Share of the changes seen with a lag from commit up to `ms`."""


class LagReport(BaseModel):
    from_commit_ms: Percentiles
    from_intent_ms: Percentiles
    over_time: list[LagWindow]
    """Lag from commit, by window of commit time."""
    seen: int
    unseen: int
    """Committed changes the projection never showed (nor anything newer)."""
    superseded: int
    skipped: int = 0
    """Committed changes of rows deleted before a state projection showed any of them."""
    cdf: list[CdfPoint] = []
    """The distribution of lag from commit, sampled at fixed percentiles."""


def _histogram(lags_us: Iterable[int]) -> HdrHistogram:
    """An HDR histogram of the lags. Each lag is first rounded down to the lowest value of
    its histogram bucket (what recording it would do) and equal ones are recorded once with
    their count: recording value by value costs most of the whole lag computation."""
    counts: Counter[int] = Counter()
    for lag in lags_us:
        shift = lag.bit_length() - _SUB_BUCKET_BITS
        counts[lag if shift <= 0 else lag >> shift << shift] += 1
    histogram = HdrHistogram(1, _MAX_LAG_US, 3)
    for lag, count in counts.items():
        histogram.record_value(lag, count)
    return histogram


def _summary(histogram: HdrHistogram) -> Percentiles:
    count = histogram.get_total_count()
    if not count:
        return Percentiles(count=0)
    at = histogram.get_percentile_to_value_dict(list(_PERCENTILES.values()))
    values = {name: at[p] / 1000 for name, p in _PERCENTILES.items()}
    return Percentiles(count=count, max=histogram.get_max_value() / 1000, **values)


class _FirstShown:
    """For one entity: when each version (or a newer one) first appeared."""

    def __init__(self, observations: list[Observation]) -> None:
        observations.sort(key=lambda o: o.seen_ns)
        self.times = [o.seen_ns for o in observations]
        self.versions = [o.version for o in observations]
        self.newest = list(itertools.accumulate(self.versions, max))

    def first(self, version: int, exact: bool = False) -> tuple[int, int] | None:
        """(seen_ns, version shown) of the first observation at or past `version` (`exact`:
        of `version` itself)."""
        if exact:
            i = self.versions.index(version) if version in self.versions else len(self.versions)
            return (self.times[i], version) if i < len(self.versions) else None
        i = bisect.bisect_left(self.newest, version)
        if i == len(self.newest):
            return None
        return self.times[i], self.versions[i]


def _shown(changes: list[Change], observations: Iterable[Observation]) -> dict[Entity, _FirstShown]:
    rolled_back = {c.txid for c in changes if c.status != COMMITTED}
    by_entity: dict[Entity, list[Observation]] = defaultdict(list)
    for observation in observations:
        if not observation.txid or observation.txid not in rolled_back:  # not a phantom
            by_entity[observation.entity].append(observation)
    return {entity: _FirstShown(obs) for entity, obs in by_entity.items()}


class Sightings(dict[tuple[str, str, int], int]):
    """When a projection first showed each committed change, as its lag counts it:
    (table, key, version) -> seen_ns, for the changes it showed; `versions`: the version it
    showed then (newer where the change was superseded); `entities`: every row it showed."""

    def __init__(self, exact: bool, entities: set[Entity]) -> None:
        super().__init__()
        self.exact = exact
        self.entities = entities
        self.versions: dict[tuple[str, str, int], int] = {}


def sightings(
    changes: Iterable[Change], observations: Iterable[Observation], exact: bool = False
) -> Sightings:
    """Each committed change's first sighting; `exact`: only by its own version (event logs
    and stores)."""
    changes = list(changes)
    shown = _shown(changes, observations)
    found = Sightings(exact, set(shown))
    for change in changes:
        entity_shown = shown.get(change.entity)
        first = entity_shown.first(change.version, exact) if entity_shown else None
        if change.status == COMMITTED and first is not None:
            found[change.table, change.key, change.version] = first[0]
            found.versions[change.table, change.key, change.version] = first[1]
    return found


def percentiles_ms(lags_us: Iterable[int]) -> Percentiles:
    """Percentiles in ms of lags in µs (each at least 1 µs), as lag reports them."""
    return _summary(_histogram(min(max(1, lag), _MAX_LAG_US) for lag in lags_us))


def measure_lag(
    changes: Iterable[Change],
    observations: Iterable[Observation],
    window_s: float,
    exact: bool = False,
) -> LagReport:
    """Lag of every committed change; `exact`: a change counts as shown only by its own
    version (event logs and stores)."""
    changes = list(changes)
    return lag_report(changes, sightings(changes, observations, exact), window_s)


def lag_report(changes: Iterable[Change], sighted: Sightings, window_s: float) -> LagReport:
    """Lag of every committed change from the projection's sightings of them."""
    from_commit: list[int] = []
    from_intent: list[int] = []
    windows: dict[int, list[int]] = defaultdict(list)
    seen = unseen = superseded = skipped = 0
    committed = [c for c in changes if c.status == COMMITTED]
    gone = (
        set()
        if sighted.exact
        else {e for e, c in final_state(committed).items() if c.op == "delete"}
    )
    origin = min((c.acked_ns for c in committed), default=0)
    window_ns = int(window_s * 1e9)
    for change in committed:
        version = (change.table, change.key, change.version)
        seen_ns = sighted.get(version)
        if seen_ns is None:
            if change.entity not in sighted.entities and change.entity in gone:
                skipped += 1
            else:
                unseen += 1
            continue
        version_shown = sighted.versions[version]
        seen += 1
        superseded += version_shown > change.version and change.op != "delete"
        lag_us = min(max(1, (seen_ns - change.acked_ns) // 1000), _MAX_LAG_US)
        from_commit.append(lag_us)
        from_intent.append(min(max(1, (seen_ns - change.intended_ns) // 1000), _MAX_LAG_US))
        windows[(change.acked_ns - origin) // window_ns].append(lag_us)

    over_time = []
    for index in sorted(windows):
        summary = _summary(_histogram(windows[index]))
        over_time.append(
            LagWindow(
                start_s=round(index * window_s, 3),
                count=summary.count,
                p50=summary.p50 or 0.0,
                p99=summary.p99 or 0.0,
                max=summary.max or 0.0,
            )
        )
    commit_histogram = _histogram(from_commit)
    return LagReport(
        from_commit_ms=_summary(commit_histogram),
        from_intent_ms=_summary(_histogram(from_intent)),
        over_time=over_time,
        seen=seen,
        unseen=unseen,
        superseded=superseded,
        skipped=skipped,
        cdf=_cdf(commit_histogram),
    )


def _cdf(histogram: HdrHistogram) -> list[CdfPoint]:
    if not histogram.get_total_count():
        return []
    at = histogram.get_percentile_to_value_dict(list(_CDF_PERCENTILES))
    return [CdfPoint(ms=at[p] / 1000, fraction=round(p / 100, 6)) for p in _CDF_PERCENTILES]
