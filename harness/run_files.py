"""Where a run keeps what it measured, so `cdcbench check` can rebuild it from the folder:
`<run>/results.json`, and per pattern `<run>/<pattern>/` with `ledger/` (one CSV per load
process), `observations-<projection>.csv` and, for state projections, the final
`snapshot-<projection>.csv`; Locust's reports and Terraform's logs sit beside them."""

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

RESULTS = "results.json"
REPORT = "index.html"


@dataclass(frozen=True)
class PatternFiles:
    """The files of one pattern's run, under `root` (`<run>/<pattern>`)."""

    root: Path

    @property
    def ledger(self) -> Path:
        return self.root / "ledger"

    def observations(self, projection: str) -> Path:
        return self.root / f"observations-{projection}.csv"

    def snapshot(self, projection: str) -> Path:
        return self.root / f"snapshot-{projection}.csv"


def link_tree(source: Path, destination: Path, name: Callable[[str], str] = str) -> None:
    """Hard-link every file under `source` into `destination`, each file named `name(its
    name)` (copies across file systems): one ledger in several folders, without copying."""
    for path in source.rglob("*"):
        if path.is_file():
            target = destination / path.parent.relative_to(source) / name(path.name)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:
                shutil.copy2(path, target)
