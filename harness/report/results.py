"""What a run measured, as written to results.json. Bump SCHEMA_VERSION's minor for an added
optional field and its major for any other change, then regenerate the JSON Schema
(`results_schema`)."""

import json
import os
import platform
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from harness import __version__
from harness.apps.emits import EmitSummary
from harness.capacity.verdict import Capacity
from harness.check.hops import HopLag
from harness.check.lag import LagReport
from harness.check.projection import Feed
from harness.check.protocol import Convergence
from harness.check.result import CheckResult, Validity
from harness.check.saturation import Saturation
from harness.check.schema_change import SchemaChangeOutcome
from harness.check.throughput import Throughput
from harness.cost.estimate import CostEstimate
from harness.cost.resources import Resource
from harness.errors import UserError
from harness.load.clock import ClockOffset
from harness.load.locust_runner import LoadStats
from harness.load.schema_change import SchemaChangeRecord
from harness.nemesis.record import FaultRecord
from harness.observe.base import ObserverStats, ProjectionKind
from harness.report.results_schema import major, schema_problem
from harness.run_files import RESULTS

SCHEMA_MAJOR, SCHEMA_MINOR = 3, 7
SCHEMA_VERSION = f"{SCHEMA_MAJOR}.{SCHEMA_MINOR}"
"""Older results are read as they are; a newer major is refused. 2: state projections keep
their final snapshot beside their observations (`run_files`). 3.0: MAJOR.MINOR, checked
against a JSON Schema; lag counts `skipped` changes. 3.1: stream observers' `read_share` of
each shard's per-second reads. 3.2: a pattern's `shared_load`; whose each lag window is
(`bound`), busy shares second by second (saturation's and each observer's `busy_over_time`),
`observer_bound`. 3.3: `capacity`, the steps of a rate search. 3.4: each observer's own
delay second by second (`delay_over_time`). 3.5: the run's `scratch` folder;
each pattern's `faults`. 3.6: a fault's `allowed` anomalies and `slack_s`, where the
pattern has its own expected outcome. 3.7: an application's `never_sent` changes; a fault's
anomalies are those of its span, not the run's."""
SNAPSHOTS_SINCE = 2
"""The first major version whose runs `cdcbench check` can recompute."""
CLOCK = "harness host wall clock (time.time_ns), shared by writer and observers"

Status = Literal["running", "completed", "interrupted", "failed", "skipped", "partial"]
"""`partial`: the run's process died before it finished (killed): its figures were rebuilt
from what it left on disk by `cdcbench report`."""


class ProjectionResult(BaseModel):
    kind: ProjectionKind
    feed: Feed = "every_change"
    """What its pattern's descriptor says it is fed (older results: every change)."""
    observer: str
    floor_ms: float
    observed: int
    observer_stats: ObserverStats | None = None
    lag: LagReport | None = None
    hop: HopLag | None = None
    """Its lag from the projection it is fed from (patterns whose hops chain projections)."""
    convergence: Convergence | None = None
    check: CheckResult = Field(default_factory=lambda: CheckResult(valid="unknown"))
    schema_change: SchemaChangeOutcome | None = None
    """What it made of the source's schema change, when the load made one."""
    error: str | None = None


