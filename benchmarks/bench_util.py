"""What the benchmark scripts share: CPU seconds from /proc, one-line progress and errors,
and a scratch directory kept only when a run did not finish."""

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

from harness.errors import INTERRUPTED_EXIT, UserError

TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")


def proc_cpu_s(pid: int | None, *, own: bool = True) -> float:
    """CPU seconds of a process (unless not `own`), its reaped children and its live
    descendants. A process gone meanwhile (or None) counts 0."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = [
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    except OSError:
        return 0.0
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    ticks = cutime + cstime + (utime + stime if own else 0)
    return ticks * TICK_S + sum(proc_cpu_s(child) for child in children)


class Console:
    """Progress lines on stderr, and a one-line error exiting with code 2, named by script."""

    def __init__(self, name: str) -> None:
        self.name = name

    def log(self, message: str) -> None:
        print(f"[{self.name}] {message}", file=sys.stderr, flush=True)

    def fail(self, message: str) -> NoReturn:
        print(f"{self.name}: error: {message}", file=sys.stderr, flush=True)
        sys.exit(2)

    @contextmanager
    def workspace(self, prefix: str, contents: str) -> Iterator[Path]:
        """A temp dir PostgreSQL's OS user can reach. Removed when the block finishes; kept
        (and named, as holding `contents`) otherwise. A UserError ends the script in one
        line with exit 2, Ctrl-C with exit 130."""
        workdir = Path(tempfile.mkdtemp(prefix=prefix))
        workdir.chmod(0o755)
        try:
            yield workdir
        except BaseException as exc:
            if any(workdir.iterdir()):
                self.log(f"kept {workdir} ({contents}) for inspection")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
            if isinstance(exc, UserError):
                self.fail(str(exc))
            if isinstance(exc, KeyboardInterrupt):
                self.log("interrupted")
                sys.exit(INTERRUPTED_EXIT)
            raise
        shutil.rmtree(workdir, ignore_errors=True)
