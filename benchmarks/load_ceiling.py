"""Load ceiling: how close the Locust driver gets to what PostgreSQL itself sustains.

One run on a throwaway local PostgreSQL (the `local` target's cluster, without moto)
measures, for the same single-row widget insert (`transactions.insert_widget()`:
INSERT ... RETURNING *, txid):

1. pgbench TPS, 4 clients, prepared statements: the reference. pgbench is
   PostgreSQL's own C load generator; its client needs a small fraction of the
   CPU a Python driver does per transaction, so its TPS is what the server (and
   this machine) can commit for this statement. Whatever the driver falls short of
   it is the driver's own cost.
2. The Locust driver's maximum sustained committed writes/s (loadtests/locustfile.py,
   ledger on, offered a rate far above reach), counted from its merged ledger over
   the middle 80% of the run (spawn ramp-up and shutdown excluded).
3. Where the time goes: the ledger writer's cost per record (timed in-process)
   next to the per-write time budget at the measured rate, and, for both phases,
   the CPU spent per commit by the client (pgbench or Locust, all its processes)
   and by PostgreSQL (postmaster and all backends), plus how busy the whole
   machine was (so load from other processes shows up), from /proc over the
   middle 80% of each phase.

The table is emptied (schema reset) before each phase, so both write into a table
of comparable size. The last line is `load_ceiling_ratio: <Locust writes/s / pgbench TPS>`.

    .venv/bin/python benchmarks/load_ceiling.py [--seconds N] [--users N] [--processes N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import psycopg

from harness import signals
from harness.errors import UserError
from harness.load import locust_runner, schema
from harness.load.ledger import COMMITTED, Change, ledger_writer, read_ledger
from harness.load.transactions import insert_widget
from harness.local.postgres import DATABASE, PostgresCluster, find_bindir
from harness.scenario import Scenario
from harness.settings import Settings

from bench_util import TICK_S, Console, proc_cpu_s

PGBENCH_CLIENTS = 4
PGBENCH_THREADS = 2
OFFERED_RATE = 1_000_000
"""Changes/s offered to Locust: far above reach, so every user writes back to back."""
EDGE_SHARE = 0.10
"""Share of each phase dropped at either end (connecting, spawn ramp-up, shutdown)."""
LEDGER_RECORDS = 200_000
SAMPLE_EVERY_S = 0.25
"""CPU accounting: how often /proc is read during a phase."""
_GRACE_S = 120
"""How long a phase may overrun --seconds before it is stopped."""

_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
_PARAM = re.compile(r"%\((\w+)\)s")

# pgbench variables are numbers (\set) or strings (-D); a NULL parameter cannot be
# expressed, so `notes` (NULL in the driver's plain widgets) is the literal NULL.
_PGBENCH_VARIABLES = {
    "name": "ünïcødé bolt 123456",
    "produced_at": "2023-04-05 06:07:08.123456+00",
    "attrs": json.dumps({"color": "歯車", "batch": 42, "tags": ["a", "ß"]}),
}
_PGBENCH_SET = r"\set price random(1, 999999999999) / 10000.0"


_console = Console("load_ceiling")
fail, log = _console.fail, _console.log


# --- CPU accounting from /proc -------------------------------------------------------


def _machine_busy_s() -> float:
    """CPU seconds all CPUs spent not idle (and not waiting for I/O) since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) * TICK_S


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds spent over a wall-clock window."""

    wall_s: float
    client_s: float
    """This script's child processes (pgbench, or Locust and its workers)."""
    server_s: float
    """The postmaster, its background processes and all backends."""
    machine_s: float
    """All CPUs, every process on the machine."""

    def per_commit_us(self, seconds: float, commits: float) -> float:
        return seconds / commits * 1e6 if commits else 0.0

    def cores(self, seconds: float) -> float:
        return seconds / self.wall_s if self.wall_s else 0.0


