"""A run's scratch folder: where the run and every process it starts keep their temp files,
and the mark by which those processes are found again.

The run sets `TMPDIR` to a folder of its own before it starts anything, so every temp file
of the run and of its children (PostgreSQL's cluster, Terraform's plugin sockets, ...) is in
one place, and every process it starts, however deep, carries that folder in its
environment. A run that ends removes the folder. A run killed outright (`kill -9`) cannot,
so a small child of the run (`harness.run_reaper`) watches it and, once it is gone, stops
every process that carries the mark and removes the folder; `cdcbench destroy RUN_DIR` does
the same for a run whose reaper died with it. The folder is named in results.json
(`scratch`).

PostgreSQL rewrites its processes' environment for their titles: only the server's first
process keeps the mark, and its children end with it.
"""

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from harness.process import spawn
from harness.process import stop as stop_process

GRACE_S = 30.0
"""How long a process of the run is given to end after SIGTERM before it is killed (a
Terraform apply on AWS stops its calls and writes its state meanwhile)."""


@contextmanager
def scratch_folder(log_dir: Path) -> Iterator[Path]:
    """A scratch folder for the run, `TMPDIR` (and this process's `tempfile`) pointing at it,
    and its reaper watching this process (its log in `log_dir`); all undone at the end."""
    # short: PostgreSQL's socket inside it must fit a Unix socket's 107 bytes
    folder = Path(tempfile.mkdtemp(prefix="cdcbench-run-"))
    folder.chmod(0o711)  # PostgreSQL's OS user makes its cluster inside
    before = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = str(folder), str(folder)
    reaper = spawn("harness.run_reaper", ["--scratch", str(folder)], log_dir / "run_reaper.log")
    try:
        yield folder
    finally:
        stop_process(reaper)
        if before[0] is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = before[0]
        tempfile.tempdir = before[1]
        shutil.rmtree(folder, ignore_errors=True)


def marked(folder: Path) -> list[psutil.Process]:
    """The live processes whose environment carries `folder` as their `TMPDIR`, but this one."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid != os.getpid() and proc.environ().get("TMPDIR") == str(folder):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def clear(folder: Path, grace_s: float = GRACE_S) -> list[str]:
    """Stop every process marked with `folder` (SIGTERM, then SIGKILL after `grace_s`) and
    remove the folder; returns one line per process stopped."""
    procs = marked(folder)
    stopped = []
    for proc in procs:
        try:
            stopped.append(f"{proc.pid} {' '.join(proc.cmdline())[:120]}")
            proc.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            continue
    _, lingering = psutil.wait_procs(procs, timeout=grace_s)
    for proc in lingering:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            continue
    psutil.wait_procs(lingering, timeout=5)
    for _ in range(50):  # a stopped server's last files may still be being written
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            break
        time.sleep(0.1)
    return stopped
