"""Observers tail a projection in a background thread and log every change they see."""

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel

from harness import progress
from harness.busy import BusyClock, BusySeries, PeakClock, PeakSeries
from harness.load.ledger import Entity, entity_names
from harness.records import Columns, RecordWriter

ProjectionKind = Literal["state", "event_log", "event_store"]
"""A state projection holds each row's latest version (judged by its final snapshot); an
event log holds every change, or each key's net changes where its feed says so (judged by
its events, in log order); an event store is a table
of every change's event whose order is its readers' sort, not arrival (judged by its events
as a set: each committed change's event exactly once)."""

RETRACTED = "retracted"
"""An observation's op when the projection no longer holds something it showed before (an
event store's item written over by another event)."""

GONE = 2**62
"""The version of a removal whose version nothing shows (a row vanished from a projection
that keeps no tombstones): keys never come back, so the removal covers every version."""


@dataclass(frozen=True, slots=True)
class Observation:
    projection: str
    table: str
    key: str
    version: int
    """The version the projection now shows; for a removal, the tombstone (deleted version + 1),
    or `GONE` where nothing says which version went."""
    op: str
    """upsert | delete | retracted (`RETRACTED`: what was shown at this version is gone)"""
    seen_ns: int
    """Harness clock when the observer saw it."""
    position: str
    """Where in the projection it was seen (stream sequence number, object key...)."""
    digest: str = ""
    """`row_image.row_digest` of the row image the projection shows; "" for a removal or
    where the projection does not carry the row."""
    txid: int = 0
    """The source transaction the projection says the change came from (0: it does not)."""

    @property
    def entity(self) -> Entity:
        return (self.table, self.key)


class Observations(Columns[Observation]):
    """An observation log held column by column (see `Columns`)."""

    record_type = Observation
    repeated = ("projection", "table", "op")


def standing(observations: Iterable[Observation]) -> Observations:
    """The observations whose sighting still stands: each retraction removes the latest
    earlier sighting of the same change (and is itself left out)."""
    logged = Observations.of(observations)
    retractions = logged.equals("op", RETRACTED)
    if not retractions.any():
        return logged
    names = entity_names(logged)
    # only sightings of the entities something retracted can go
    involved = pc.is_in(names, value_set=names.filter(pa.array(retractions)))
    involved = np.flatnonzero(involved.to_numpy(zero_copy_only=False))
    keep = np.ones(len(logged), dtype=bool)
    keep[involved] = False
    kept: list[int | None] = []
    where: dict[tuple[str, str, int, str], list[int]] = {}
    for index, observation in zip(involved, logged.records(involved), strict=True):
        change = (observation.table, observation.key, observation.version, observation.digest)
        if observation.op != RETRACTED:
            where.setdefault(change, []).append(len(kept))
            kept.append(index)
        elif where.get(change):
            kept[where[change].pop()] = None
    keep[np.array([index for index in kept if index is not None], dtype=np.int64)] = True
    return Observations(logged.table.filter(pa.array(keep)))


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """One item of a state projection's contents, read directly once it converged."""

    table: str
    key: str
    version: int
    """The version it shows; a tombstone's is the delete's (deleted version + 1)."""
    digest: str
    """`row_image.row_digest` of the row it shows; "" for a tombstone."""
    tombstone: bool
    """A deleted row's marker (read models keep them so late writes cannot resurrect it)."""

    @property
    def entity(self) -> Entity:
        return (self.table, self.key)


def live_versions(rows: Iterable[SnapshotRow]) -> dict[Entity, int]:
    """entity -> version of every row a snapshot shows as present (tombstones are absent)."""
    return {row.entity: row.version for row in rows if not row.tombstone}


def write_snapshot(path: Path, rows: Iterable[SnapshotRow]) -> None:
    with RecordWriter(path, SnapshotRow) as writer:
        for row in rows:
            writer.append(row)


class SnapshotRows(Columns[SnapshotRow]):
    """A snapshot held column by column (see `Columns`)."""

    record_type = SnapshotRow
    repeated = ("table",)


