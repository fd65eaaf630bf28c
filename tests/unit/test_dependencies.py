"""Dependencies point down: the local engines, observers, checkers, pattern descriptors and
application behaviours never import the targets or the run (import-linter's contract in
pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_no_lower_module_imports_the_targets_or_the_run() -> None:
    lint = Path(sys.executable).with_name("lint-imports")

    checked = subprocess.run(
        [str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, check=False
    )

    assert checked.returncode == 0, checked.stdout[-3000:]
    assert "1 kept, 0 broken" in checked.stdout
