"""The results JSON schema. Bump SCHEMA_VERSION on any incompatible change."""

import os
import platform
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from harness import __version__
from harness.check.lag import LagReport
from harness.check.result import CheckResult, Validity
from harness.check.saturation import Saturation
from harness.load.clock import ClockOffset
from harness.load.locust_runner import LoadStats
from harness.observe.base import ObserverStats

SCHEMA_VERSION = 1
CLOCK = "harness host wall clock (time.time_ns), shared by writer and observers"

Status = Literal["running", "completed", "interrupted", "failed", "skipped"]


class Convergence(BaseModel):
    converged: bool
    seconds: float
    """Time from the end of load until the projection matched the ledger, settled, or the
    deadline passed."""
    settled: bool = False
    """It never matched but stopped changing for longer than its floor plus the scenario's
    `settle_s`: its anomalies are final, not lag."""


class ProjectionResult(BaseModel):
    kind: str
    observer: str
    floor_ms: float
    observed: int
    observer_stats: ObserverStats | None = None
    lag: LagReport | None = None
    convergence: Convergence | None = None
    check: CheckResult
    error: str | None = None


class PatternResult(BaseModel):
    summary: str
    status: Status = "running"
    error: str | None = None
    terraform_s: dict[str, float] = Field(default_factory=dict)
    variables: dict[str, Any] = Field(default_factory=dict)
    """The pattern's tunable Terraform variables as applied (defaults and scenario's)."""
    load: LoadStats | None = None
    projections: dict[str, ProjectionResult] = Field(default_factory=dict)
    valid: Validity = "unknown"
    emulator_limits: list[str] = Field(default_factory=list)
    """Emulator limits met while this pattern ran (not the pattern's anomalies)."""
    saturation: Saturation | None = None
    clocks: list[ClockOffset] = Field(default_factory=list)
    """The harness's offset against the source database clock, then each load process's."""


class Environment(BaseModel):
    harness: str = __version__
    python: str = platform.python_version()
    platform: str = platform.platform()
    cpus: int = os.cpu_count() or 0
    clock: str = CLOCK
    tools: dict[str, str] = Field(default_factory=dict)


class Results(BaseModel):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    status: Status = "running"
    error: str | None = None
    started_at: str
    finished_at: str | None = None
    scenario: dict[str, Any]
    target: dict[str, Any] = Field(default_factory=dict)
    environment: Environment = Field(default_factory=Environment)
    patterns: dict[str, PatternResult] = Field(default_factory=dict)

    def write(self, run_dir: Path) -> Path:
        path = run_dir / "results.json"
        path.write_text(self.model_dump_json(indent=2))
        return path
