"""Scenario files: pure data saying what to run. Validated strictly (unknown keys are errors)."""

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from harness.errors import UserError
from harness.load.schema import COLUMNS, SQL_TYPES
from harness.nemesis import KINDS, FaultSpec
from harness.patterns import patterns
from harness.yaml_file import read_yaml

Op = Literal["insert", "update", "delete", "order"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SteadyShape(_Strict):
    kind: Literal["steady"] = "steady"


class StepShape(_Strict):
    """Users climb to the full count in equal steps."""

    kind: Literal["step"]
    steps: int = Field(4, ge=1, le=1_000)
    step_s: float = Field(gt=0, le=86_400, description="Seconds per step.")


class SpikeShape(_Strict):
    """Full users, multiplied by `factor` for `length_s` from `at_s`."""

    kind: Literal["spike"]
    at_s: float = Field(ge=0, le=86_400)
    length_s: float = Field(gt=0, le=86_400)
    factor: float = Field(gt=0, le=100)


class SineShape(_Strict):
    """Users oscillate around the full count: users * (1 + amplitude * sin(2 pi t / period))."""

    kind: Literal["sine"]
    period_s: float = Field(gt=0, le=86_400)
    amplitude: float = Field(0.5, ge=0, lt=1)


Shape = Annotated[SteadyShape | StepShape | SpikeShape | SineShape, Field(discriminator="kind")]


class LoadSpec(_Strict):
    duration_s: float = Field(gt=0, le=86_400, description="How long load is offered.")
    rate_per_s: float = Field(
        gt=0, le=1_000_000, description="Changes offered per second at the full user count."
    )
    users: int = Field(4, ge=1, le=10_000, description="Locust users at the full count.")
    processes: int = Field(1, ge=1, le=64, description="Locust worker processes.")
    shape: Shape = SteadyShape()
    isolation: Literal["sequential", "shared"] = Field(
        "sequential",
        description="`sequential`: each pattern is deployed, loaded and destroyed alone. "
        "`shared`: patterns are deployed at once and observe one load (the same changes); a "
        "pattern whose application writes around its commits, or a second variant of a "
        "pattern, gets a load of its own.",
    )

    @property
    def rate_per_user(self) -> float:
        """Each user paces itself at this rate: shapes vary the offered rate through users."""
        return self.rate_per_s / self.users


class WorkloadSpec(_Strict):
    mix: dict[Op, Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: {"insert": 40.0, "update": 40.0, "delete": 5.0, "order": 15.0},
        description="Relative weights: new widget, widget update, widget delete (with its "
        "orders), order (a transaction inserting an order and updating its widget).",
    )
    abort_ratio: float = Field(0.0, ge=0, lt=1, description="Share of transactions rolled back.")
    keys: Literal["uniform", "zipf"] = "uniform"
    zipf_s: float = Field(1.1, gt=0, le=5, description="Zipf exponent (keys: zipf).")
    lob_ratio: float = Field(0.0, ge=0, le=1, description="Share of widgets with large notes.")
    lob_bytes: int = Field(100_000, ge=1, le=64_000_000, description="Size of large notes.")
    falsy_ratio: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Share of rows written with zeros and empty strings where their columns "
        "allow them (widgets: price 0, notes ''; orders: quantity 0, amount 0, status ''): "
        "values a writer that drops falsy values loses.",
    )
    hold_open_ratio: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Share of transactions held open for `hold_open_s` after their writes, "
        "before they commit: a change version (or id) taken early commits late, as a slow "
        "batch job's does, which a polling reader that moves past what it read loses.",
    )
    hold_open_s: float = Field(
        1.0, gt=0, le=60, description="How long a held transaction stays open (seconds)."
    )

    @field_validator("mix")
    @classmethod
    def _needs_inserts(cls, mix: dict[str, float]) -> dict[str, float]:
        if mix.get("insert", 0) <= 0:
            raise ValueError("insert weight must be > 0 (the other operations need rows)")
        return mix


