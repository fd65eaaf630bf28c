"""The patterns: every folder under terraform/patterns/ holding a `pattern.yaml` is one.
Adding a pattern is adding its folder; nothing here lists them."""

from functools import cache
from pathlib import Path

from harness.errors import UserError
from harness.patterns.descriptor import DESCRIPTOR, AddedColumn, Pattern, Projection

PATTERNS_DIR = Path(__file__).resolve().parents[2] / "terraform" / "patterns"


def discover(directory: Path) -> dict[str, Pattern]:
    """The patterns in `directory`, by name (the folder's), in name order."""
    found = {}
    for descriptor in sorted(directory.glob(f"*/{DESCRIPTOR}")):
        root = descriptor.parent
        if not root.name.replace("_", "").isalnum() or root.name != root.name.lower():
            raise UserError(
                f"{root}: a pattern's folder name must be lowercase letters, digits and _"
            )
        found[root.name] = Pattern(root)
    return found


@cache
def patterns() -> dict[str, Pattern]:
    """Every pattern of this installation (read once per process)."""
    return discover(PATTERNS_DIR)


__all__ = ["PATTERNS_DIR", "AddedColumn", "Pattern", "Projection", "discover", "patterns"]
