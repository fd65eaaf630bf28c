"""Pattern descriptors: what a pattern deploys, which projections to observe, its lag floor."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import psycopg

from harness.aws import AwsAccess
from harness.load.ledger import Change

PostCommit = Callable[[Change, dict[str, Any] | None], None]
"""Called by the load generator after each commit: the change and its row image (None: delete)."""

Floor = float | Callable[[dict[str, Any]], float]
"""A configured lag floor in ms: a number, or a function of the pattern's effective variables."""


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
    floor_ms: Floor = 0.0
    """Configured lag floor: the batch windows a change may wait in on its way here, reported
    beside the measured lag."""

    def floor_for(self, variables: dict[str, Any]) -> float:
        return float(self.floor_ms(variables) if callable(self.floor_ms) else self.floor_ms)


@dataclass(frozen=True)
class Pattern:
    name: str
    summary: str
    module: str
    """Root module under terraform/patterns/."""
    projections: tuple[Projection, ...]
    post_commit: Callable[[dict[str, Any], AwsAccess], PostCommit] | None = field(default=None)
    """For patterns where the application itself emits: builds the hook from Terraform outputs."""
    source_access: bool = False
    """The module reads the source database itself (e.g. a DMS source endpoint): the harness
    passes `source_host`, `source_port`, `source_database`, `source_username` and
    `source_password` as Terraform variables."""
    replica_identity: Literal["default", "full"] = "default"
    """The least REPLICA IDENTITY the source tables need (`full`: deletes carry the old row,
    with its version)."""
    variables: dict[str, Any] = field(default_factory=dict)
    """Tunable Terraform variables and their defaults; a scenario's `pattern_variables`
    may override them (and only them)."""
    connector_plugins: dict[str, str] = field(default_factory=dict)
    """Terraform variable -> MSK Connect plugin whose zip path it takes, from the target."""

    def effective_variables(self, overrides: dict[str, Any]) -> dict[str, Any]:
        return {**self.variables, **overrides}


def source_variables(dsn: str) -> dict[str, Any]:
    """The source database's connection as the Terraform variables of `Pattern.source_access`."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    return {
        "source_host": str(info.get("host", "localhost")),
        "source_port": int(str(info.get("port", 5432))),
        "source_database": str(info.get("dbname", "")),
        "source_username": str(info.get("user", "")),
        "source_password": str(info.get("password", "")),
    }