class SchemaChangeSpec(_Strict):
    """`ALTER TABLE <table> ADD COLUMN <column> <sql_type>` on the source mid-load; the
    workload's inserts and updates of the table write the column from then on."""

    at_s: float = Field(ge=0, le=86_400, description="Seconds into the load.")
    table: Literal["widgets", "orders"] = "widgets"
    column: str = Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="The new column.")
    sql_type: str = Field("text", description=f"One of: {', '.join(SQL_TYPES)}.")

    @field_validator("sql_type")
    @classmethod
    def _known_type(cls, sql_type: str) -> str:
        if sql_type not in SQL_TYPES:
            raise ValueError(f"unsupported type {sql_type!r} (supported: {', '.join(SQL_TYPES)})")
        return sql_type

    @model_validator(mode="after")
    def _new_column(self) -> "SchemaChangeSpec":
        if self.column in COLUMNS[self.table]:
            raise ValueError(f"{self.table} already has a column {self.column!r}")
        return self


class SourceSpec(_Strict):
    replica_identity: Literal["default", "full"] = "default"


class CheckSpec(_Strict):
    converge_timeout_s: float = Field(60, gt=0, le=3_600)
    settle_s: float = Field(
        10,
        gt=0,
        le=3_600,
        description="A projection that stops changing for this long past its configured floor "
        "without converging has settled: its anomalies are final, not lag.",
    )
    lag_window_s: float = Field(1.0, gt=0, le=3_600, description="Width of lag-over-time windows.")
    max_examples: int = Field(5, ge=0, le=1_000)


class Variant(_Strict):
    """A pattern run with its own variables, beside the pattern or other variants of it."""

    pattern: str
    variables: dict[str, Any] = Field(default_factory=dict)


class Entry(_Strict):
    """One thing a run deploys and measures: a pattern, or a variant of one."""

    name: str
    """The pattern's or the variant's name: results and run files are keyed by it."""
    pattern: str
    variables: dict[str, Any]
    """The root module variables the scenario sets (the pattern's, then the variant's)."""


class ProjectionObjectives(_Strict):
    """What one projection must achieve in a run; each objective is optional."""

    lag_p99_ms: float | None = Field(
        None, ge=0, description="p99 lag from commit (ms) at most this."
    )
    anomalies: int | None = Field(
        None, ge=0, description="Anomalies (every class but `unconverged`) at most this."
    )
    convergence_s: float | None = Field(
        None, ge=0, description="Converged, within this many seconds of the end of load."
    )


class PatternObjectives(_Strict):
    """What one pattern (or variant) the scenario runs must achieve."""

    cost_usd_per_month: float | None = Field(
        None, ge=0, description="Its estimated monthly cost (USD) at most this."
    )
    projections: dict[str, ProjectionObjectives] = Field(
        default_factory=dict, description="Per projection of the pattern, its objectives."
    )


