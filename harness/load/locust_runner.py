"""Run the Locust driver (loadtests/locustfile.py) headless for one pattern, and sum up.

Locust runs as a subprocess: it monkey-patches the process for gevent, which
must not happen to the harness (its observers are threads). Its CSV and HTML
reports, its log and the ledger land in the pattern's run directory.

`run_locust` runs the whole load in one process (or `load.processes` on this host).
`run_locust_distributed` runs only the master here, for workers elsewhere (ECS Fargate:
terraform/modules/locust_workers; `worker_command` is what they run): it waits for them
to connect, runs the scenario's shape, then waits for each worker that connected to put
its ledger into S3 and merges them all into the ledger folder (harness.load.ledger_store).
"""

import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import psycopg
from pydantic import BaseModel

from harness import progress
from harness.apps import DSN_VARIABLE, Spec
from harness.errors import UserError
from harness.load.ledger import ABORTED, Change, Ledger
from harness.load.ledger_store import LedgerBucket, await_ledgers, download_ledgers
from harness.load.schema_change import DDL_REQUEST
from harness.process import stop
from harness.scenario import Scenario

LOCUSTFILE = Path(__file__).resolve().parents[2] / "loadtests" / "locustfile.py"
LOCUST = Path(sys.executable).with_name("locust")
_STOP_GRACE_S = 90
"""Longer than the locustfile's stop timeout, in which users finish their transaction."""
MASTER_PORT = 5557
"""Locust's own default, and the locust_workers module's `master_port`."""
_GAVE_UP = "Gave up waiting for workers to connect"
"""What the Locust master logs when --expect-workers-max-wait passed."""


class LoadStats(BaseModel):
    duration_s: float
    offered_per_s: float
    """The scenario's rate at the full user count."""
    requests: int
    """Operations attempted (Locust requests; post-commit hooks and the DDL excluded)."""
    failures: int
    transactions: int
    """Committed transactions that changed something."""
    committed: int
    """Committed row changes."""
    aborted: int
    """Row changes rolled back on purpose."""
    committed_per_s: float
    max_ack_delay_ms: float
    """Largest intended-to-acknowledged time: how far the driver fell behind its schedule."""
    post_commit_failures: int = 0
    schema_change_failures: int = 0
    """Attempts at the scenario's `schema_change` DDL that failed."""


def run_locust(
    dsn: str,
    scenario: Scenario,
    workdir: Path,
    env: dict[str, str] | None = None,
    application: Spec | None = None,
) -> None:
    """Offer the scenario's load; the ledger goes to `workdir/ledger/`."""
    cmd = _command(scenario, workdir, application)
    if scenario.load.processes > 1:
        cmd += ["--processes", str(scenario.load.processes)]
    log_path = workdir / "locust.log"
    load = scenario.load
    with open(log_path, "wb") as log:
        proc = _start(cmd, log, dsn, env)
        try:
            _follow(
                proc,
                f"Locust: {load.rate_per_s:g}/s, {load.users} users, {load.shape.kind}",
                load.duration_s,
            )
        finally:
            stop(proc, grace_s=_STOP_GRACE_S)  # SIGTERM: Locust stops its users gracefully
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"locust exited with {proc.returncode}: {tail[0]} (log: {log_path})")


def _command(scenario: Scenario, workdir: Path, application: Spec | None) -> list[str]:
    """Locust on the locustfile, headless, with the scenario (written into `workdir`), the
    ledger folder, its reports and the application; the DSN goes in the environment."""
    workdir.mkdir(parents=True, exist_ok=True)
    scenario_file = workdir / "scenario.json"
    scenario_file.write_text(scenario.model_dump_json(indent=2))
    cmd = [
        str(LOCUST),
        "-f", str(LOCUSTFILE),
        "--headless",
        "--scenario", str(scenario_file),
        "--ledger-dir", str(workdir / "ledger"),
        "--csv", str(workdir / "locust"),
        "--html", str(workdir / "locust.html"),
        "--exit-code-on-error", "0",
        "--loglevel", "WARNING",
        "--parent-pid", str(os.getpid()),
    ]  # fmt: skip
    if application:
        cmd += ["--application", str(application.write(workdir / "application.json"))]
    return cmd


