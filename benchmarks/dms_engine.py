"""DMS engine throughput: how close the local DMS engine gets to raw logical decoding.

One run on the `local` target (throwaway PostgreSQL 15 + moto server + the in-process
local DMS engine) measures, on the same WAL:

1. Reference: rows/s through raw `pg_logical_slot_get_changes(slot, NULL, 10000, ...)`
   with test_decoding (include-xids, include-timestamp, skip-empty-xacts), polled from
   Python with psycopg 3 until empty, counting row lines (`table ...`). This is what
   any reader of a test_decoding slot in Python pays at least (the shared reference
   notes measured 84k rows/s for single-row transactions, 202k rows/s for 1000-row ones).
2. The engine into an S3 target (CdcMaxBatchInterval=1, default CdcMinFileSize,
   PreserveTransactions false): rows/s from the task showing "running" after
   StartReplicationTask (resume-processing) until every change is durably written.
   "Durable" is the engine's own confirmed position (read in-process: the source
   only confirms after the target's flush), and, as the server sees it, the slot's
   `confirmed_flush_lsn` in pg_replication_slots, each reaching the end LSN of the
   last generated commit. The S3 objects are then read back and their rows counted.
   The source endpoint leaves SslMode at DMS's default (none): the engine reads without
   TLS, as the reference does.
3. The engine into a Kinesis target (4 shards, MessageFormat json), measured the same
   way; optionally (`--targets s3,kinesis,s3-txn`) an S3 target with
   PreserveTransactions=true and CdcPath. moto's Kinesis slows down as a shard fills,
   so a run that has not finished after --budget seconds is stopped and reported as
   partial: rows durably written (the raw read maps each commit LSN to the rows up to
   it) over the time of the engine's last confirmation.

To give every reader the same data, every slot is created before the data: the raw
slot directly, and each engine task is started (start-replication, MigrationType cdc),
awaited "running" (its slot exists), then stopped so its slot holds the position. The
data (--rows row changes in a `bench_widgets` table: mostly single-row insert/update
transactions, a share in --txn-size-row insert transactions) is generated server-side
by a PL/pgSQL procedure committing in its loop, with a CHECKPOINT every
--checkpoint-every rows so the raw slot's restart_lsn can move on (see `generate`);
then the raw slot is drained, then each task is resumed and timed in turn.

CPU seconds are shown per run: this process (for the engine runs that is the engine's
threads plus this script's light polling), the moto server and PostgreSQL (all its
processes), from /proc.

    .venv/bin/python benchmarks/dms_engine.py [--rows N] [--txn-size N] [--multi-share F]
        [--checkpoint-every N] [--budget S] [--targets s3,kinesis[,s3-txn]]

The last lines are `dms_engine_kinesis_ratio: <x>` (if kinesis ran) and
`dms_engine_ratio: <x>`, x = engine rows/s into S3 / raw slot rows/s (confirmed by the
engine). The goal is a ratio of at least 0.5.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import io
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import conninfo

from harness import signals
from harness.errors import UserError
from harness.local.dms.api import DmsApiError, await_task_status, describe_task
from harness.local.dms.engine import DmsEngine
from harness.local.dms.sources.postgres import lsn_int, slot_name
from harness.local.moto_server import MotoServer
from harness.local.postgres import PostgresCluster
from harness.settings import Settings
from harness.targets import make_target
from harness.targets.local import LocalTarget

from bench_util import Console, proc_cpu_s

RAW_SLOT = "bench_raw"
TABLE = "bench_widgets"
BATCH = 10_000
"""upto_nchanges of each pg_logical_slot_get_changes call (as in the reference)."""
ROLE = "arn:aws:iam::123456789012:role/dms"
INSTANCE = "arn:aws:dms:us-east-1:123456789012:rep:bench"
BUCKET = "cdcbench-dms-engine"
STREAM = "cdcbench-dms-engine"
SHARDS = 4
POLL_S = 0.02
"""How often the engine's confirmed position is polled during a timed run."""
STATUS_EVERY_S = 1.0
PROGRESS_EVERY_S = 5.0
SLOT_LAG_LIMIT_S = 20.0
"""How long the slot may trail the engine's own confirmed position before we give up on it."""
STOP_WAIT_S = 180.0
"""A task stops after the target write in progress, which on moto's Kinesis can take long."""
ALL_TARGETS = ("s3", "s3-txn", "kinesis")
"""In run order: Kinesis (slowest, often partial) last."""