class Scenario(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,15}$", description="Short id used in run ids.")
    description: str = ""
    patterns: list[str] = Field(
        min_length=1, description="Patterns and variants to run, one after another."
    )
    variants: dict[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")], Variant] = Field(
        default_factory=dict,
        description="Named variants of patterns (a pattern with other variables), run when "
        "`patterns` lists their names: one run compares them under the same load.",
    )
    load: LoadSpec
    workload: WorkloadSpec = WorkloadSpec()
    source: SourceSpec = SourceSpec()
    schema_change: SchemaChangeSpec | None = None
    check: CheckSpec = CheckSpec()
    faults: list[FaultSpec] = Field(
        default_factory=list,
        description="Faults applied to every pattern during the load (`harness.nemesis`).",
    )
    pattern_variables: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per pattern, variables of its root module to set (any it declares but "
        "those cdcbench sets), checked against their declared types; patterns the run leaves "
        "out ignore theirs.",
    )
    slo: dict[str, PatternObjectives] = Field(
        default_factory=dict,
        description="Service-level objectives per pattern or variant the scenario runs, "
        "checked by the pytest plugin (`pytest --cdcbench-scenario FILE`).",
    )

    @model_validator(mode="after")
    def _schema_change_during_load(self) -> "Scenario":
        change = self.schema_change
        if change is not None and change.at_s >= self.load.duration_s:
            raise ValueError(
                f"schema_change.at_s: {change.at_s:g} s is not within the load "
                f"(load.duration_s: {self.load.duration_s:g} s)"
            )
        return self

    @model_validator(mode="after")
    def _faults_during_load(self) -> "Scenario":
        for number, fault in enumerate(self.faults):
            if fault.kind not in KINDS:
                raise ValueError(
                    f"faults.{number}.kind: unknown kind {fault.kind!r} (known: {', '.join(KINDS)})"
                )
            if fault.at_s >= self.load.duration_s:
                raise ValueError(
                    f"faults.{number}.at_s: {fault.at_s:g} s is not within the load "
                    f"(load.duration_s: {self.load.duration_s:g} s)"
                )
        return self

    @model_validator(mode="after")
    def _known_variables(self) -> "Scenario":
        """Each pattern's values are variables of its root module, of their declared type."""
        for name, values in self.pattern_variables.items():
            if name not in patterns():
                raise ValueError(f"pattern_variables: unknown pattern {name!r}")
            try:
                patterns()[name].check_variables(values)
            except ValueError as exc:
                raise ValueError(f"pattern_variables.{name}: {exc}") from None
        return self

    @model_validator(mode="after")
    def _known_entries(self) -> "Scenario":
        """Each listed name is a pattern or a variant, once; each variant's pattern exists
        and its variables are the pattern's, of their declared types."""
        for name, variant in self.variants.items():
            if name in patterns():
                raise ValueError(f"variants.{name}: a pattern has that name")
            if variant.pattern not in patterns():
                known = ", ".join(patterns())
                raise ValueError(
                    f"variants.{name}.pattern: unknown pattern {variant.pattern!r} (known: {known})"
                )
            try:
                patterns()[variant.pattern].check_variables(variant.variables)
            except ValueError as exc:
                raise ValueError(f"variants.{name}.variables: {exc}") from None
        unknown = [n for n in self.patterns if n not in patterns() and n not in self.variants]
        if unknown:
            known = ", ".join([*patterns(), *self.variants])
            raise ValueError(f"patterns: unknown pattern {unknown[0]!r} (known: {known})")
        if len(set(self.patterns)) != len(self.patterns):
            raise ValueError("patterns: a pattern is listed twice")
        return self

    @model_validator(mode="after")
    def _known_objectives(self) -> "Scenario":
        """Each pattern with objectives is one the scenario runs, and each projection named is
        one of that pattern's."""
        runs = {entry.name: entry.pattern for entry in self.entries()}
        for name, objectives in self.slo.items():
            if name not in runs:
                raise ValueError(
                    f"slo.{name}: not a pattern this scenario runs (it runs: {', '.join(runs)})"
                )
            pattern = patterns().get(runs[name])
            known = [p.name for p in pattern.projections] if pattern else []
            for projection in objectives.projections:
                if projection not in known:
                    raise ValueError(
                        f"slo.{name}.projections: {name} has no projection {projection!r} "
                        f"(its projections: {', '.join(known)})"
                    )
        return self

    def entries(self) -> list[Entry]:
        """What the run deploys, in order, with the variables the scenario sets for each."""
        listed = []
        for name in self.patterns:
            variant = self.variants.get(name)
            pattern = variant.pattern if variant else name
            variables = {
                **self.pattern_variables.get(pattern, {}),
                **(variant.variables if variant else {}),
            }
            listed.append(Entry(name=name, pattern=pattern, variables=variables))
        return listed


def load_scenario(path: Path, patterns: list[str] | None = None) -> Scenario:
    """Read and validate a scenario file; `patterns` replaces the file's list when given."""
    data = read_yaml(path, "scenario file")
    if not isinstance(data, dict):
        raise UserError(f"{path}: a scenario must be a mapping of keys (name, patterns, load, ...)")
    if patterns:
        data["patterns"] = patterns
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"{path}: {_describe(exc)}") from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        elif err["type"] == "missing":
            message = "required key is missing"
        parts.append(
            f"{where}: {message}" if where else message
        )  # whole-scenario checks name their key
    return "; ".join(parts)
