"""Processes the harness runs beside the load while a pattern runs: the application's
companion (an outbox relay, named by its `harness.apps` module) and the pattern's own (a
change publisher, its descriptor's `companion`). Each runs from before the load until the
projections converged, with the target's AWS environment and the source's DSN (in
`CDCBENCH_DSN`, never on its command line, which other users of the host can read); a
pattern's companion is waited for until it says it is ready (the load may start), and one
that stops early is a failure that ends the pattern's wait for convergence, as a failed
engine's does."""

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

from harness import apps
from harness.errors import UserError
from harness.patterns import Pattern
from harness.process import read_json_line, spawn, stop
from harness.run_files import PatternFiles
from harness.targets import Target

READY_TIMEOUT_S = 60.0


@dataclass
class Running:
    """The companions of one pattern's run, by name, with their logs."""

    processes: dict[str, tuple[Popen[bytes], Path]] = field(default_factory=dict)

    def failures(self) -> dict[str, str]:
        """Name -> why, for each companion that has stopped."""
        return {
            name: f"exited with {proc.returncode}: {_last_line(log)} (log: {log})"
            for name, (proc, log) in self.processes.items()
            if proc.poll() is not None
        }


@contextmanager
def companions(
    pattern: Pattern,
    application: apps.Spec | None,
    outputs: dict[str, Any],
    target: Target,
    files: PatternFiles,
) -> Iterator[Running]:
    """Start the pattern's companions; stop them (and reap them) when the block ends."""
    running = Running()
    with ExitStack() as stack:
        module = apps.companion(application) if application is not None else None
        if application is not None and module is not None:
            spec = application.write(files.root / "application.json")
            args = ["--spec", str(spec), "--ledger-dir", str(files.ledger)]
            name = module.rsplit(".", 1)[-1]
            _start(running, stack, name, module, args, files, target)
        own = pattern.companion
        if own is not None:
            name = Path(own.script).stem
            settings = files.root / f"{name}-settings.json"
            settings.write_text(json.dumps(outputs[own.settings]))
            args = ["--settings", str(settings), "--records-dir", str(files.root / name)]
            proc = _start(running, stack, name, pattern.root / own.script, args, files, target)
            _await_ready(name, proc, running.processes[name][1])
        yield running


def _start(
    running: Running,
    stack: ExitStack,
    name: str,
    program: str | Path,
    args: list[str],
    files: PatternFiles,
    target: Target,
) -> Popen[bytes]:
    log = files.root / f"{name}.log"
    proc = spawn(program, args, log, {**target.aws.env(), apps.DSN_VARIABLE: target.source_dsn})
    stack.callback(stop, proc)
    running.processes[name] = (proc, log)
    return proc


def _await_ready(name: str, proc: Popen[bytes], log: Path) -> None:
    """Wait for the companion's `{"ready": true}`; UserError with its last word if it
    stops or stays silent."""
    try:
        ready = read_json_line(proc, READY_TIMEOUT_S).get("ready") is True
    except ValueError:
        ready = False
    if not ready:
        stop(proc)
        raise UserError(f"{name} did not start: {_last_line(log)} (log: {log})")


def _last_line(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
    return lines[-1] if lines else "no output"
