"""Worker rate: the changes/s one Locust worker process sustains, for sizing distributed load.

A distributed run (`locust_runner.run_locust_distributed`, workers on ECS Fargate from
terraform/modules/locust_workers) needs enough workers for the scenario's rate: this
measures what one worker process commits per second against a throwaway local PostgreSQL
(the `local` target's cluster), with moto's S3 for the ledgers, next to a reference taken
in the same run on the same database: the same workload in the single-process headless
mode (`locust_runner.run_locust`, one process).

Both phases offer the same load, far above reach (OFFERED_RATE over --users users, the
scenario's default mix of inserts, updates, deletes and orders), so every user writes back
to back and the figure is the ceiling, not the offer. Each counts committed changes from
its ledger over the middle 80% of its acknowledged span (connecting, spawn ramp-up and
shutdown excluded); the worker's ledger is the one it put into S3 and the harness merged.
The tables are emptied before each phase.

The last line is `worker_rate_ratio: <worker changes/s / single-process changes/s>`: near 1
says a worker costs nothing over a standalone process (the master's stats traffic, the
upload at the end), and one worker's figure divides a scenario's rate into a worker count.
On a small machine PostgreSQL shares the CPUs with the load: a Fargate worker against RDS
does at least as well.

    .venv/bin/python benchmarks/worker_rate.py [--seconds N] [--users N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg

from harness import signals
from harness.aws import AwsAccess
from harness.errors import UserError
from harness.load import locust_runner, schema
from harness.load.ledger import COMMITTED, Change, read_ledger
from harness.load.ledger_store import LedgerBucket
from harness.local.moto_server import MotoServer
from harness.local.postgres import PostgresCluster, find_bindir
from harness.process import free_port
from harness.process import stop as stop_process
from harness.scenario import Scenario
from harness.settings import Settings

from bench_util import Console

OFFERED_RATE = 1_000_000
"""Changes/s offered: far above reach, so every user writes back to back."""
EDGE_SHARE = 0.10
"""Share of each phase dropped at either end (connecting, spawn ramp-up, shutdown)."""
_BUCKET = "worker-rate-ledgers"

_console = Console("worker_rate")
fail, log = _console.fail, _console.log


@dataclass(frozen=True)
class Sustained:
    committed: int
    """Committed changes in the whole ledger."""
    span_s: float
    window_committed: int
    window_s: float
    max_delay_s: float
    """Largest intended-to-acknowledged delay: how far behind its offer the load fell."""

    @property
    def per_s(self) -> float:
        return self.window_committed / self.window_s if self.window_s > 0 else 0.0


def sustained(changes: list[Change]) -> Sustained:
    committed = [c for c in changes if c.status == COMMITTED]
    acked = sorted(c.acked_ns for c in committed)
    if len(acked) < 2:
        raise UserError(f"the Locust run committed {len(acked)} change(s): nothing to measure")
    span = acked[-1] - acked[0]
    low, high = acked[0] + EDGE_SHARE * span, acked[-1] - EDGE_SHARE * span
    return Sustained(
        committed=len(acked),
        span_s=span / 1e9,
        window_committed=sum(low <= t < high for t in acked),
        window_s=(high - low) / 1e9,
        max_delay_s=max(c.acked_ns - c.intended_ns for c in committed) / 1e9,
    )


def scenario(seconds: int, users: int) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "worker-rate",
            "description": "the default mix, offered far above reach: one process's ceiling",
            "patterns": ["direct"],
            "load": {"duration_s": seconds, "rate_per_s": OFFERED_RATE, "users": users},
        }
    )


def single_process(dsn: str, load: Scenario, workdir: Path) -> Sustained:
    locust_runner.run_locust(dsn, load, workdir)
    return sustained(read_ledger(workdir / "ledger"))


def one_worker(dsn: str, load: Scenario, workdir: Path, ledgers: LedgerBucket) -> Sustained:
    """The master here and one `locust --worker` process, as a Fargate task runs it."""
    port = free_port()
    workdir.mkdir(parents=True)
    env = {
        **os.environ,
        **ledgers.aws.env(),
        "CDCBENCH_DSN": dsn,
        "CDCBENCH_LEDGER_DIR": str(workdir / "worker-ledger"),
        "CDCBENCH_LEDGER_BUCKET": ledgers.bucket,
        "CDCBENCH_LEDGER_PREFIX": ledgers.prefix,
    }
    cmd = [*locust_runner.worker_command("127.0.0.1", port), "--parent-pid", str(os.getpid())]
    with open(workdir / "worker.log", "wb") as out:
        worker = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    try:
        result = locust_runner.run_locust_distributed(
            dsn, load, workdir / "run", 1, ledgers,
            port=port, bind_host="127.0.0.1", connect_timeout_s=60, upload_timeout_s=120,
        )  # fmt: skip
        worker.wait(timeout=120)  # the master told it to quit once its load stopped
    finally:
        stop_process(worker, grace_s=90)
    if len(result.workers) != 1:
        raise UserError(f"expected one worker, {len(result.workers)} connected")
    return sustained(read_ledger(workdir / "run" / "ledger"))


def fresh_tables(dsn: str) -> None:
    schema.reset(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def _line(label: str, result: Sustained) -> str:
    return (
        f"{label:15s} {result.per_s:9.1f} committed changes/s sustained  "
        f"({result.window_committed:,} in the middle {result.window_s:.2f} s; all "
        f"{result.committed:,} in {result.span_s:.2f} s; fell up to "
        f"{result.max_delay_s:.1f} s behind the offer)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="length of each phase (20)")
    parser.add_argument("--users", type=int, default=16, help="Locust users (16)")
    args = parser.parse_args()
    if args.seconds < 3 or args.users < 1:
        fail("--seconds must be >= 3 and --users >= 1")

    signals.install()  # SIGTERM like Ctrl-C: the cluster and moto are always stopped
    settings = Settings()
    try:
        bindir = find_bindir(settings.pg_bindir)
    except UserError as exc:
        fail(str(exc))
    if not locust_runner.LOCUST.is_file():
        fail(f"locust not found next to {sys.executable}: run from the project's virtualenv")
    load = scenario(args.seconds, args.users)

    with _console.workspace("cdcbench-worker-rate-", "logs, scenario, ledgers") as workdir:
        cluster = PostgresCluster(bindir, settings.pg_os_user, workdir / "pg-log")
        moto = MotoServer(workdir / "moto-log")
        try:
            log(f"starting PostgreSQL ({bindir}) and moto")
            cluster.start()
            moto.start()
            aws = AwsAccess(
                "us-east-1",
                moto.endpoint_url,
                {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
                max_attempts=1,
            )
            aws.client("s3").create_bucket(Bucket=_BUCKET)
            dsn = cluster.dsn

            fresh_tables(dsn)
            log(f"single process: {args.users} users, {args.seconds}s")
            single = single_process(dsn, load, workdir / "single")

            fresh_tables(dsn)
            log(f"one worker (and its master): {args.users} users, {args.seconds}s")
            worker = one_worker(
                dsn, load, workdir / "worker", LedgerBucket(aws, _BUCKET, "ledger/bench/")
            )
        finally:
            with signals.deferred("stopping PostgreSQL and moto"):
                moto.stop()
                cluster.stop()

    print(
        f"{os.cpu_count()} CPUs, {args.seconds}s per phase, {args.users} users, default mix, "
        f"offered {OFFERED_RATE:,}/s"
    )
    print(_line("single process:", single))
    print(_line("one worker:", worker))
    print(f"worker_rate: {worker.per_s:.1f}")
    print(f"worker_rate_ratio: {worker.per_s / single.per_s if single.per_s else 0.0:.3f}")


if __name__ == "__main__":
    main()