class CpuSampler:
    """Samples client, server and machine CPU time every SAMPLE_EVERY_S in a thread."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.samples: list[tuple[int, float, float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        self.samples.append(
            (
                time.time_ns(),
                proc_cpu_s(os.getpid(), own=False),
                proc_cpu_s(self.server_pid),
                _machine_busy_s(),
            )
        )

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self._sample()

    def __enter__(self) -> CpuSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _at(self, t_ns: float) -> tuple[float, float, float]:
        """Cumulative CPU seconds at `t_ns`, interpolated between samples."""
        samples = self.samples
        for before, after in itertools.pairwise(samples):
            if before[0] <= t_ns <= after[0]:
                f = (t_ns - before[0]) / (after[0] - before[0]) if after[0] > before[0] else 0
                return (
                    before[1] + f * (after[1] - before[1]),
                    before[2] + f * (after[2] - before[2]),
                    before[3] + f * (after[3] - before[3]),
                )
        edge = samples[0] if t_ns < samples[0][0] else samples[-1]
        return edge[1], edge[2], edge[3]

    def between(self, low_ns: float, high_ns: float) -> CpuUse:
        a, b = self._at(low_ns), self._at(high_ns)
        return CpuUse((high_ns - low_ns) / 1e9, b[0] - a[0], b[1] - a[1], b[2] - a[2])


def _middle(first_ns: float, last_ns: float) -> tuple[float, float]:
    span = last_ns - first_ns
    return first_ns + EDGE_SHARE * span, last_ns - EDGE_SHARE * span


# --- phases --------------------------------------------------------------------------


def pgbench_script() -> str:
    """insert_widget() with pgbench variables for its parameters (notes: literal NULL)."""
    sql = insert_widget().replace("%(notes)s", "NULL")
    sql = _PARAM.sub(lambda m: f":{m.group(1)}", sql)
    return f"{_PGBENCH_SET}\n{sql};\n"


def find_pgbench(bindir: Path) -> Path:
    for candidate in (Path("/usr/bin/pgbench"), bindir / "pgbench"):
        if candidate.is_file():
            return candidate
    on_path = shutil.which("pgbench")
    if on_path:
        return Path(on_path)
    fail(
        f"pgbench not found (looked in /usr/bin, {bindir} and PATH): install it "
        "(Debian/Ubuntu: apt-get install postgresql-client)"
    )


def fresh_table(dsn: str) -> None:
    """Empty widgets/orders (sequences restarted) and checkpoint, so phases start alike."""
    schema.reset(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def count_widgets(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM widgets").fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class PgbenchResult:
    tps: float
    cpu: CpuUse
    """Over the middle of the run."""

    @property
    def commits_in_window(self) -> float:
        return self.tps * self.cpu.wall_s


def run_pgbench(
    pgbench: Path, port: int, seconds: int, workdir: Path, server_pid: int
) -> PgbenchResult:
    script = workdir / "insert_widget.sql"
    script.write_text(pgbench_script(), encoding="utf-8")
    cmd = [
        str(pgbench), "-n",
        "-c", str(PGBENCH_CLIENTS), "-j", str(PGBENCH_THREADS),
        "-T", str(seconds), "-M", "prepared",
        "-f", str(script),
        "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
    ]  # fmt: skip
    for name, value in _PGBENCH_VARIABLES.items():
        cmd += ["-D", f"{name}={value}"]
    cmd.append(DATABASE)
    with CpuSampler(server_pid) as sampler:
        started = time.time_ns()
        try:
            out = subprocess.run(
                cmd, capture_output=True, text=True, check=False, timeout=seconds + _GRACE_S
            )
        except subprocess.TimeoutExpired:
            raise UserError(f"pgbench did not finish within {seconds + _GRACE_S}s") from None
        ended = time.time_ns()
    match = _TPS.search(out.stdout)
    if out.returncode != 0 or match is None:
        lines = (out.stderr or out.stdout).strip().splitlines() or ["(no output)"]
        raise UserError(f"pgbench failed (exit {out.returncode}): {lines[-1]}")
    return PgbenchResult(float(match.group(1)), sampler.between(*_middle(started, ended)))


@dataclass(frozen=True)
class LocustResult:
    committed: int
    """Committed changes in the whole ledger."""
    span_s: float
    """First to last commit acknowledgement."""
    window_committed: int
    """Committed changes acknowledged in the middle of the span."""
    cpu: CpuUse
    """Over the middle of the span."""

    @property
    def sustained_per_s(self) -> float:
        return self.window_committed / self.cpu.wall_s if self.cpu.wall_s > 0 else 0.0


def run_locust_phase(
    dsn: str, seconds: int, users: int, processes: int, workdir: Path, server_pid: int
) -> LocustResult:
    """The driver exactly as `cdcbench run` starts it, offered far more than it can do."""
    scenario = Scenario.model_validate(
        {
            "name": "ceiling",
            "description": "insert-only, offered far above reach: the driver's ceiling",
            "patterns": ["direct"],
            "load": {
                "duration_s": seconds,
                "rate_per_s": OFFERED_RATE,
                "users": users,
                "processes": processes,
            },
            "workload": {"mix": {"insert": 1}, "abort_ratio": 0},
        }
    )
    with CpuSampler(server_pid) as sampler:
        locust_runner.run_locust(dsn, scenario, workdir / "locust")
    return _sustained(read_ledger(workdir / "locust" / "ledger"), sampler)


def _sustained(changes: list[Change], sampler: CpuSampler) -> LocustResult:
    """Committed changes acknowledged in the middle of the ledger's acked span."""
    acked = sorted(c.acked_ns for c in changes if c.status == COMMITTED)
    if len(acked) < 2:
        raise UserError(f"the Locust run committed {len(acked)} change(s): nothing to measure")
    low, high = _middle(acked[0], acked[-1])
    in_window = sum(low <= t < high for t in acked)
    return LocustResult(
        len(acked), (acked[-1] - acked[0]) / 1e9, in_window, sampler.between(low, high)
    )


