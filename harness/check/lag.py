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

Everything is computed column by column over the whole ledger and log; the histograms are
sorted arrays of their values each rounded down to its HDR bucket, read at a percentile as
`hdrh`'s HdrHistogram(1, 1 h, 3 digits) reads its counts.
"""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import Literal

import numpy as np
from pydantic import BaseModel

from harness.load.ledger import Change, Ledger
from harness.observe.base import Observation, Observations

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
    bound: Literal["pattern", "emulator", "observer"] | None = None
    """Whose the window's lag is (`check.attribution`); None where it was not judged."""


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


class _Histogram:
    """Lags (µs) as an HDR histogram of 3 significant digits holds them: `values`, each
    rounded down to the lowest value of its bucket (`_bucket`), sorted."""

    def __init__(self, values: np.ndarray) -> None:
        values.sort()
        self.values = values

    @property
    def count(self) -> int:
        return len(self.values)

    def at(self, percentiles: Iterable[float]) -> dict[float, int]:
        """Percentile -> value, as HdrHistogram.get_percentile_to_value_dict gives it."""
        return {p: _value_at(self.values, p) for p in percentiles}

    @property
    def max(self) -> int:
        return _highest(int(self.values[-1]))


_POWERS = np.left_shift(1, np.arange(63, dtype=np.int64))


def _bucket(lags_us: np.ndarray) -> np.ndarray:
    """Each lag (at least 1) rounded down in place to the lowest value of its HDR bucket
    (what recording it does); the lags."""
    shift = np.searchsorted(_POWERS, lags_us, side="right")  # the bit length
    shift -= _SUB_BUCKET_BITS
    np.maximum(shift, 0, out=shift)
    lags_us >>= shift
    lags_us <<= shift
    return lags_us


def _lags_us(until_ns: np.ndarray, since_ns: np.ndarray, at: np.ndarray) -> np.ndarray:
    """`until_ns - since_ns` at `at` in µs, between 1 and `_MAX_LAG_US`, bucketed."""
    lags = until_ns[at]
    lags -= since_ns[at]
    lags //= 1000
    return _bucket(np.clip(lags, 1, _MAX_LAG_US, out=lags))


def _highest(value: int) -> int:
    """The highest value of the bucket whose lowest is `value`."""
    return value + (1 << max(value.bit_length() - _SUB_BUCKET_BITS, 0)) - 1


def _value_at(values: np.ndarray, percentile: float) -> int:
    """The value at `percentile` of sorted bucket values: the bucket holding the target
    count's value, its highest value (its lowest at 0)."""
    target = max(int(min(percentile, 100.0) * len(values) / 100 + 0.5), 1)
    value = int(values[target - 1])
    return _highest(value) if percentile else value


def _summary(histogram: _Histogram) -> Percentiles:
    count = histogram.count
    if not count:
        return Percentiles(count=0)
    at = histogram.at(_PERCENTILES.values())
    values = {name: at[p] / 1000 for name, p in _PERCENTILES.items()}
    return Percentiles(count=count, max=histogram.max / 1000, **values)


class Sightings(Mapping[tuple[str, str, int], int]):
    """When a projection first showed each committed change of a ledger, as its lag counts
    it, by the change's index in the ledger: `seen` (it showed it), `seen_ns`, `later` (it
    showed a later version then: superseded); `entities`: every row it showed, by the
    ledger's entity number. As a mapping: (table, key, version) -> seen_ns of the changes
    it showed."""

    def __init__(
        self,
        ledger: Ledger,
        exact: bool,
        seen: np.ndarray,
        seen_ns: np.ndarray,
        later: np.ndarray,
        entities: np.ndarray,
    ) -> None:
        self.ledger, self.exact = ledger, exact
        self.seen, self.seen_ns, self.later = seen, seen_ns, later
        self.entities = entities

    @cached_property
    def _by_version(self) -> dict[tuple[str, str, int], int]:
        shown = np.flatnonzero(self.seen)
        changes = self.ledger.records(shown)
        return {
            (c.table, c.key, c.version): t
            for c, t in zip(changes, self.seen_ns[shown].tolist(), strict=True)
        }

    def without(self, rows: np.ndarray) -> "Sightings":
        """These sightings as if the changes at `rows` (ledger indices) were never shown."""
        seen = self.seen.copy()
        seen[rows] = False
        return Sightings(self.ledger, self.exact, seen, self.seen_ns, self.later, self.entities)

    def __getitem__(self, version: tuple[str, str, int]) -> int:
        return self._by_version[version]

    def __iter__(self) -> Iterator[tuple[str, str, int]]:
        return iter(self._by_version)

    def __len__(self) -> int:
        return int(np.count_nonzero(self.seen))


def sightings(
    changes: Sequence[Change], observations: Sequence[Observation], exact: bool = False
) -> Sightings:
    """Each committed change's first sighting; `exact`: only by its own version (event logs
    and stores)."""
    ledger, log = Ledger.of(changes), Observations.of(observations)
    seen_ns = log.numbers("seen_ns")
    # the observations that stand (no phantoms) in the order they were seen (by time, then
    # in log order)
    phantom = ledger.rolled_back_in(log.numbers("txid"))
    if phantom.any():
        stands = np.flatnonzero(~phantom)
        order = stands[np.argsort(seen_ns[stands], kind="stable")]
    else:
        order = np.argsort(seen_ns, kind="stable")
    del phantom
    seen = np.zeros(len(ledger), dtype=bool)
    first_ns = np.zeros(len(ledger), dtype=np.int64)
    later = np.zeros(len(ledger), dtype=bool)
    entity = ledger.entity_of(log)[order]
    entities = np.zeros(ledger.entities, dtype=bool)
    entities[entity[entity < ledger.entities]] = True
    del entity
    if len(order):
        changed, first = _first_sightings(ledger, log, order, exact)
        by = order[first]
        seen[changed] = True
        first_ns[changed] = seen_ns[by]
        later[changed] = log.numbers("version")[by] > ledger.numbers("version")[changed]
    return Sightings(ledger, exact, seen, first_ns, later, entities)


