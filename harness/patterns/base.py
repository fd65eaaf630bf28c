"""Pattern descriptors: what a pattern deploys, which projections to observe, its lag floor."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.load.ledger import Change
from harness.targets.base import AwsAccess

PostCommit = Callable[[Change, dict[str, Any] | None], None]
"""Called by the load generator after each commit: the change and its row image (None: delete)."""


@dataclass(frozen=True)
class Projection:
    """A replicated view of the source that the harness observes and checks."""

    name: str
    kind: Literal["state", "event_log"]
    observer: str
    """Observer kind, e.g. `dynamodb_stream`."""
    resources: dict[str, str]
    """Observer parameter -> Terraform output holding its value (table name, stream ARN...)."""
    options: dict[str, Any] = field(default_factory=dict)
    """Observer parameters fixed by the pattern (record format, layout flags...)."""


@dataclass(frozen=True)
class Pattern:
    name: str
    summary: str
    module: str
    """Root module under terraform/patterns/."""
    projections: tuple[Projection, ...]
    floor_ms: float = 0.0
    """Configured lag floor (sum of batch windows) reported beside measured lag."""
    engines: tuple[str, ...] = ()
    """Local engines the pattern needs on the local target."""
    post_commit: Callable[[dict[str, Any], AwsAccess], PostCommit] | None = field(default=None)
    """For patterns where the application itself emits: builds the hook from Terraform outputs."""
