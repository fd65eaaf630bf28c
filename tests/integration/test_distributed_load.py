"""Distributed load (`run_locust_distributed`): the master here, Locust workers as separate
processes with their own ledger folders, putting their ledgers into S3 (moto) when they
stop; the harness merges them, and the merged ledger describes the source exactly."""

import json
import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.errors import UserError
from harness.load import schema
from harness.load.clock import writer_offsets
from harness.load.ledger import COMMITTED, Change, read_ledger
from harness.load.ledger_store import MANIFEST, LedgerBucket, uploaded_writers
from harness.load.locust_runner import (
    DistributedLoad,
    load_stats,
    run_locust_distributed,
    worker_command,
)
from harness.process import free_port
from harness.records import read_records
from harness.scenario import Scenario
from harness.targets import Target
from tests.conftest import BareCloud
from tests.helpers import unique, wait_for
from tests.integration.test_locust_driver import assert_ledger_matches_db

pytestmark = [pytest.mark.slow, pytest.mark.serial]

MIX = {"insert": 40, "update": 30, "delete": 10, "order": 20}


@pytest.fixture
def dsn(local_target: Target) -> Iterator[str]:
    """The session PostgreSQL, with both tables emptied and their sequences restarted."""
    schema.reset(local_target.source_dsn)
    yield local_target.source_dsn


@pytest.fixture
def ledgers(bare_cloud: BareCloud) -> Iterator[LedgerBucket]:
    s3 = bare_cloud.aws.client("s3")
    bucket = unique("ledgers")
    s3.create_bucket(Bucket=bucket)
    yield LedgerBucket(bare_cloud.aws, bucket, f"ledger/{unique('run')}/")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket)


def scenario(duration_s: float, rate_per_s: float = 20, users: int = 4) -> Scenario:
    return Scenario.model_validate(
        {
            "name": "distributed",
            "patterns": ["direct"],
            "load": {"duration_s": duration_s, "rate_per_s": rate_per_s, "users": users},
            "workload": {"mix": MIX, "abort_ratio": 0.05, "keys": "uniform"},
        }
    )


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    ledger_dir: Path
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[Worker]]:
    """Workers the test starts; each stopped (and reaped) at the end."""
    started: list[Worker] = []
    yield started
    for worker in started:
        if worker.proc.poll() is None:
            worker.proc.terminate()
            try:
                worker.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait(timeout=10)


def start_worker(
    workers: list[Worker],
    tmp_path: Path,
    port: int,
    dsn: str,
    ledgers: LedgerBucket | None,
) -> Worker:
    """`locust --worker` as the locust_workers module runs it: its own DSN and ledger folder in
    its environment, and the bucket (with moto's endpoint and credentials) unless None."""
    name = f"worker-{len(workers) + 1}"
    env = {**os.environ, "CDCBENCH_DSN": dsn, "CDCBENCH_LEDGER_DIR": str(tmp_path / name)}
    if ledgers is not None:
        env |= ledgers.aws.env()
        env |= {"CDCBENCH_LEDGER_BUCKET": ledgers.bucket, "CDCBENCH_LEDGER_PREFIX": ledgers.prefix}
    log = tmp_path / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            worker_command("127.0.0.1", port), cwd=tmp_path, env=env, stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    worker = Worker(proc, tmp_path / name, log)
    workers.append(worker)
    return worker


def finished(worker: Worker, timeout_s: float = 60) -> int:
    """A worker's exit code, once it has ended by itself (the master told it to quit)."""
    try:
        return worker.proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"worker still running:\n{worker.output()[-3000:]}") from None


def objects(ledgers: LedgerBucket) -> dict[str, int]:
    s3 = ledgers.aws.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=ledgers.bucket, Prefix=ledgers.prefix
    )
    return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}


def assert_each_change_once(load: DistributedLoad, ledger_dir: Path, dsn: str) -> list[Change]:
    """Both workers' ledgers are merged, once, and the merge describes the database exactly."""
    assert len(load.workers) == 2, load
    files = sorted(ledger_dir.glob("ledger-*.csv"))
    assert {f.name for f in files} == {f.name for f in load.files if f.suffix == ".csv"}
    per_file = {f.name: list(read_records(f, Change)) for f in files}
    assert len(per_file) == len(load.workers), per_file.keys()
    assert all(per_file.values()), {n: len(c) for n, c in per_file.items()}
    changes = read_ledger(ledger_dir)
    assert len(changes) == sum(len(c) for c in per_file.values())
    named = Counter((c.table, c.key, c.version) for c in changes if c.status == COMMITTED)
    assert max(named.values()) == 1
    assert_ledger_matches_db(changes, dsn)
    return changes


