"""The ledger: every change the load generator made, committed or aborted.

A key's committed versions are consecutive (1, 2, 3, ...) and a delete takes the
next one (a tombstone: the deleted row's version + 1), so any projection state or
event can be placed against the ledger, and a skipped version is a gap. An
aborted change carries the version it would have taken, which the key's next
committed change then takes: (table, key, version) names exactly one committed
change.

A key's version order is its commit order: each version is taken under the row
lock, so it commits after the one before it. The acknowledgement times are the
client's observations, not the database's order: concurrent users may see a key's
acknowledgements out of version order (see `Change.acked_ns`).
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from harness.load.clock import ClockOffset, read_offset
from harness.records import Columns, RecordWriter, concat, process_writer, read_columns

Entity = tuple[str, str]
"""(table, primary key as text)."""
Version = tuple[str, str, int]
"""(table, primary key as text, version): names exactly one committed change."""

COMMITTED = "committed"
ABORTED = "aborted"


@dataclass(frozen=True, slots=True)
class Change:
    table: str
    key: str
    version: int
    op: str
    """insert | update | delete"""
    status: str
    """committed | aborted"""
    intended_ns: int
    """When the schedule meant the change to start (coordinated-omission-free reference)."""
    acked_ns: int
    """When the writing client saw the commit (or the rollback) acknowledged, on its host's
    wall clock: after the commit, by however long the answer took to reach the user. The
    database commits a key's versions in version order (each takes `version + 1` under
    the row lock), but concurrent users (or processes) each observe their own
    acknowledgement, so a key's later version may carry the earlier `acked_ns`, by up to
    the scheduling delay of the version before it (at most that change's own
    `acked_ns - intended_ns`). A key's changes are ordered by version, never by
    `acked_ns`."""
    txid: int
    digest: str
    """`row_image.row_digest` of the row image written ("" for deletes)."""
    added: bool = False
    """The row image holds a column the run added (`schema.register_added`), not NULL."""
    lob_bytes: int = 0
    """The size of the row image's largest text or JSON value (what DMS moves as a LOB), in
    UTF-8 bytes (0 for deletes)."""

    @property
    def entity(self) -> Entity:
        return (self.table, self.key)


def ledger_writer(directory: Path) -> RecordWriter[Change]:
    """A new ledger file for this process in `directory` (one per process and run)."""
    return process_writer(directory, "ledger", Change)


def read_ledger(directory: Path, reference: ClockOffset | None = None) -> list[Change]:
    """Every ledger file in `directory`, merged in commit-acknowledgement order (in which a
    key's versions may be out of version order: see `Change.acked_ns`). Given the harness
    host's offset `reference`, files written on other hosts are moved onto its clock by
    their own offsets."""
    return list(Ledger.merge(directory, reference))


_NO_ENTITY = -1


class Ledger(Columns[Change]):
    """A ledger held column by column (see `Columns`), with what the checkers derive from it
    once: each entity's number (`entity`, in order of its first change), its last committed
    change, and the committed change of each (entity, version)."""

    record_type = Change
    repeated = ("table", "op", "status")

    @classmethod
    def merge(cls, directory: Path, reference: ClockOffset | None = None) -> "Ledger":
        """What `read_ledger` reads, as columns."""
        tables = []
        for path in sorted(directory.glob("ledger-*.csv")):
            table = read_columns(path, Change, cls.repeated)
            writer = read_offset(path)
            if reference is not None and writer is not None and writer.host != reference.host:
                shift = writer.offset_ns - reference.offset_ns
                for name in ("intended_ns", "acked_ns"):
                    at = table.schema.get_field_index(name)
                    table = table.set_column(at, name, pc.add(table.column(at), shift))
            tables.append(table)
        if not tables:
            return cls.of([])
        merged = concat(tables)
        del tables
        order = np.argsort(merged.column("acked_ns").to_numpy(), kind="stable")
        columns = {name: merged.column(name) for name in merged.column_names}
        del merged
        for name, column in columns.items():  # one column at a time: one copy at a time
            columns[name] = column.take(order)
        return cls(pa.table(columns))

    @cached_property
    def _entities(self) -> pa.DictionaryArray:
        return pc.dictionary_encode(entity_names(self))

    @cached_property
    def entity(self) -> np.ndarray:
        """Each change's entity, numbered from 0 in order of its first change."""
        return self._entities.indices.to_numpy()

    @property
    def entities(self) -> int:
        """How many entities the ledger touched."""
        return len(self._entities.dictionary)

    def entity_of(self, records: Columns[Any]) -> np.ndarray:
        """The entity of each record (with a `table` and a `key`) in this ledger's numbering;
        entities it never touched are numbered after its own, in order of first appearance
        (kept with the records)."""
        source, found = records.derived.get("entity", (None, None))
        if source is self and found is not None:
            return found
        names = entity_names(records)
        known = pc.index_in(names, value_set=self._entities.dictionary)
        found = known.to_numpy(zero_copy_only=False)
        if known.null_count:
            unknown = np.isnan(found)
            others = pc.dictionary_encode(names.filter(pa.array(unknown))).indices.to_numpy()
            found[unknown] = self.entities + others
        found = found.astype(np.int32)
        records.derived["entity"] = (self, found)
        return found

    @cached_property
    def committed(self) -> np.ndarray:
        return self.equals("status", COMMITTED)

    @cached_property
    def deletes(self) -> np.ndarray:
        return self.equals("op", "delete")

    @cached_property
    def rolled_back(self) -> np.ndarray:
        """The transaction ids of aborted changes (sorted, once each)."""
        return np.unique(self.numbers("txid")[~self.committed])

    def rolled_back_in(self, txid: np.ndarray) -> np.ndarray:
        """Where `txid` names a transaction the ledger rolled back (0 names none)."""
        named = np.flatnonzero(txid)
        found = np.zeros(len(txid), dtype=bool)
        found[named] = np.isin(txid[named], self.rolled_back)
        return found

    @cached_property
    def last(self) -> np.ndarray:
        """Per entity, the index of its last committed change (the highest version, the first
        of equals), or -1."""
        committed = np.flatnonzero(self.committed)
        entity, version = self.entity[committed], self.numbers("version")[committed]
        order = np.lexsort((committed, -version, entity))
        first = np.ones(len(order), dtype=bool)
        first[1:] = entity[order][1:] != entity[order][:-1]
        last = np.full(self.entities, _NO_ENTITY, dtype=np.int64)
        last[entity[order][first]] = committed[order][first]
        return last

    def committed_of(self, versions: Collection[Version]) -> list[Change]:
        """The committed changes of these (table, key, version)s, in ledger order."""
        return self.records(self.committed_rows(versions))

    def committed_rows(self, versions: Collection[Version]) -> np.ndarray:
        """The indices of the committed changes of these (table, key, version)s."""
        rows = self.committed_keyed({key for _, key, _ in versions})
        found = self.records(rows)
        return rows[[(c.table, c.key, c.version) in versions for c in found]]

    def histories(self, entities: Collection[Entity]) -> dict[Entity, list[Change]]:
        """The committed changes of each of these entities, in version order."""
        found: dict[Entity, list[Change]] = {entity: [] for entity in entities}
        for change in self.records(self.committed_keyed({key for _, key in entities})):
            if change.entity in found:
                found[change.entity].append(change)
        for history in found.values():
            history.sort(key=lambda c: c.version)
        return found

    def committed_keyed(self, keys: Collection[str]) -> np.ndarray:
        """The indices of the committed changes whose key is one of `keys` (any table)."""
        if not keys:
            return np.zeros(0, dtype=np.int64)
        return np.flatnonzero(self.committed & self.is_in("key", keys))

    @cached_property
    def by_first_commit(self) -> np.ndarray:
        """The entities with a committed change, in order of their first one (`final_state`'s
        order)."""
        committed = np.flatnonzero(self.committed)
        entities, first = np.unique(self.entity[committed], return_index=True)
        return entities[np.argsort(first, kind="stable")]

    @cached_property
    def _committed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The versions the committed changes hold (sorted, once each); the committed
        changes' (entity, version)s as keys (`keys_of`), sorted; their indices in that
        order."""
        committed = np.flatnonzero(self.committed)
        version = self.numbers("version")[committed]
        versions = np.unique(version)
        keys = self.entity[committed].astype(np.int64) * (len(versions) + 1)
        keys += np.searchsorted(versions, version) + 1
        order = np.argsort(keys, kind="stable")
        return versions, keys[order], committed[order]

    @property
    def committed_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """The committed changes' (entity, version)s as keys (`keys_of`), sorted, and their
        indices in that order."""
        return self._committed[1:]

    def keys_of(
        self, entity: np.ndarray, version: np.ndarray, or_later: bool = False
    ) -> np.ndarray:
        """Each (entity, version) as one sortable key, of the committed changes' kind:
        entity * (committed versions + 1) + the version's rank among them (1 up; 0: none of
        them). `or_later`: the rank of the highest committed version at or below it, so that
        a key at or past a committed change's, of its entity, shows it or a later version."""
        versions = self._committed[0]
        rank = np.searchsorted(versions, version, side="right" if or_later else "left")
        if not or_later:
            held = rank < len(versions)
            held[held] = versions[rank[held]] == version[held]
            rank = np.where(held, rank + 1, 0)
        rank += entity.astype(np.int64) * (len(versions) + 1)
        return rank

    def entity_in(self, keys: np.ndarray) -> np.ndarray:
        """The entity of each key (`keys_of`)."""
        return keys // (len(self._committed[0]) + 1)

    def rows_of(self, entity: np.ndarray, version: np.ndarray) -> "Committed":
        """Where the committed changes of each (entity, version) are (one, in a ledger that
        follows its rules)."""
        keys, indices = self.committed_keys
        wanted = self.keys_of(entity, version)
        start = np.searchsorted(keys, wanted, side="left")
        count = np.searchsorted(keys, wanted, side="right") - start
        first = np.full(len(wanted), -1, dtype=np.int64)
        first[count > 0] = indices[start[count > 0]]
        return Committed(start, count, first)

    def rows_at(self, start: int, count: int) -> np.ndarray:
        """The indices of the committed changes `rows_of` found at `start`."""
        return self.committed_keys[1][start : start + count]


@dataclass(frozen=True)
class Committed:
    """The committed changes of some (entity, version)s: how many each (`count`), the first
    (its index in the ledger, or -1), and where to find them all (`Ledger.rows_at`)."""

    start: np.ndarray
    count: np.ndarray
    first: np.ndarray


def entity_names(records: Columns[Any]) -> pa.Array:
    """Each record's entity as one text: its table and key, apart by a NUL (which neither
    a table name nor a PostgreSQL text holds)."""
    return pc.binary_join_element_wise(records.texts("table"), records.texts("key"), "\x00")


def final_state(changes: Iterable[Change]) -> dict[Entity, Change]:
    """The last committed change of every entity the ledger touched."""
    last: dict[Entity, Change] = {}
    for change in changes:
        if change.status != COMMITTED:
            continue
        seen = last.get(change.entity)
        if seen is None or change.version > seen.version:
            last[change.entity] = change
    return last
