"""Run the Locust driver (loadtests/locustfile.py) headless for one pattern, and sum up.

Locust runs as a subprocess: it monkey-patches the process for gevent, which
must not happen to the harness (its observers are threads). Its CSV and HTML
reports, its log and the ledger land in the pattern's run directory.
"""

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

from pydantic import BaseModel

from harness import progress
from harness.apps import Spec
from harness.errors import UserError
from harness.load.ledger import ABORTED, COMMITTED, Change
from harness.load.schema_change import DDL_REQUEST
from harness.process import stop
from harness.scenario import Scenario

LOCUSTFILE = Path(__file__).resolve().parents[2] / "loadtests" / "locustfile.py"
LOCUST = Path(sys.executable).with_name("locust")
_STOP_GRACE_S = 90
"""Longer than the locustfile's stop timeout, in which users finish their transaction."""


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
    workdir.mkdir(parents=True, exist_ok=True)
    scenario_file = workdir / "scenario.json"
    scenario_file.write_text(scenario.model_dump_json(indent=2))
    cmd = [
        str(LOCUST),
        "-f", str(LOCUSTFILE),
        "--headless",
        "--scenario", str(scenario_file),
        "--dsn", dsn,
        "--ledger-dir", str(workdir / "ledger"),
        "--csv", str(workdir / "locust"),
        "--html", str(workdir / "locust.html"),
        "--exit-code-on-error", "0",
        "--loglevel", "WARNING",
        "--parent-pid", str(os.getpid()),
    ]  # fmt: skip
    if scenario.load.processes > 1:
        cmd += ["--processes", str(scenario.load.processes)]
    if application:
        cmd += ["--application", str(application.write(workdir / "application.json"))]
    log_path = workdir / "locust.log"
    load = scenario.load
    started = time.monotonic()
    label = f"Locust: {load.rate_per_s:g}/s, {load.users} users, {load.shape.kind}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, start_new_session=True,
        )  # fmt: skip
        try:
            with progress.step(label, total=load.duration_s) as update:
                while proc.poll() is None:
                    elapsed = time.monotonic() - started
                    update(f"{elapsed:.0f}/{load.duration_s:g}s", completed=elapsed)
                    time.sleep(0.5)
        finally:
            stop(proc, grace_s=_STOP_GRACE_S)  # SIGTERM: Locust stops its users gracefully
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"locust exited with {proc.returncode}: {tail[0]} (log: {log_path})")


def load_stats(changes: list[Change], workdir: Path, offered_per_s: float) -> LoadStats:
    """Sum up a run from its merged ledger and Locust's stats CSV in `workdir`."""
    committed = [c for c in changes if c.status == COMMITTED]
    rows = _locust_rows(workdir / "locust_stats.csv")
    none = {"Request Count": "0", "Failure Count": "0"}
    hooks, ddl = rows.pop("post-commit", none), rows.pop(DDL_REQUEST, none)
    aggregated, aside = rows.pop("Aggregated", none), (hooks, ddl)
    duration = (
        (max(c.acked_ns for c in changes) - min(c.intended_ns for c in changes)) / 1e9
        if changes
        else 0.0
    )
    return LoadStats(
        duration_s=round(duration, 3),
        offered_per_s=offered_per_s,
        requests=int(aggregated["Request Count"]) - sum(int(r["Request Count"]) for r in aside),
        failures=int(aggregated["Failure Count"]) - sum(int(r["Failure Count"]) for r in aside),
        transactions=len({c.txid for c in committed}),
        committed=len(committed),
        aborted=sum(c.status == ABORTED for c in changes),
        committed_per_s=round(len(committed) / duration, 2) if duration else 0.0,
        max_ack_delay_ms=round(
            max((c.acked_ns - c.intended_ns for c in changes), default=0) / 1e6, 3
        ),
        post_commit_failures=int(hooks["Failure Count"]),
        schema_change_failures=int(ddl["Failure Count"]),
    )


def _locust_rows(path: Path) -> dict[str, dict[str, str]]:
    """Locust's stats CSV, one row per request name ("Aggregated" for the total)."""
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        return {row["Name"]: row for row in csv.DictReader(f)}