def read_snapshot(path: Path) -> list[SnapshotRow]:
    return list(SnapshotRows.read(path))


class ObserverStats(BaseModel):
    """How an observer kept up: its rate, how fast it reads, and how long it was behind."""

    observed: int
    polls: int
    wall_s: float
    busy_s: float
    """Time spent inside polls."""
    per_s: float
    """Observations per second of wall time."""
    capacity_per_s: float | None
    """Observations per second of polling: what it could read while busy."""
    behind_s: float
    """Time its polls found more waiting than they read."""
    longest_behind_s: float
    falling_behind: bool
    """Behind for BEHIND_AFTER_S or more at a stretch: its sightings lag the projection."""
    control_records: dict[str, int] | None = None
    """Control records it read, by operation (DMS's add-column...); None where the
    projection's format has none."""
    read_share: float | None = None
    """Stream observers: the most GetRecords calls it made on one shard within one second,
    as a share of what the shard allows all its readers together (`observe.shards`); None
    for other observers and in older results."""
    busy_over_time: BusySeries | None = None
    """The share of each second it spent polling (None in older results)."""
    delay_over_time: PeakSeries | None = None
    """Its own delay: the longest a sighting made in each second can have waited on the
    observer, in seconds (`Observer._own_delay_s`; None in older results)."""


BEHIND_AFTER_S = 2.0


def read_observations(path: Path) -> list[Observation]:
    return list(Observations.read(path))