def ledger_us_per_record(workdir: Path, n: int = LEDGER_RECORDS) -> tuple[float, float]:
    """Wall time per Change, in µs, of appending (`RecordWriter.append` and the final
    close) and of reading the ledger back (`read_ledger`, as the checker does)."""
    now = time.time_ns()
    changes = [
        Change("widgets", str(i), 1, "insert", COMMITTED, now + i, now + i + 1_500_000, 700 + i,
               "0123456789abcdef")
        for i in range(1, n + 1)
    ]  # fmt: skip
    directory = workdir / "ledger-bench"
    directory.mkdir()
    writer = ledger_writer(directory)
    started = time.perf_counter()
    for change in changes:
        writer.append(change)
    writer.close()
    written = time.perf_counter()
    assert len(read_ledger(directory)) == n
    return (written - started) / n * 1e6, (time.perf_counter() - written) / n * 1e6


# --- report --------------------------------------------------------------------------


def _cpu_line(label: str, cpu: CpuUse, commits: float, cpus: int) -> str:
    client = cpu.per_commit_us(cpu.client_s, commits)
    server = cpu.per_commit_us(cpu.server_s, commits)
    others = max(0.0, cpu.machine_s - cpu.client_s - cpu.server_s)
    return (
        f"  {label:8s} client {client:7.1f} + server {server:6.1f} µs CPU per commit; "
        f"cores busy: client {cpu.cores(cpu.client_s):.2f}, server {cpu.cores(cpu.server_s):.2f}, "
        f"other processes {cpu.cores(others):.2f} (of {cpus})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=20, help="length of each phase (20)")
    parser.add_argument("--users", type=int, default=16, help="Locust users (16)")
    parser.add_argument("--processes", type=int, default=1, help="Locust processes (1)")
    args = parser.parse_args()
    if args.seconds < 2 or args.users < 1 or args.processes < 1:
        fail("--seconds must be >= 2, --users and --processes >= 1")

    signals.install()  # SIGTERM like Ctrl-C: the cluster is always stopped
    settings = Settings()
    try:
        bindir = find_bindir(settings.pg_bindir)
    except UserError as exc:
        fail(str(exc))
    pgbench = find_pgbench(bindir)
    if not locust_runner.LOCUST.is_file():
        fail(f"locust not found next to {sys.executable}: run from the project's virtualenv")

    with _console.workspace("cdcbench-ceiling-", "logs, scenario, ledger") as workdir:
        cluster = PostgresCluster(bindir, settings.pg_os_user, workdir / "pg-log")
        try:
            log(f"starting PostgreSQL ({bindir})")
            cluster.start()
            dsn = cluster.dsn
            server_pid = cluster.postmaster_pid
            assert server_pid is not None, "postmaster.pid missing after start"
            with psycopg.connect(dsn) as conn:
                row = conn.execute("SHOW server_version").fetchone()
            version = str(row[0]) if row else "?"

            fresh_table(dsn)
            log(f"pgbench: {PGBENCH_CLIENTS} clients, {args.seconds}s")
            bench = run_pgbench(pgbench, cluster.port, args.seconds, workdir, server_pid)
            pgbench_rows = count_widgets(dsn)

            fresh_table(dsn)
            log(f"Locust: {args.users} users, {args.processes} process(es), {args.seconds}s")
            locust = run_locust_phase(
                dsn, args.seconds, args.users, args.processes, workdir, server_pid
            )
            locust_rows = count_widgets(dsn)

            log(f"ledger writer: {LEDGER_RECORDS:,} records")
            ledger_us, ledger_read_us = ledger_us_per_record(workdir)
        finally:
            with signals.deferred("stopping PostgreSQL"):
                cluster.stop()

    cpus = os.cpu_count() or 1
    rate = locust.sustained_per_s
    budget_us = args.processes / rate * 1e6 if rate else float("inf")
    locust_client_us = locust.cpu.per_commit_us(locust.cpu.client_s, locust.window_committed)
    print(f"PostgreSQL {version}, {cpus} CPUs, {args.seconds}s per phase")
    print(f"statement: {insert_widget()}")
    print(
        f"pgbench:  {bench.tps:9.1f} TPS  ({PGBENCH_CLIENTS} clients, -j {PGBENCH_THREADS}, "
        f"-M prepared; {pgbench_rows:,} rows)"
    )
    print(
        f"Locust:   {rate:9.1f} committed writes/s sustained  ({args.users} users, "
        f"{args.processes} process(es); {locust.window_committed:,} commits in the middle "
        f"{locust.cpu.wall_s:.2f}s; all {locust.committed:,} in {locust.span_s:.2f}s; "
        f"{locust_rows:,} rows)"
    )
    print("where the time goes (middle 80% of each phase):")
    print(_cpu_line("pgbench", bench.cpu, bench.commits_in_window, cpus))
    print(_cpu_line("Locust", locust.cpu, locust.window_committed, cpus))
    print(
        f"  ledger   {ledger_us:.2f} µs/record appended; per-write budget at {rate:.0f}/s "
        f"over {args.processes} process(es): {budget_us:.0f} µs "
        f"(ledger {ledger_us / budget_us:.1%} of it, "
        f"{ledger_us / locust_client_us if locust_client_us else 0:.1%} of Locust's CPU per commit)"
    )
    print(f"  ledger   {ledger_read_us:.2f} µs/record read back (read_ledger, merged and sorted)")
    print(f"load_ceiling_ratio: {rate / bench.tps if bench.tps else 0.0:.3f}")


if __name__ == "__main__":
    main()