def _first_sightings(
    ledger: Ledger, log: Observations, order: np.ndarray, exact: bool
) -> tuple[np.ndarray, np.ndarray]:
    """For the sightings of `log` at `order` (in the order they were seen): the committed
    changes of the ledger shown, and the sighting (its place in `order`) that first showed
    each: of its version, or with `exact` false, of it or a later one."""
    wanted, committed = ledger.committed_keys
    if not len(committed):
        return committed, committed
    key = ledger.keys_of(
        ledger.entity_of(log)[order], log.numbers("version")[order], or_later=not exact
    )
    by_key = np.argsort(key, kind="stable")  # a stable sort: each key's first sighting first
    ordered = key[by_key]
    del key
    at = np.searchsorted(ordered, wanted)
    np.minimum(at, len(ordered) - 1, out=at)
    if exact:
        hit = ordered[at] == wanted
        return committed[hit], by_key[at[hit]]
    hit = ordered[at] >= wanted
    hit &= ledger.entity_in(ordered[at]) == ledger.entity_in(wanted)  # of the same entity
    # within each entity, from each key on: the first sighting of it or of a later version,
    # each sighting as (its entity's group, when it was seen) in one number, so that a
    # running minimum from the end stays within the group
    ordered = ledger.entity_in(ordered)
    earliest = np.zeros(len(ordered), dtype=np.int64)
    np.cumsum(ordered[1:] != ordered[:-1], out=earliest[1:])
    del ordered
    earliest *= len(by_key)
    earliest += by_key
    del by_key
    earliest = np.minimum.accumulate(earliest[::-1])[::-1]
    return committed[hit], earliest[at[hit]] % len(order)


def percentiles_ms(lags_us: np.ndarray) -> Percentiles:
    """Percentiles in ms of lags in µs (each at least 1 µs), as lag reports them."""
    lags = np.clip(lags_us, 1, _MAX_LAG_US).astype(np.int64)
    return _summary(_Histogram(_bucket(lags)))


def measure_lag(
    changes: Sequence[Change],
    observations: Sequence[Observation],
    window_s: float,
    exact: bool = False,
) -> LagReport:
    """Lag of every committed change; `exact`: a change counts as shown only by its own
    version (event logs and stores)."""
    ledger = Ledger.of(changes)
    return lag_report(ledger, sightings(ledger, observations, exact), window_s)


def lag_report(changes: Sequence[Change], sighted: Sightings, window_s: float) -> LagReport:
    """Lag of every committed change from the projection's sightings of them."""
    ledger = Ledger.of(changes)
    committed = np.flatnonzero(ledger.committed)
    seen = sighted.seen[committed]
    entity = ledger.entity[committed[~seen]]
    skipped = np.zeros(len(entity), dtype=bool)
    if not sighted.exact:  # rows deleted before the projection showed any of them
        skipped = ~sighted.entities[entity] & ledger.deletes[ledger.last[entity]]
    shown = committed[seen]
    superseded = np.count_nonzero(sighted.later[shown] & ~ledger.deletes[shown])
    acked = ledger.numbers("acked_ns")
    origin = int(acked[committed].min()) if len(committed) else 0
    del committed, seen, entity
    from_commit = _lags_us(sighted.seen_ns, acked, shown)
    window = acked[shown]
    window -= origin
    window //= int(window_s * 1e9)
    over_time = _over_time(window, from_commit, window_s)
    del window
    commit_histogram = _Histogram(from_commit)
    intent_histogram = _Histogram(_lags_us(sighted.seen_ns, ledger.numbers("intended_ns"), shown))
    return LagReport(
        from_commit_ms=_summary(commit_histogram),
        from_intent_ms=_summary(intent_histogram),
        over_time=over_time,
        seen=len(shown),
        unseen=int(np.count_nonzero(~skipped)),
        superseded=int(superseded),
        skipped=int(np.count_nonzero(skipped)),
        cdf=_cdf(commit_histogram),
    )


def _over_time(window: np.ndarray, values: np.ndarray, window_s: float) -> list[LagWindow]:
    """Per window of commit time (in order), the count, p50, p99 and max of its lags'
    bucket `values`."""
    if not len(window):
        return []
    if np.any(window[1:] < window[:-1]):  # a ledger not in commit order
        order = np.argsort(window, kind="stable")
        window, values = window[order], values[order]
    starts = np.flatnonzero(np.diff(window, prepend=-1))
    ends = np.append(starts[1:], len(window))
    over_time = []
    for index, start, end in zip(
        window[starts].tolist(), starts.tolist(), ends.tolist(), strict=True
    ):
        lags = np.sort(values[start:end])
        over_time.append(
            LagWindow(
                start_s=round(index * window_s, 3),
                count=end - start,
                p50=_value_at(lags, 50.0) / 1000,
                p99=_value_at(lags, 99.0) / 1000,
                max=_highest(int(lags[-1])) / 1000,
            )
        )
    return over_time


def _cdf(histogram: _Histogram) -> list[CdfPoint]:
    if not histogram.count:
        return []
    at = histogram.at(_CDF_PERCENTILES)
    return [CdfPoint(ms=at[p] / 1000, fraction=round(p / 100, 6)) for p in _CDF_PERCENTILES]