_GENERATE = f"""
CREATE PROCEDURE bench_generate(singles int, multis int, txn_size int)
LANGUAGE plpgsql AS $$
DECLARE
    total int := singles + multis;
    every int := CASE WHEN multis > 0 THEN greatest(1, total / multis) ELSE 0 END;
    done_multi int := 0;
    single int := 0;
    max_id bigint := 0;
BEGIN
    FOR i IN 1..total LOOP
        IF done_multi < multis AND i % every = 0 THEN
            INSERT INTO {TABLE} (version, name, price, at, attrs, note)
            SELECT 1, 'batch widget ' || i || '-' || g, (g % 100000) / 100.0, now(),
                   jsonb_build_object('batch', i, 'n', g, 'tags', jsonb_build_array('a', 'ß')),
                   CASE WHEN g % 4 = 0 THEN NULL ELSE repeat('bulk note ', 5) || g END
            FROM generate_series(1, txn_size) AS g;
            max_id := currval(pg_get_serial_sequence('{TABLE}', 'id'));
            done_multi := done_multi + 1;
        ELSE
            single := single + 1;
            IF single % 3 = 0 AND max_id > 0 THEN
                UPDATE {TABLE}
                SET version = version + 1, price = price + 0.01, at = now(),
                    note = 'updated ' || single
                WHERE id = 1 + (single::bigint * 7919) % max_id;
            ELSE
                INSERT INTO {TABLE} (version, name, price, at, attrs, note)
                VALUES (1, 'ünïcødé widget ' || single, (single % 100000) / 100.0, now(),
                        jsonb_build_object('color', '歯車', 'n', single),
                        CASE WHEN single % 5 = 0 THEN NULL ELSE 'a note, with "quotes"' END)
                RETURNING id INTO max_id;
            END IF;
        END IF;
        COMMIT;
    END LOOP;
END
$$
"""


_console = Console("dms_engine")
fail, log = _console.fail, _console.log


# --- CPU accounting ------------------------------------------------------------------


@dataclass(frozen=True)
class Cpu:
    own_s: float
    moto_s: float
    postgres_s: float


class CpuMeter:
    def __init__(self, target: LocalTarget) -> None:
        self.moto_pid = target.component(MotoServer).pid
        self.pg_pid = target.component(PostgresCluster).postmaster_pid

    def now(self) -> Cpu:
        return Cpu(time.process_time(), proc_cpu_s(self.moto_pid), proc_cpu_s(self.pg_pid))

    @staticmethod
    def since(before: Cpu, after: Cpu) -> Cpu:
        return Cpu(
            after.own_s - before.own_s,
            after.moto_s - before.moto_s,
            after.postgres_s - before.postgres_s,
        )


# --- data ----------------------------------------------------------------------------


def create_table(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, version bigint NOT NULL, "
            "name text, price numeric(10,2), at timestamptz, attrs jsonb, note text)"
        )
        conn.execute(_GENERATE)


def plan(rows: int, txn_size: int, multi_share: float) -> tuple[int, int]:
    """(single-row transactions, txn_size-row transactions) making `rows` row changes."""
    multis = round(rows * multi_share / txn_size) if txn_size > 1 else 0
    return rows - multis * txn_size, multis


