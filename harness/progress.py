"""Progress display for long steps (rich), on stderr so stdout stays for results."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

console = Console(stderr=True, highlight=False)

Update = Callable[..., None]
"""update(detail: str = "", completed: float | None = None)"""


@contextmanager
def step(label: str, total: float | None = None) -> Iterator[Update]:
    """Show a spinner (or a bar, given `total`) while the block runs, then one line with its time.

    Steps run by other threads (side by side) print a line when they start and when they end.
    The block receives `update(detail="", completed=None)` to show a short detail
    beside the label and, with a total, to move the bar.
    """
    started = time.monotonic()
    label = escape(label)
    try:
        if console.is_terminal and threading.current_thread() is threading.main_thread():
            columns = [SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()]
            if total is not None:
                columns.insert(2, BarColumn())
            with Progress(*columns, console=console, transient=True) as bar:
                task = bar.add_task(label, total=total)

                def update(detail: str = "", completed: float | None = None) -> None:
                    text = f"{label} [dim]{escape(detail[:80])}" if detail else label
                    bar.update(task, description=text, completed=completed)

                yield update
        else:
            console.print(f"  {label} …")
            yield lambda detail="", completed=None: None
    except BaseException:
        console.print(f"[red]✗[/] {label} ({time.monotonic() - started:.1f}s)")
        raise
    console.print(f"[green]✓[/] {label} ({time.monotonic() - started:.1f}s)")
