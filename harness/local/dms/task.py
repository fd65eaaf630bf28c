"""One running replication task: full load, then CDC from its source into its target.

The runner confirms a source position only after the target has flushed every
change up to it, and records that position as the task's RecoveryCheckpoint, so
`resume-processing` continues exactly there (at-least-once: a batch written but
not yet confirmed when the task stopped is written again). Status, statistics
and failures go back through the DMS API, where DescribeReplicationTasks and
DescribeTableStatistics show them.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import botocore.exceptions
import psycopg
import psycopg2

from harness.aws import AwsAccess
from harness.local.dms.api import DmsApi
from harness.local.dms.changes import Item, Row, RowChange, SchemaChange, Table, Transaction
from harness.local.dms.context import TaskContext
from harness.local.dms.lobs import LobMode
from harness.local.dms.mapping import MappedTable, TableMapping
from harness.local.dms.sources import make_source
from harness.local.dms.sources.base import DmsSource
from harness.local.dms.targets import make_target
from harness.local.dms.targets.base import DmsTarget
from harness.local.dms.targets.dynamodb import DynamoDbWriteError

log = logging.getLogger("harness.local.dms")

_ENVIRONMENTAL: tuple[type[BaseException], ...] = (
    psycopg.OperationalError,
    psycopg2.OperationalError,
    psycopg2.InterfaceError,
    botocore.exceptions.ConnectionError,
    ConnectionError,
    DynamoDbWriteError,
)

READ_TIMEOUT_S = 0.05
REPORT_EVERY_S = 1.0


@dataclass
class _TableStats:
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    ddls: int = 0
    full_load_rows: int = 0
    state: str = "Before load"
    load_start: float | None = None
    load_end: float | None = None
    last_update: float | None = None

    def api(self, table: Table) -> dict[str, Any]:
        out: dict[str, Any] = {
            "SchemaName": table.source_schema,
            "TableName": table.source_name,
            "Inserts": self.inserts,
            "Updates": self.updates,
            "Deletes": self.deletes,
            "Ddls": self.ddls,
            "FullLoadRows": self.full_load_rows,
            "FullLoadCondtnlChkFailedRows": 0,
            "FullLoadErrorRows": 0,
            "TableState": self.state,
            "ValidationState": "Not enabled",
        }
        for key, value in (
            ("FullLoadStartTime", self.load_start),
            ("FullLoadEndTime", self.load_end),
            ("LastUpdateTime", self.last_update),
        ):
            if value is not None:
                out[key] = value
        return out


@dataclass(slots=True)
class _Entry:
    """What the runner needs per source Table object: its mapping and its statistics."""

    table: Table
    mapped: MappedTable
    stats: _TableStats
    identity: bool  # the mapping changes nothing
    cut: Callable[[Row], Row] | None  # truncates its LOBs (limited LOB mode)


class TaskRunner(threading.Thread):
    """Runs one task until `stop()`; `drop` on stop also removes the source's slot."""

    def __init__(
        self, task: dict[str, Any], start_type: str, aws: AwsAccess, recovering: bool = False
    ) -> None:
        """`recovering`: a restart after a recoverable error (the task had replicated)."""
        super().__init__(name=f"dms-{task['ReplicationTaskIdentifier']}", daemon=True)
        self.task = task
        self.arn = str(task["ReplicationTaskArn"])
        self.start_type = start_type
        self.aws = aws
        self.failure: str | None = None
        self.recoverable = False
        """It failed with an environmental error (a connection lost or refused) after it had
        replicated: the engine restarts it (DMS's ErrorBehavior RecoverableError*)."""
        self.replicating = False
        """It reached change capture (a restart after a recoverable error succeeded)."""
        self._recovering = recovering
        self._stop_event = threading.Event()
        self._drop = False
        self._crashed = False
        self._stats: dict[tuple[str, str], _TableStats] = defaultdict(_TableStats)
        self._tables: dict[tuple[str, str], Table] = {}
        self._entries: dict[int, _Entry] = {}
        self._began = time.time()
        self._load_times: tuple[float | None, float | None] = (None, None)
        self.mapping: TableMapping
        self.lobs: LobMode
        self.source: DmsSource | None = None
        self.target: DmsTarget | None = None

    def stop(self, drop: bool = False) -> None:
        self._drop = self._drop or drop
        self._stop_event.set()

    def crash(self) -> None:
        """End as a crashed replication engine: what the target has buffered is not written
        and nothing more is confirmed or reported, so a resume starts from the last
        checkpoint reported (up to `REPORT_EVERY_S` old: what came after is written again)."""
        self._crashed = True
        self._stop_event.set()

    def drop_slot(self) -> None:
        """After the runner has ended: remove the source's server-side state for good."""
        if self.source is not None:
            try:
                self.source.drop()
            except Exception:  # a source that cannot be reached keeps its slot; say so
                log.warning("DMS task %s: could not drop its replication slot", self.arn)

    # -- thread body -------------------------------------------------------------------------

    def run(self) -> None:
        api = DmsApi(self.aws)
        source: DmsSource | None = None
        target: DmsTarget | None = None
        try:
            source, target = self._open(api)
            self.source = source
            self._run(api, source, target)
            if self._crashed:
                return
            stop_reason = "STOPPED_AFTER_FULL_LOAD" if self._full_load_only else "NORMAL"
            # A deleted task has nobody to report to any more.
            self._safe_report(api, Status="stopped", StopReason=stop_reason)
        except Exception as exc:  # any other failure fails the task, as on DMS
            self.failure = _one_line(exc)
            self.recoverable = (self.replicating or self._recovering) and _environmental(exc)
            ident = self.task["ReplicationTaskIdentifier"]
            if self.recoverable:
                log.warning("DMS task %s: recoverable error: %s", ident, self.failure)
            else:
                log.error("DMS task %s failed: %s", ident, self.failure)
                log.debug("DMS task failure", exc_info=True)
                self._safe_report(api, Status="failed", LastFailureMessage=self.failure)
        finally:
            self._close(source, target)

    @property
    def _full_load_only(self) -> bool:
        return self.task.get("MigrationType") == "full-load"

    def _open(self, api: DmsApi) -> tuple[DmsSource, DmsTarget]:
        mapping = TableMapping(self.task["TableMappings"])
        settings = json.loads(self.task.get("ReplicationTaskSettings") or "{}")
        ident = str(self.task["ReplicationTaskIdentifier"])
        src_arn = self.task["SourceEndpointArn"]
        source = make_source(
            TaskContext(
                ident,
                self.arn,
                api.endpoint(src_arn),
                mapping,
                settings,
                self.aws,
                api.endpoint_secret(src_arn),
            )
        )
        target = make_target(
            TaskContext(
                ident,
                self.arn,
                api.endpoint(self.task["TargetEndpointArn"]),
                mapping,
                settings,
                self.aws,
            )
        )
        self.mapping = mapping
        self.lobs = LobMode.from_settings(settings)
        self.target = target
        return source, target

    def _run(self, api: DmsApi, source: DmsSource, target: DmsTarget) -> None:
        checkpoint = self.task.get("RecoveryCheckpoint") or None
        if self.start_type != "resume-processing":
            checkpoint = None
        full_load = checkpoint is None and self.task.get("MigrationType") != "cdc"
        source.open(checkpoint, full_load)
        self._report(api, Status="running")
        if full_load and not self._full_load(api, source, target):
            return  # stopped during the load: no checkpoint, so a resume loads again
        if self._full_load_only:
            self._drop = True
            return
        self._report(api, RecoveryCheckpoint=source.checkpoint())
        self.replicating = True
        self._cdc(api, source, target)

    def _full_load(self, api: DmsApi, source: DmsSource, target: DmsTarget) -> bool:
        """Load every selected table; False if the task was stopped before the end."""
        start = time.time()
        self._load_times = (start, None)
        for table, rows in source.full_load():
            entry = self._entry(table)
            stats, mapped = entry.stats, entry.mapped
            stats.state, stats.load_start = "Full load", time.time()
            if mapped.table is not table:
                rows = (mapped.row(r) or {} for r in rows)
            if entry.cut is not None:
                rows = map(entry.cut, rows)
            stats.full_load_rows = target.load_rows(mapped.table, rows)
            stats.state, stats.load_end = "Table completed", time.time()
            self._report(api)
            if self._stop_event.is_set():
                return False
        target.flush()
        self._load_times = (start, time.time())
        return True

    def _cdc(self, api: DmsApi, source: DmsSource, target: DmsTarget) -> None:
        pending = False  # changes given to the target and not yet flushed
        durable: str | None = None  # newest position the target has everything up to
        last: str | None = None  # newest position read
        next_report = time.monotonic() + REPORT_EVERY_S
        while not self._stop_event.is_set():
            items = source.read(READ_TIMEOUT_S)
            for item in items:
                pending = self._apply(target, item) or pending
                last = item.position
                # Flush as soon as a batch is due, not after the whole read: a slow target
                # must not leave the replication connection unread for long.
                if pending and target.due(time.monotonic()):
                    target.flush()
                    pending = False
                if not pending:
                    durable = last
            # the source gave all it had: what it gave is written now, not when a read
            # finds nothing (a steady trickle never leaves a read empty)
            idle = source.caught_up and target.flush_when_idle
            if pending and (idle or target.due(time.monotonic())):
                target.flush()
                pending, durable = False, last
            if durable is not None:
                source.confirm(durable)
                durable = None
            now = time.monotonic()
            if now >= next_report:
                self._report(api, RecoveryCheckpoint=source.checkpoint())
                next_report = now + REPORT_EVERY_S
        if self._crashed:
            return
        if pending:
            target.flush()
        if last is not None:
            source.confirm(last)
        self._report(api, RecoveryCheckpoint=source.checkpoint())

    def _apply(self, target: DmsTarget, item: Item) -> bool:
        """Hand one item to the target; True if it carried anything for the target."""
        if isinstance(item, SchemaChange):
            entry = self._entry(item.table)
            mapped = entry.mapped
            column = item.column
            if column is not None:
                column = replace(column, name=mapped.names.get(column.name, column.name))
            target.schema_change(
                SchemaChange(item.operation, mapped.table, item.commit_ts, item.position, column)
            )
            entry.stats.ddls += 1
            return True
        if not item.changes:
            return False
        now = time.time()
        identity, entries, table = True, self._entries, None
        for change in item.changes:
            if change.table is not table:  # a transaction's changes often share their table
                table = change.table
                entry = entries.get(id(table))
                if entry is None or entry.table is not table:
                    entry = self._entry(table)
                stats = entry.stats
                stats.last_update = now
                identity = identity and entry.identity and entry.cut is None
            op = change.op
            if op == "insert":
                stats.inserts += 1
            elif op == "update":
                stats.updates += 1
            else:
                stats.deletes += 1
        if not identity:
            item = Transaction(item.xid, item.commit_ts, item.position, self._mapped_changes(item))
        target.apply(item)
        return True

    def _mapped_changes(self, txn: Transaction) -> list[RowChange]:
        """The transaction's changes as the target gets them: mapped, LOBs truncated."""
        changes = []
        for change in txn.changes:
            entry = self._entry(change.table)
            row, before = change.row, change.before
            if not entry.identity:
                row, before = entry.mapped.row(row) or {}, entry.mapped.row(before)
            if entry.cut is not None:
                row, before = entry.cut(row), before and entry.cut(before)
            if row is not change.row or before is not change.before or not entry.identity:
                change = RowChange(change.op, entry.mapped.table, row, before)
            changes.append(change)
        return changes

    def _entry(self, table: Table) -> _Entry:
        # Keyed by identity (hashing a Table per change is slow); the entry keeps the table
        # alive so its id cannot be reused by another one.
        entry = self._entries.get(id(table))
        if entry is None or entry.table is not table:
            mapped = self.mapping.transform(table)
            identity = mapped.table == table
            if identity:
                mapped = MappedTable(table, mapped.names)
            key = (table.schema, table.name)
            self._tables[key] = table
            cut = self.lobs.cutter(mapped.table, str(self.task["ReplicationTaskIdentifier"]))
            entry = _Entry(table, mapped, self._stats[key], identity, cut)
            self._entries[id(table)] = entry
        return entry

    # -- reporting ---------------------------------------------------------------------------

    def _report(self, api: DmsApi, **state: Any) -> None:
        stats = list(self._stats.items())
        loaded = sum(1 for _, s in stats if s.state == "Table completed")
        loading = sum(1 for _, s in stats if s.state == "Full load")
        task_stats: dict[str, Any] = {
            "FullLoadProgressPercent": 100 if self._load_times[1] or not stats else 0,
            "ElapsedTimeMillis": int((time.time() - self._began) * 1000),
            "TablesLoaded": loaded,
            "TablesLoading": loading,
            "TablesQueued": 0,
            "TablesErrored": 0,
            "StartDate": self._began,
        }
        if self._load_times[0] is not None:
            task_stats["FullLoadStartDate"] = self._load_times[0]
        if self._load_times[1] is not None:
            task_stats["FullLoadFinishDate"] = self._load_times[1]
        table_stats = [s.api(self._tables[key]) for key, s in stats if key in self._tables]
        api.report(self.arn, ReplicationTaskStats=task_stats, TableStatistics=table_stats, **state)

    def _safe_report(self, api: DmsApi, **state: Any) -> None:
        try:
            self._report(api, **state)
        except Exception:  # the API may be gone during teardown
            log.debug("could not report task state", exc_info=True)

    def _close(self, source: DmsSource | None, target: DmsTarget | None) -> None:
        for closer in (
            target and target.close,
            source and (source.drop if self._drop else source.close),
        ):
            if closer:
                try:
                    closer()
                except Exception:  # close everything even if one part fails
                    log.warning("DMS task %s: cleanup failed", self.arn, exc_info=True)


def _environmental(exc: BaseException) -> bool:
    """A connection lost or refused, anywhere in the exception's chain: what DMS calls an
    environmental (recoverable) error, as opposed to one in the data or the settings."""
    chain: BaseException | None = exc
    while chain is not None:
        if isinstance(chain, _ENVIRONMENTAL):
            return True
        chain = chain.__cause__ or chain.__context__
    return False


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
