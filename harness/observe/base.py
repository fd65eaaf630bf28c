"""Observers tail a projection in a background thread and log every change they see."""

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from harness.load.ledger import Entity
from harness.records import RecordWriter, read_records


@dataclass(frozen=True, slots=True)
class Observation:
    projection: str
    table: str
    key: str
    version: int
    """The version the projection now shows; for a removal, the tombstone (deleted version + 1)."""
    op: str
    """upsert | delete"""
    seen_ns: int
    """Harness clock when the observer saw it."""
    position: str
    """Where in the projection it was seen (stream sequence number, object key...)."""
    digest: str = ""
    """`row_image.row_digest` of the row image the projection shows; "" for a removal or
    where the projection does not carry the row."""

    @property
    def entity(self) -> Entity:
        return (self.table, self.key)


def read_observations(path: Path) -> list[Observation]:
    return list(read_records(path, Observation))


class Observer(ABC):
    """Polls a projection until stopped; keeps the newest version seen per entity in `state`."""

    idle_s = 0.01
    """Pause after a poll that returned nothing: adds up to this much to measured lag, and
    keeps idle polling from taking the emulator's single core away from the pattern."""

    def __init__(self, projection: str, log_path: Path) -> None:
        self.projection = projection
        self.log_path = log_path
        self.state: dict[Entity, tuple[int, bool]] = {}
        """entity -> (newest version seen, present in the projection)"""
        self.error: str | None = None
        self._log = RecordWriter(log_path, Observation)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"observe-{projection}", daemon=True)

    @property
    def observed(self) -> int:
        return self._log.count

    @abstractmethod
    def poll(self) -> list[Observation]:
        """Whatever changed since the last call."""

    def snapshot(self) -> dict[Entity, int]:
        """A state projection's current contents read directly (consistent read): entity ->
        version. Event logs have none: they are checked by their events."""
        raise NotImplementedError(f"{type(self).__name__} observes an event log: no snapshot")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and close the log (idempotent)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        self._log.close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self._take():
                self._stopping.wait(self.idle_s)
        self._take()  # one last poll, so nothing already visible is left unlogged

    def _take(self) -> int:
        """Poll once and record what was seen; 0 on nothing or on error (kept in `error`)."""
        if self.error:
            return 0
        try:
            seen = self.poll()
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return 0
        for observation in seen:
            self._log.append(observation)
            newest = self.state.get(observation.entity)
            if newest is None or observation.version >= newest[0]:
                self.state[observation.entity] = (observation.version, observation.op != "delete")
        return len(seen)