class PatternResult(BaseModel):
    summary: str
    pattern: str | None = None
    """The pattern it ran: its key in `Results.patterns` is a variant's name where the
    scenario ran a variant (None in results from before variants: the key)."""
    status: Status = "running"
    error: str | None = None
    terraform_s: dict[str, float] = Field(default_factory=dict)
    variables: dict[str, Any] = Field(default_factory=dict)
    """The pattern's tunable Terraform variables as applied (defaults and scenario's)."""
    load: LoadStats | None = None
    schema_change: SchemaChangeRecord | None = None
    """The column the load added mid-run (scenario `schema_change`), as it ran."""
    projections: dict[str, ProjectionResult] = Field(default_factory=dict)
    valid: Validity = "unknown"
    emulator_limits: list[str] = Field(default_factory=list)
    """Emulator limits met while this pattern ran (not the pattern's anomalies)."""
    saturation: Saturation | None = None
    clocks: list[ClockOffset] = Field(default_factory=list)
    """The harness's offset against the source database clock, then each load process's."""
    emits: EmitSummary | None = None
    """What the application did with its events (patterns where it sends them itself)."""
    dead_letters: dict[str, int] = Field(default_factory=dict)
    """Messages left in each of the pattern's dead-letter queues once it converged."""
    throughput: Throughput | None = None
    """Changes offered, committed and observed per second over the run."""
    shared_load: list[str] = Field(default_factory=list)
    """The entries deployed beside it that observed the same load (`load.isolation: shared`)."""
    usage: dict[str, float] = Field(default_factory=dict)
    """What its services were asked for from the load's start until it converged, in billed
    units by price key, as the target counted them (empty where it cannot count)."""
    resources: list[Resource] | None = None
    """What its deployment bills for, read from its Terraform state after the apply."""
    cost: CostEstimate | None = None
    """Its monthly cost at the committed rate of the run: fixed from `resources`, per use
    from `usage` per committed change."""
    capacity: Capacity | None = None
    """The rate search of `cdcbench capacity` (None in a run)."""
    faults: list[FaultRecord] = Field(default_factory=list)
    """The scenario's faults as applied to it, and how it went through each."""


class Environment(BaseModel):
    """The machine that ran it (read when a run starts, not part of the schema)."""

    harness: str = Field(default_factory=lambda: __version__)
    python: str = Field(default_factory=platform.python_version)
    platform: str = Field(default_factory=platform.platform)
    cpus: int = Field(default_factory=lambda: os.cpu_count() or 0)
    clock: str = CLOCK
    tools: dict[str, str] = Field(default_factory=dict)


class Results(BaseModel):
    schema_version: str = SCHEMA_VERSION
    run_id: str
    status: Status = "running"
    error: str | None = None
    started_at: str
    finished_at: str | None = None
    scenario: dict[str, Any]
    target: dict[str, Any] = Field(default_factory=dict)
    environment: Environment = Field(default_factory=Environment)
    patterns: dict[str, PatternResult] = Field(default_factory=dict)
    host: str | None = None
    pid: int | None = None
    """The host and process that run it (while `running`, the one that may still be)."""
    scratch: str | None = None
    """The folder of the run's temp files, whose path marks every process it started
    (`harness.scratch`): what `cdcbench destroy` clears after a run killed outright."""

    @field_validator("schema_version", mode="before")
    @classmethod
    def _from_integer(cls, version: object) -> object:
        """Results before 3.0 name their version by an integer."""
        return f"{version}.0" if isinstance(version, int) else version

    @property
    def major(self) -> int:
        return major(self.schema_version) or 0

    def write(self, run_dir: Path) -> Path:
        """Written whole or not at all (a run killed while writing keeps the previous one)."""
        data = self.model_dump(mode="json")
        problem = schema_problem(data)
        if problem is not None:
            raise ValueError(f"results break their schema: {problem}")
        path = run_dir / RESULTS
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(data, indent=2))
        os.replace(partial, path)
        return path


def read_results(run_dir: Path) -> Results:
    """The results of the run in `run_dir`; UserError if it holds none this version can read."""
    path = run_dir / RESULTS
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{run_dir} is not a run directory (no {RESULTS} in it)") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from None
    version = data.get("schema_version") if isinstance(data, dict) else None
    found = major(version)
    if found is None:
        raise UserError(f"{path} is not a cdcbench results file (no schema_version)")
    if found > SCHEMA_MAJOR:
        raise UserError(
            f"{path} has schema version {version}, newer than this cdcbench reads "
            f"({SCHEMA_VERSION}): use the cdcbench that wrote it, or a newer one"
        )
    problem = schema_problem(data) if found == SCHEMA_MAJOR else None
    if problem is not None:
        raise UserError(f"{path} breaks the results schema {SCHEMA_VERSION}: {problem}")
    try:
        return Results.model_validate(data)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise UserError(f"{path}: {where}: {problem['msg']}") from None