class Observer(ABC):
    """Polls a projection until stopped; keeps the newest version seen per entity in `state`."""

    idle_s = 0.01
    """Pause after a poll that returned nothing: adds up to this much to measured lag, and
    keeps idle polling from taking the emulator's single core away from the pattern."""
    busy_s = 0.0
    """Pause after a poll that returned something (polling observers: their interval)."""
    reads_everything = False
    """Each poll reads all the projection holds (polling observers): a poll slower than its
    interval is `lagging` (its sightings come late) but leaves nothing unread."""

    def __init__(self, projection: str, log_path: Path) -> None:
        self.projection = projection
        self.log_path = log_path
        self.state: dict[Entity, tuple[int, bool]] = {}
        """entity -> (newest version seen, present in the projection)"""
        self.error: str | None = None
        self._log = RecordWriter(log_path, Observation)
        self.lagging = False
        """Set by `poll` when the projection holds more than that poll read (a full page,
        a stream reporting it is behind its head, unread objects): the observer is behind."""
        self.waited_s = 0.0
        """Added to by `poll` for time spent blocked waiting for data to arrive (a long
        poll): not counted as busy."""
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"observe-{projection}", daemon=True)
        self._started = self._stopped = 0.0
        self._polls = 0
        self._busy_s = self._longest_behind_s = 0.0
        self._closed_behind_s = self._open_behind_s = 0.0
        self._behind_since: float | None = None
        self._busy_clock = BusyClock()
        self._delay_clock = PeakClock()
        self._paused_s = 0.0
        """The part of `waited_s` spent in `pause` (paced, not waiting for data)."""
        self._read_from = (0.0, 0.0)
        """(wall-clock start, `_blocked_s` then) of the last poll that read everything
        readable (at first, when the observer started: nothing was read before)."""

    @property
    def observed(self) -> int:
        return self._log.count

    @property
    def stopping(self) -> bool:
        """It was told to stop: the poll under way is its last."""
        return self._stopping.is_set()

    @abstractmethod
    def poll(self) -> list[Observation]:
        """Whatever changed since the last call."""

    def snapshot(self) -> list[SnapshotRow]:
        """A state projection's current contents read directly (consistent read). Event logs
        have none: they are checked by their events."""
        raise NotImplementedError(f"{type(self).__name__} observes an event log: no snapshot")

    def start(self) -> None:
        self._started = time.monotonic()
        self._read_from = (time.time(), 0.0)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and close the log (idempotent)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
            self._stopped = time.monotonic()
        self._log.close()

    def stats(self) -> ObserverStats:
        wall = (self._stopped or time.monotonic()) - self._started if self._started else 0.0
        observed = self.observed
        return ObserverStats(
            observed=observed,
            polls=self._polls,
            wall_s=round(wall, 3),
            busy_s=round(self._busy_s, 3),
            per_s=round(observed / wall, 1) if wall else 0.0,
            capacity_per_s=round(observed / self._busy_s, 1) if self._busy_s else None,
            behind_s=round(self._closed_behind_s + self._open_behind_s, 3),
            longest_behind_s=round(self._longest_behind_s, 3),
            falling_behind=self._longest_behind_s >= BEHIND_AFTER_S,
            control_records=self.control_records(),
            read_share=self.read_share(),
            busy_over_time=self._busy_clock.series(),
            delay_over_time=self._delay_clock.series(),
        )

    def control_records(self) -> dict[str, int] | None:
        """Control records read so far, by operation, where the projection's format has
        them (streams of DMS messages)."""
        return None

    def read_share(self) -> float | None:
        """Stream observers: their peak share of a shard's per-second reads so far (None:
        the projection is not read by shard)."""
        return None

    def pause(self, seconds: float) -> None:
        """Wait inside `poll` (e.g. until a paced read is due), not counted as busy; cut
        short when told to stop, except in the last poll, which waits in full."""
        if seconds <= 0:
            return
        started = time.monotonic()
        if self.stopping:
            time.sleep(seconds)
        else:
            self._stopping.wait(seconds)
        paused = time.monotonic() - started
        self.waited_s += paused
        self._paused_s += paused

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._stopping.wait(self.busy_s if self._take() else self.idle_s)
        self._take()  # one last poll, so nothing already visible is left unlogged

    def _take(self) -> int:
        """Poll once and record what was seen; 0 on nothing or on error (kept in `error`)."""
        if self.error:
            return 0
        started, waited, wall = time.monotonic(), self.waited_s, time.time()
        blocked = self._blocked_s
        self.lagging = False
        try:
            seen = self.poll()
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return 0
        finished = time.monotonic()
        self._polls += 1
        busy = finished - started - (self.waited_s - waited)
        self._busy_s += busy
        self._busy_clock.add(wall, busy)
        self._track_behind(started, finished)
        if seen:
            self._delay_clock.add(time.time(), self._own_delay_s(seen))
        if self.reads_everything or not self.lagging:
            self._read_from = (wall, blocked)
        self._log.extend(seen)
        for observation in seen:
            if observation.op == RETRACTED:
                continue
            newest = self.state.get(observation.entity)
            if newest is None or observation.version >= newest[0]:
                self.state[observation.entity] = (observation.version, observation.op != "delete")
        return len(seen)

    @property
    def _blocked_s(self) -> float:
        """Time spent blocked waiting for data to arrive (a long poll), so far."""
        return self.waited_s - self._paused_s

    def _own_delay_s(self, seen: list[Observation]) -> float:
        """The longest a change among `seen` (what the poll just made saw) can have waited on
        the observer itself: a change not yet readable when the last poll that read
        everything started is seen by a later one, so it waited at most from that start
        until it was seen (its `seen_ns`), less the time spent blocked waiting for data to
        arrive. Intervals and paced waits count: they are the instrument's too."""
        since, blocked_then = self._read_from
        seen_s = max(observation.seen_ns for observation in seen) / 1e9
        return max(0.0, seen_s - since - (self._blocked_s - blocked_then))

    def _track_behind(self, started: float, finished: float) -> None:
        """A stretch of lagging polls counts from the first one's start to the last one's
        end, logging between them included."""
        if not self.lagging:
            self._closed_behind_s += self._open_behind_s
            self._open_behind_s, self._behind_since = 0.0, None
            return
        if self._behind_since is None:
            self._behind_since = started
        stretch = finished - self._behind_since
        if self._longest_behind_s < BEHIND_AFTER_S <= stretch:
            progress.console.print(
                f"[yellow]observer {self.projection} is falling behind its projection "
                f"({stretch:.1f} s): its sightings include its own delay[/]"
            )
        self._open_behind_s = stretch
        self._longest_behind_s = max(self._longest_behind_s, stretch)