def _start(
    cmd: list[str], log: BinaryIO, dsn: str, env: dict[str, str] | None
) -> subprocess.Popen[bytes]:
    """Locust in a session of its own, the source's DSN in `CDCBENCH_DSN` (never on its
    command line, which other users of the host can read) and its password apart, in
    PGPASSWORD: a master hands its options, the DSN among them, to its workers."""
    without, password = split_password(dsn)
    own = {DSN_VARIABLE: without} | ({"PGPASSWORD": password} if password is not None else {})
    return subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {}), **own}, start_new_session=True,
    )  # fmt: skip


def split_password(dsn: str) -> tuple[str, str | None]:
    """`dsn` without its password, and the password (None when it has none)."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    password = info.pop("password", None)
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items()}), (
        None if password is None else str(password)
    )


def _follow(proc: subprocess.Popen[bytes], label: str, duration_s: float) -> None:
    """Show the load's progress until Locust exits."""
    started = time.monotonic()
    with progress.step(label, total=duration_s) as update:
        while proc.poll() is None:
            elapsed = time.monotonic() - started
            update(f"{elapsed:.0f}/{duration_s:g}s", completed=elapsed)
            time.sleep(0.5)


def worker_command(master_host: str, master_port: int = MASTER_PORT) -> list[str]:
    """A Locust worker of `run_locust_distributed`'s master on this host, as the
    locust_workers module runs one in its image; its environment gives CDCBENCH_DSN,
    CDCBENCH_LEDGER_DIR, CDCBENCH_LEDGER_BUCKET and CDCBENCH_LEDGER_PREFIX."""
    return [
        str(LOCUST), "--worker",
        "--master-host", master_host, "--master-port", str(master_port),
        "-f", str(LOCUSTFILE),
    ]  # fmt: skip


@dataclass(frozen=True)
class DistributedLoad:
    workers: list[str]
    """Ids of the workers that connected to the master (each one's folder in the bucket)."""
    files: list[Path]
    """Their files merged into the ledger folder: ledgers, clock offsets, what else they
    recorded."""


