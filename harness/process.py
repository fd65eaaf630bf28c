"""Small helpers for the child processes of the local target."""

import json
import os
import selectors
import socket
import subprocess
import sys
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free at the time of the call (the caller retries if it is taken by then)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def spawn(
    module: str | Path, args: list[str], log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`python -m module --parent-pid <us> args` (or `python module ...` for a script's
    path) in its own session (a Ctrl-C in the terminal is the harness's to handle), stdin
    and stdout piped, stderr appended to `log_path`; `env` adds to the environment."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    program = [str(module)] if isinstance(module, Path) else ["-m", module]
    cmd = [sys.executable, *program, "--parent-pid", str(os.getpid()), *args]
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.PIPE,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )


def read_json_line(proc: subprocess.Popen[bytes], timeout_s: float) -> dict[str, object]:
    """The next line the child prints, as a JSON object; ValueError if none comes in time."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        ready = sel.select(timeout_s)
    line = proc.stdout.readline() if ready else b""
    return dict(json.loads(line))


def stop(proc: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    """Terminate a child, killing it if it outlives the grace period; always reap it and
    close its pipes."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe:
            pipe.close()