@pytest.mark.timeout(180)
def test_two_workers_ledgers_arrive_through_s3_and_describe_the_source(
    tmp_path: Path, dsn: str, ledgers: LedgerBucket, workers: list[Worker]
) -> None:
    port = free_port()
    for _ in range(2):
        start_worker(workers, tmp_path, port, dsn, ledgers)
    workdir = tmp_path / "run"

    load = run_locust_distributed(
        dsn, scenario(duration_s=5), workdir, 2, ledgers,
        port=port, bind_host="127.0.0.1", connect_timeout_s=60, upload_timeout_s=90,
    )  # fmt: skip

    assert [finished(w) for w in workers] == [0, 0], [w.output()[-2000:] for w in workers]
    assert len(load.workers) == 2
    # each worker put its own folder, manifest last, under the run's prefix
    stored = objects(ledgers)
    for writer in load.workers:
        assert f"{ledgers.prefix}{writer}/{MANIFEST}" in stored
        ledger_keys = [k for k in stored if k.startswith(f"{ledgers.prefix}{writer}/ledger-")]
        assert len(ledger_keys) == 2, stored  # its ledger file and its clock file
    # ... written in its own ledger folder (not the master's), one sub-folder per worker id
    for worker in workers:
        (own,) = [p for p in worker.ledger_dir.iterdir() if p.name in load.workers]
        assert sorted(p.suffix for p in own.iterdir()) == [".csv", ".json"]
    ledger_dir = workdir / "ledger"
    assert {f.name for f in load.files} == {f.name for f in ledger_dir.iterdir()}
    assert_each_change_once(load, ledger_dir, dsn)

    # both workers' clock offsets against the source database are recorded beside the ledger
    offsets = writer_offsets(ledger_dir)
    assert len(offsets) == 2
    assert len({o.pid for o in offsets}) == 2
    assert {o.pid for o in offsets} == {w.proc.pid for w in workers}
    assert all(abs(o.offset_ns) <= o.bound_ns for o in offsets), offsets  # one host, one clock

    # the master's Locust stats cover both workers: about 20 transactions/s for 5 s
    stats = load_stats(read_ledger(ledger_dir), workdir, 20)
    assert stats.failures == 0
    assert 0.6 * 20 * 5 <= stats.requests <= 20 * 7, stats
    assert stats.transactions > 0.5 * stats.requests, stats


@pytest.mark.timeout(180)
def test_a_worker_stopped_by_sigterm_mid_load_still_delivers_its_ledger(
    tmp_path: Path, dsn: str, ledgers: LedgerBucket, workers: list[Worker]
) -> None:
    """As Fargate stops a task: SIGTERM, then (60 s later) SIGKILL. Locust stops the worker's
    users gracefully; the worker puts its ledger into S3 before it exits."""
    port = free_port()
    for _ in range(2):
        start_worker(workers, tmp_path, port, dsn, ledgers)
    workdir = tmp_path / "run"
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["load"] = run_locust_distributed(
                dsn, scenario(duration_s=8), workdir, 2, ledgers,
                port=port, bind_host="127.0.0.1", connect_timeout_s=60, upload_timeout_s=90,
            )  # fmt: skip
        except BaseException as exc:
            outcome["error"] = exc

    harness = threading.Thread(target=run)
    harness.start()
    try:
        first = workers[0]
        wait_for(lambda: list(first.ledger_dir.glob("*/ledger-*.csv")), "the worker's ledger")
        time.sleep(2)
        first.proc.send_signal(signal.SIGTERM)
        assert finished(first, timeout_s=45) == 0, first.output()[-3000:]
        assert "Got SIGTERM signal" in first.output()
        assert "cdcbench: put 2 ledger file(s) into s3://" in first.output()
    finally:
        harness.join(timeout=120)
    assert not harness.is_alive()
    assert "error" not in outcome, outcome.get("error")
    load: DistributedLoad = outcome["load"]

    changes = assert_each_change_once(load, workdir / "ledger", dsn)
    (cut,) = [
        f for f in (workdir / "ledger").glob("ledger-*.csv") if f"-{first.proc.pid}-" in f.name
    ]
    last_of_cut = max(c.acked_ns for c in read_records(cut, Change))
    assert last_of_cut < max(c.acked_ns for c in changes) - 2e9  # it stopped early


@pytest.mark.timeout(120)
def test_too_few_workers_is_one_line_naming_how_many_connected(
    tmp_path: Path, dsn: str, ledgers: LedgerBucket, workers: list[Worker]
) -> None:
    port = free_port()
    lone = start_worker(workers, tmp_path, port, dsn, ledgers)

    with pytest.raises(UserError) as caught:
        run_locust_distributed(
            dsn, scenario(duration_s=5), tmp_path / "run", 2, ledgers,
            port=port, bind_host="127.0.0.1", connect_timeout_s=4, upload_timeout_s=5,
        )  # fmt: skip

    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        f"1 of 2 Locust workers connected to the master on port {port} within 4 s: check that "
        "the workers run"
    ), message
    assert finished(lone) == 0  # the master told it to quit; it never ran load
    assert objects(ledgers) == {}


@pytest.mark.timeout(120)
def test_a_ledger_that_never_arrives_names_its_worker(
    tmp_path: Path, dsn: str, ledgers: LedgerBucket, workers: list[Worker]
) -> None:
    port = free_port()
    start_worker(workers, tmp_path, port, dsn, ledgers)
    silent = start_worker(workers, tmp_path, port, dsn, None)  # no bucket: keeps its ledger

    with pytest.raises(UserError) as caught:
        run_locust_distributed(
            dsn, scenario(duration_s=3), tmp_path / "run", 2, ledgers,
            port=port, bind_host="127.0.0.1", connect_timeout_s=60, upload_timeout_s=5,
        )  # fmt: skip

    (kept,) = silent.ledger_dir.glob("ledger-*.csv")  # written where it runs, never put
    assert kept.stat().st_size > 0
    connected = json.loads((tmp_path / "run" / "locust-workers.json").read_text())["connected"]
    (silent_id,) = set(connected) - uploaded_writers(ledgers.aws, ledgers.bucket, ledgers.prefix)
    message = str(caught.value)
    assert message == (
        f"the ledgers of 1 of 2 Locust workers ({silent_id}) did not arrive in {ledgers.url()} "
        "within 5 s: check those workers' logs (an upload error, or killed before they "
        "stopped) and that they may put objects there"
    )