def run_locust_distributed(
    dsn: str,
    scenario: Scenario,
    workdir: Path,
    workers: int,
    ledgers: LedgerBucket,
    *,
    port: int = MASTER_PORT,
    bind_host: str = "*",
    connect_timeout_s: float = 300.0,
    upload_timeout_s: float = 180.0,
    env: dict[str, str] | None = None,
    application: Spec | None = None,
) -> DistributedLoad:
    """Offer the scenario's load through `workers` Locust workers running elsewhere: the
    master listens on `bind_host:port` and starts once all have connected (a UserError if
    they do not within `connect_timeout_s`). After the load, each worker that connected
    puts its ledger folder under `ledgers` (within `upload_timeout_s`), and they are merged
    into `workdir/ledger/`, as `run_locust` leaves its own: `read_ledger`, `writer_offsets`
    and `load_stats` read them the same way. The master reaches the database at `dsn` (it
    creates the source tables); the workers at their own CDCBENCH_DSN."""
    if workers < 1:
        raise UserError(f"--workers must be at least 1, not {workers}")
    load = scenario.load
    if load.users < workers:
        raise UserError(
            f"scenario {scenario.name!r} has {load.users} Locust users for {workers} workers: "
            "some workers would idle; raise load.users or lower the worker count"
        )
    ledger_dir = workdir / "ledger"
    workers_file = workdir / "locust-workers.json"
    cmd = _command(scenario, workdir, application)
    cmd += [
        "--master",
        "--expect-workers", str(workers),
        "--expect-workers-max-wait", f"{connect_timeout_s:g}",
        "--master-bind-host", bind_host,
        "--master-bind-port", str(port),
        "--workers-file", str(workers_file),
    ]  # fmt: skip
    log_path = workdir / "locust.log"
    with open(log_path, "wb") as log:
        proc = _start(cmd, log, dsn, env)
        try:
            with progress.step(f"Locust master on port {port}: {workers} worker(s)") as update:
                while proc.poll() is None and len(_connected(workers_file)) < workers:
                    update(f"{len(_connected(workers_file))}/{workers} connected")
                    time.sleep(0.5)
            if proc.poll() is None:
                label = (
                    f"Locust: {load.rate_per_s:g}/s, {load.users} users on {workers} worker(s), "
                    f"{load.shape.kind}"
                )
                _follow(proc, label, load.duration_s)
        finally:
            stop(proc, grace_s=_STOP_GRACE_S)
    connected = _connected(workers_file)
    output = log_path.read_text(errors="replace")
    if _GAVE_UP in output:
        raise UserError(
            f"{len(connected)} of {workers} Locust workers connected to the master on port "
            f"{port} within {connect_timeout_s:g} s: check that the workers run (the ECS "
            f"service's tasks and their logs), reach this host on port {port} (master_host, "
            "security groups) and run the same Locust version"
        )
    if proc.returncode != 0:
        tail = output.strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"locust exited with {proc.returncode}: {tail[0]} (log: {log_path})")
    where = ledgers.url()
    with progress.step(f"Locust workers' ledgers from {where}") as update:
        await_ledgers(
            ledgers.aws, ledgers.bucket, ledgers.prefix, connected, upload_timeout_s,
            lambda n: update(f"{n}/{len(connected)} uploaded"),
        )  # fmt: skip
        files = download_ledgers(
            ledgers.aws, ledgers.bucket, ledgers.prefix, ledger_dir, writers=connected
        )
    return DistributedLoad(connected, files)


def _connected(workers_file: Path) -> list[str]:
    """The workers the master saw connect (the locustfile's --workers-file)."""
    try:
        return list(json.loads(workers_file.read_text())["connected"])
    except (OSError, ValueError, KeyError):
        return []


def load_stats(changes: Sequence[Change], workdir: Path, offered_per_s: float) -> LoadStats:
    """Sum up a run from its merged ledger and Locust's stats CSV in `workdir`."""
    ledger = Ledger.of(changes)
    committed = ledger.committed
    rows = _locust_rows(workdir / "locust_stats.csv")
    none = {"Request Count": "0", "Failure Count": "0"}
    hooks, ddl = rows.pop("post-commit", none), rows.pop(DDL_REQUEST, none)
    aggregated, aside = rows.pop("Aggregated", none), (hooks, ddl)
    intended, acked = ledger.numbers("intended_ns"), ledger.numbers("acked_ns")
    duration = (int(acked.max()) - int(intended.min())) / 1e9 if len(ledger) else 0.0
    count = int(np.count_nonzero(committed))
    return LoadStats(
        duration_s=round(duration, 3),
        offered_per_s=offered_per_s,
        requests=int(aggregated["Request Count"]) - sum(int(r["Request Count"]) for r in aside),
        failures=int(aggregated["Failure Count"]) - sum(int(r["Failure Count"]) for r in aside),
        transactions=len(np.unique(ledger.numbers("txid")[committed])),
        committed=count,
        aborted=int(
            np.count_nonzero(ledger.texts("status").to_numpy(zero_copy_only=False) == ABORTED)
        ),
        committed_per_s=round(count / duration, 2) if duration else 0.0,
        max_ack_delay_ms=round(int((acked - intended).max()) / 1e6, 3) if len(ledger) else 0.0,
        post_commit_failures=int(hooks["Failure Count"]),
        schema_change_failures=int(ddl["Failure Count"]),
    )


def _locust_rows(path: Path) -> dict[str, dict[str, str]]:
    """Locust's stats CSV, one row per request name ("Aggregated" for the total)."""
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        return {row["Name"]: row for row in csv.DictReader(f)}
