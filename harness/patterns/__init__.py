"""The registry of patterns: one small descriptor module each."""

from harness.patterns import direct
from harness.patterns.base import Pattern, PostCommit, Projection

PATTERNS: dict[str, Pattern] = {p.name: p for p in (direct.PATTERN,)}

__all__ = ["PATTERNS", "Pattern", "PostCommit", "Projection"]