def generate(dsn: str, singles: int, multis: int, txn_size: int, checkpoint_every: int) -> int:
    """Run the generator in chunks of about `checkpoint_every` rows with a CHECKPOINT after
    each; returns the row changes it made (inserts + updates).

    A checkpoint logs the running transactions (xl_running_xacts), the only record that
    lets a slot's restart_lsn move on. Every pg_logical_slot_get_changes call decodes
    again from restart_lsn, so without them each call of the raw drain would re-read
    all the WAL before its start point (quadratic in --rows). A live database logs one
    every 15 s anyway; the engine's streaming read is not affected either way.
    full_page_writes is off meanwhile (a throwaway cluster), so the checkpoints do not
    add full-page images to the WAL: it stays as it would be without them.
    """
    rows = singles + multis * txn_size
    chunks = max(1, -(-rows // checkpoint_every)) if checkpoint_every > 0 else 1
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")  # commits are the WAL either way
        conn.execute("ALTER SYSTEM SET full_page_writes = off")
        conn.execute("SELECT pg_reload_conf()")
        try:
            for i in range(chunks):
                part_singles = singles * (i + 1) // chunks - singles * i // chunks
                part_multis = multis * (i + 1) // chunks - multis * i // chunks
                conn.execute(
                    "CALL bench_generate(%s, %s, %s)", (part_singles, part_multis, txn_size)
                )
                conn.execute("CHECKPOINT")
        finally:
            conn.execute("ALTER SYSTEM RESET full_page_writes")
            conn.execute("SELECT pg_reload_conf()")
    return rows


# --- raw reference -------------------------------------------------------------------


@dataclass
class Result:
    name: str
    rows: int
    seconds: float
    cpu: Cpu
    slot_seconds: float | None = None
    """Engine runs: until the slot's confirmed_flush_lsn reached the end (None: it did not)."""
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


class Progress:
    """Row changes committed up to each commit's end LSN, from the raw read: how many rows
    an engine has durably written when it has confirmed a position."""

    def __init__(self, commits: list[tuple[str, int]]) -> None:
        self.lsns = [lsn_int(lsn) for lsn, _ in commits]
        self.rows = [rows for _, rows in commits]

    @property
    def end(self) -> int:
        return self.lsns[-1] if self.lsns else 0

    def rows_at(self, position: int) -> int:
        i = bisect.bisect_right(self.lsns, position)
        return self.rows[i - 1] if i else 0


def measure_raw(dsn: str, meter: CpuMeter) -> tuple[Result, Progress]:
    """Drain the raw slot, noting each commit's end LSN and the rows up to it."""
    query = (
        f"SELECT lsn::text, data FROM pg_logical_slot_get_changes('{RAW_SLOT}', NULL, {BATCH}, "
        "'include-xids', '1', 'include-timestamp', '1', 'skip-empty-xacts', '1')"
    )
    rows = calls = 0
    commits: list[tuple[str, int]] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        cpu0 = meter.now()
        started = time.perf_counter()
        while True:
            batch = conn.execute(query).fetchall()
            calls += 1
            if not batch:
                break
            for lsn, data in batch:
                if data.startswith("table "):
                    rows += 1
                elif data.startswith("COMMIT"):
                    commits.append((lsn, rows))
        elapsed = time.perf_counter() - started
        cpu = CpuMeter.since(cpu0, meter.now())
    result = Result("raw slot", rows, elapsed, cpu)
    result.notes.append(f"{len(commits):,} transactions, {calls} calls of up to {BATCH:,} changes")
    return result, Progress(commits)


# --- engine runs ---------------------------------------------------------------------


@dataclass
class EngineRun:
    name: str
    task_arn: str
    slot: str
    describe: Callable[[], list[str]]
    """Reads the target back after the run: notes (e.g. rows found)."""


def _task(dms: Any, arn: str) -> dict[str, Any]:
    try:
        return describe_task(dms, arn)
    except DmsApiError as exc:
        raise UserError(str(exc)) from None


def await_status(dms: Any, arn: str, status: str, timeout_s: float = 60) -> dict[str, Any]:
    try:
        return await_task_status(dms, arn, status, timeout_s)
    except DmsApiError as exc:
        raise UserError(f"waiting for {status!r}: {exc}") from None


def _count_csv_rows(s3: Any, prefix: str) -> tuple[int, int]:
    """(objects, CSV records) under `prefix` of the bench bucket."""
    objects = rows = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read().decode()
            objects += 1
            rows += sum(1 for _ in csv.reader(io.StringIO(body)))
    return objects, rows


def prepare_run(target: LocalTarget, name: str, source_arn: str) -> EngineRun:
    """Create the target, its endpoint and a cdc task; start it (its slot appears) and stop it."""
    aws = target.aws
    dms = aws.client("dms")
    describe: Callable[[], list[str]]
    if name in ("s3", "s3-txn"):
        folder = f"bench-{name}"
        settings: dict[str, Any] = {
            "BucketName": BUCKET,
            "BucketFolder": folder,
            "CdcMaxBatchInterval": 1,
            "ServiceAccessRoleArn": ROLE,
        }
        if name == "s3-txn":
            settings |= {"PreserveTransactions": True, "CdcPath": "cdc"}
        endpoint = dms.create_endpoint(
            EndpointIdentifier=f"bench-{name}-target",
            EndpointType="target",
            EngineName="s3",
            S3Settings=settings,
        )

        def describe() -> list[str]:
            objects, rows = _count_csv_rows(aws.client("s3"), folder + "/")
            return [f"S3: {rows:,} CSV rows in {objects} objects"]

    elif name == "kinesis":
        kinesis = aws.client("kinesis")
        kinesis.create_stream(StreamName=STREAM, ShardCount=SHARDS)
        kinesis.get_waiter("stream_exists").wait(
            StreamName=STREAM, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
        )
        stream_arn = kinesis.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"][
            "StreamARN"
        ]
        endpoint = dms.create_endpoint(
            EndpointIdentifier=f"bench-{name}-target",
            EndpointType="target",
            EngineName="kinesis",
            KinesisSettings={
                "StreamArn": stream_arn,
                "MessageFormat": "json",
                "ServiceAccessRoleArn": ROLE,
            },
        )

        def describe() -> list[str]:
            return []

    else:
        raise UserError(f"unknown target {name!r}")
    rules = [
        {
            "rule-type": "selection",
            "rule-id": "1",
            "rule-name": "1",
            "object-locator": {"schema-name": "public", "table-name": "%"},
            "rule-action": "include",
        }
    ]
    arn = dms.create_replication_task(
        ReplicationTaskIdentifier=f"bench-{name}",
        SourceEndpointArn=source_arn,
        TargetEndpointArn=endpoint["Endpoint"]["EndpointArn"],
        ReplicationInstanceArn=INSTANCE,
        MigrationType="cdc",
        TableMappings=json.dumps({"rules": rules}),
    )["ReplicationTask"]["ReplicationTaskArn"]
    dms.start_replication_task(ReplicationTaskArn=arn, StartReplicationTaskType="start-replication")
    await_status(dms, arn, "running")
    slot = slot_name(arn)
    with psycopg.connect(target.source_dsn, autocommit=True) as conn:
        found = conn.execute(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s",
            (slot,),
        ).fetchone()
    if found is None:
        raise UserError(f"task {name} is running but its slot {slot} does not exist")
    dms.stop_replication_task(ReplicationTaskArn=arn)
    await_status(dms, arn, "stopped")
    log(f"{name}: task created, slot {slot} at {found[0]}, task stopped")
    return EngineRun(name, arn, slot, describe)


def _engine_position(target: LocalTarget, arn: str) -> str | None:
    """The engine's own confirmed position (confirmed only after the target's flush),
    read in-process; None when the runner or its source is not there (yet)."""
    runner = target.component(DmsEngine).runners.get(arn)
    if runner is None:
        return None
    if runner.failure:
        raise UserError(f"DMS task {runner.task['ReplicationTaskIdentifier']}: {runner.failure}")
    source = getattr(runner, "source", None)
    checkpoint = getattr(source, "checkpoint", None)
    return checkpoint() if checkpoint is not None else None


def measure_engine(
    target: LocalTarget, run: EngineRun, progress: Progress, budget_s: float, meter: CpuMeter
) -> Result:
    """Resume the task; time it until the engine has confirmed the last commit (or, past
    `budget_s`, until its last confirmation: a partial run), then until the slot has."""
    dms = target.aws.client("dms")
    end, total = progress.end, progress.rows_at(progress.end)
    slot_query = "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s"
    with psycopg.connect(target.source_dsn, autocommit=True) as conn:

        def slot_lsn() -> int:
            found = conn.execute(slot_query, (run.slot,)).fetchone()
            if found is None or found[0] is None:
                raise UserError(f"{run.name}: slot {run.slot} is gone")
            return lsn_int(found[0])

        begin = slot_lsn()
        log(f"{run.name}: resuming the task ({(end - begin) / 2**20:.1f} MiB of WAL to read)")
        dms.start_replication_task(
            ReplicationTaskArn=run.task_arn, StartReplicationTaskType="resume-processing"
        )
        # The clock starts once the task runs (API reads, clients and the replication
        # connection are start-up, not throughput); the last batch's wait for
        # CdcMaxBatchInterval is inside the window.
        await_status(dms, run.task_arn, "running")
        cpu0 = meter.now()
        started = time.perf_counter()
        confirmed_rows, confirmed_s, confirmed_cpu = 0, 0.0, CpuMeter.since(cpu0, cpu0)
        durable_s: float | None = None
        slot_s: float | None = None
        next_status = next_progress = 0.0
        while True:
            now = time.perf_counter() - started
            if durable_s is None:
                position = _engine_position(target, run.task_arn)
                rows = progress.rows_at(lsn_int(position)) if position else 0
                if rows > confirmed_rows:
                    confirmed_rows, confirmed_s = rows, now
                    confirmed_cpu = CpuMeter.since(cpu0, meter.now())
                if position is not None and lsn_int(position) >= end:
                    durable_s = now
            if slot_lsn() >= end:
                slot_s = now
                if durable_s is None:  # the runner was not visible in time; the slot is later
                    durable_s = confirmed_s = now
                    confirmed_rows, confirmed_cpu = total, CpuMeter.since(cpu0, meter.now())
                break
            if now >= next_status:
                task = _task(dms, run.task_arn)
                if task["Status"] == "failed":
                    raise UserError(f"{run.name}: {task.get('LastFailureMessage')}")
                next_status = now + STATUS_EVERY_S
            if now >= next_progress and durable_s is None:
                log(f"{run.name}: {now:5.1f} s, {confirmed_rows:,} rows durably written")
                next_progress = now + PROGRESS_EVERY_S
            if durable_s is None and now > budget_s:
                log(f"{run.name}: budget of {budget_s:.0f} s used up; a partial run")
                break
            if durable_s is not None and now - durable_s > SLOT_LAG_LIMIT_S:
                log(
                    f"{run.name}: slot still behind the engine's confirmed position "
                    f"{SLOT_LAG_LIMIT_S:.0f} s later; giving up on it"
                )
                break
            time.sleep(POLL_S)
    result = Result(f"engine → {run.name}", confirmed_rows, confirmed_s, confirmed_cpu, slot_s)
    if durable_s is None:
        result.notes.append(
            f"PARTIAL: {confirmed_rows:,} of {total:,} rows durably written within the "
            f"{budget_s:.0f} s budget (rate up to the last confirmation)"
        )
    log(f"{run.name}: stopping the task")
    dms.stop_replication_task(ReplicationTaskArn=run.task_arn)
    stopped = await_status(dms, run.task_arn, "stopped", timeout_s=STOP_WAIT_S)
    stats = dms.describe_table_statistics(ReplicationTaskArn=run.task_arn)["TableStatistics"]
    changes = sum(int(s.get("Inserts", 0)) + int(s.get("Updates", 0)) for s in stats)
    result.notes.append(f"table statistics: {changes:,} inserts+updates (of {total:,})")
    result.notes.extend(run.describe())
    if stopped.get("LastFailureMessage"):
        result.notes.append(f"LastFailureMessage: {stopped['LastFailureMessage']}")
    log(f"{run.name}: {confirmed_rows:,} rows in {confirmed_s:.2f} s; {'; '.join(result.notes)}")
    return result


# --- main ----------------------------------------------------------------------------


def report(results: list[Result]) -> None:
    print(f"{'run':22s} {'rows':>9s} {'seconds':>8s} {'rows/s':>9s} {'µs/row':>7s}  "
          f"{'slot s':>7s}  CPU s: {'this proc':>9s} {'moto':>6s} {'postgres':>8s}")  # fmt: skip
    for r in results:
        slot = "" if r.name == "raw slot" else "never" if r.slot_seconds is None else (
            f"{r.slot_seconds:.2f}"
        )  # fmt: skip
        us = r.seconds / r.rows * 1e6 if r.rows else 0.0
        print(
            f"{r.name:22s} {r.rows:9,d} {r.seconds:8.2f} {r.rate:9,.0f} {us:7.2f}  {slot:>7s}  "
            f"       {r.cpu.own_s:9.2f} {r.cpu.moto_s:6.2f} {r.cpu.postgres_s:8.2f}"
        )
        for note in r.notes:
            print(f"{'':24s}{note}")
    print("(seconds: until the engine's own confirmed position reached the last commit;")
    print(" slot s: until the slot's confirmed_flush_lsn did)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=400_000, help="row changes (400000)")
    parser.add_argument("--txn-size", type=int, default=100, help="rows of multi-row txns (100)")
    parser.add_argument(
        "--multi-share", type=float, default=0.3, help="share of rows in multi-row txns (0.3)"
    )
    parser.add_argument(
        "--checkpoint-every",
        type=int,
        default=10_000,
        help="CHECKPOINT after about every so many generated rows, 0: only at the end (10000)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=45.0,
        help="seconds an engine run may take before it counts as partial (45)",
    )
    parser.add_argument(
        "--targets", default="s3,kinesis", help=f"engine runs, of {','.join(ALL_TARGETS)}"
    )
    args = parser.parse_args()
    names = [n.strip() for n in args.targets.split(",") if n.strip()]
    if args.rows < 1 or args.txn_size < 1 or not 0 <= args.multi_share <= 1:
        fail("--rows and --txn-size must be >= 1, --multi-share within 0..1")
    if (
        "s3" not in names
        or any(n not in ALL_TARGETS for n in names)
        or len(set(names)) < len(names)
    ):
        fail(f"--targets: distinct names of {', '.join(ALL_TARGETS)}, including s3")
    singles, multis = plan(args.rows, args.txn_size, args.multi_share)

    signals.install()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with (
        _console.workspace("cdcbench-dms-engine-", "logs") as workdir,
        make_target("local", Settings(), workdir) as target,
    ):
        assert isinstance(target, LocalTarget)
        dsn = target.source_dsn
        meter = CpuMeter(target)
        create_table(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_create_logical_replication_slot(%s, 'test_decoding')", (RAW_SLOT,)
            )
            version = str((conn.execute("SHOW server_version").fetchone() or ["?"])[0])
        aws = target.aws
        aws.client("s3").create_bucket(Bucket=BUCKET)
        info = conninfo.conninfo_to_dict(dsn)
        source_arn = aws.client("dms").create_endpoint(
            EndpointIdentifier="bench-source",
            EndpointType="source",
            EngineName="postgres",
            Username=str(info.get("user") or "postgres"),
            Password="unused-locally",
            ServerName=str(info.get("host") or "127.0.0.1"),
            Port=int(str(info.get("port") or 5432)),
            DatabaseName=str(info.get("dbname")),
            PostgreSQLSettings={"PluginName": "test_decoding"},
        )["Endpoint"]["EndpointArn"]
        order = sorted(names, key=ALL_TARGETS.index)
        runs = [prepare_run(target, name, source_arn) for name in order]

        log(
            f"generating {args.rows:,} row changes: {singles:,} single-row transactions "
            f"(2/3 inserts, 1/3 updates), {multis:,} {args.txn_size}-row inserts"
        )
        started = time.perf_counter()
        rows = generate(dsn, singles, multis, args.txn_size, args.checkpoint_every)
        log(f"generated in {time.perf_counter() - started:.1f} s")

        log("draining the raw slot")
        raw, progress = measure_raw(dsn, meter)
        log(f"raw: {raw.rows:,} rows in {raw.seconds:.2f} s; {raw.notes[0]}")
        if raw.rows != rows:
            log(f"warning: the raw slot gave {raw.rows:,} rows, {rows:,} were generated")
        results = [raw]
        for run in runs:
            results.append(measure_engine(target, run, progress, args.budget, meter))
        failures = target.engine_failures()

    print(f"PostgreSQL {version}, {os.cpu_count()} CPUs, {rows:,} row changes")
    report(results)
    for name, reason in failures.items():
        print(f"engine failure: {name}: {reason}")
    by_name = {r.name: r for r in results}

    def ratio(rate: float) -> str:
        return f"{rate / raw.rate:.3f}" if raw.rate > 0 else "nan"

    for r in results[1:]:
        if r.slot_seconds:
            print(
                f"{r.name}: by the slot's confirmed_flush_lsn {r.rows / r.slot_seconds:,.0f} "
                f"rows/s, ratio {ratio(r.rows / r.slot_seconds)}"
            )
    if "engine → kinesis" in by_name:
        print(f"dms_engine_kinesis_ratio: {ratio(by_name['engine → kinesis'].rate)}")
    print(f"dms_engine_ratio: {ratio(by_name['engine → s3'].rate)}")


if __name__ == "__main__":
    main()
