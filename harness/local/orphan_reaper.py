"""Stops the embedded PostgreSQL server if the harness dies without stopping it (`kill -9`).

The server is a daemon of its own (pg_ctl detaches it), so nothing ties it to the harness:
this small child of the harness watches its parent and, once the parent is gone, shuts the
server down (fast, then killed), then removes its directory. Stopped first by a harness
that stops the server itself.

`python -m harness.local.orphan_reaper --parent-pid P --data-dir D --remove DIR`
"""

import argparse
import os
import shutil
import signal
import time
from pathlib import Path

_WATCH_S = 0.5
_SHUTDOWN_S = 10.0


def _postmaster(data_dir: Path) -> int | None:
    try:
        return int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def reap(data_dir: Path, remove: Path) -> None:
    """Fast shutdown of the server of `data_dir` (killed if it lingers), then remove `remove`."""
    pid = _postmaster(data_dir)
    if pid is not None and _alive(pid):
        os.kill(pid, signal.SIGINT)  # PostgreSQL's fast shutdown
        deadline = time.monotonic() + _SHUTDOWN_S
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(remove, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parent-pid", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--remove", type=Path, required=True)
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the harness's
    while os.getppid() == args.parent_pid:
        time.sleep(_WATCH_S)
    reap(args.data_dir, args.remove)


if __name__ == "__main__":
    main()
