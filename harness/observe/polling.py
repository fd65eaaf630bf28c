"""Observe a state projection without a change stream by polling it: read every live row's
(key, version), diff with the previous poll, and log what changed.

What polling cannot see, and what it costs:
- Lag: a change shows up at the first poll after it lands, so polling adds up to one
  `interval_s` to measured lag.
- Intermediate versions: a row changed twice between two polls is logged at its newer version
  only; the older one counts as shown then (lag is "that version or a later one").
- Deletes: a vanished row does not say which version went, so its removal is logged at
  `GONE`, covering every version (keys never come back). A row inserted and deleted between
  two polls is never seen at all.
"""

import time
from abc import abstractmethod
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.load.ledger import Entity
from harness.load.row_image import row_digest
from harness.load.schema import VERSION_COLUMN
from harness.observe.base import GONE, Observation, Observer

POLL_INTERVAL_S = 0.1


class PollingObserver(Observer):
    """Polls every `interval_s`; subclasses read the projection's versions and row images."""

    reads_everything = True

    def __init__(
        self, projection: str, log_path: Path, interval_s: float = POLL_INTERVAL_S
    ) -> None:
        super().__init__(projection, log_path)
        self.idle_s = self.busy_s = interval_s
        self._logged: dict[Entity, int] = {}
        """entity -> version of its last upsert logged, for every entity logged as present"""
        self._poll_number = 0

    @abstractmethod
    def read_versions(self) -> dict[Entity, int]:
        """Every live row's version (keys and versions only), read consistently."""

    @abstractmethod
    def read_rows(self, entities: Iterable[Entity]) -> dict[Entity, dict[str, Any]]:
        """Full row images of those of `entities` that are live (missing ones left out)."""

    def poll(self) -> list[Observation]:
        started = time.monotonic()
        versions = self.read_versions()
        seen_ns = time.time_ns()
        self._poll_number += 1
        position = f"poll-{self._poll_number}"
        changed = sorted(e for e, v in versions.items() if self._logged.get(e) != v)
        rows = self.read_rows(changed) if changed else {}
        seen: list[Observation] = []
        for entity in changed:
            row = rows.get(entity)
            # Vanished or changed again since the versions read: the next poll logs what it shows.
            if row is None or int(row[VERSION_COLUMN]) != versions[entity]:
                continue
            self._logged[entity] = versions[entity]
            digest = row_digest(entity[0], row)
            seen.append(
                self._observation(entity, versions[entity], "upsert", seen_ns, position, digest)
            )
        for entity in sorted(self._logged.keys() - versions.keys()):
            del self._logged[entity]
            seen.append(self._observation(entity, GONE, "delete", seen_ns, position))
        # a poll slower than the interval cannot keep its cadence: sightings come late
        self.lagging = time.monotonic() - started > self.idle_s
        return seen

    def _observation(
        self, entity: Entity, version: int, op: str, seen_ns: int, position: str, digest: str = ""
    ) -> Observation:
        table, key = entity
        return Observation(self.projection, table, key, version, op, seen_ns, position, digest)
