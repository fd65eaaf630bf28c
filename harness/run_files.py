"""Where a run keeps what it measured, so `cdcbench check` can rebuild it from the folder:
`<run>/results.json`, and per pattern `<run>/<pattern>/` with `ledger/` (one CSV per load
process), `observations-<projection>.csv` and, for state projections, the final
`snapshot-<projection>.csv`; Locust's reports and Terraform's logs sit beside them."""

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
