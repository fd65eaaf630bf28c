"""A pattern as the harness sees it: its folder `terraform/patterns/<name>/` holds the
Terraform root module, its functions, and `pattern.yaml`, a small descriptor (pure data)
naming what to observe and what the harness must provide. Everything else comes from the
root module itself: the tunables with their types and defaults (`variables.tf`), and each
projection's configured lag floor (its `lag_floors_ms` output, computed from the variables).
"""

import importlib.util
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import psycopg
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.check.projection import Feed
from harness.errors import UserError
from harness.nemesis.faults import FIS_VARIABLE, KINDS
from harness.nemesis.record import FaultExpectation
from harness.observe.base import ProjectionKind
from harness.patterns.root_module import RootModule, Variable, read_root_module, resource_types
from harness.patterns.terraform_types import conform
from harness.yaml_file import read_yaml

DESCRIPTOR = "pattern.yaml"
FLOORS_OUTPUT = "lag_floors_ms"
"""The root module's output: projection -> configured lag floor in ms."""
RUN_ID_VARIABLE = "run_id"
SOURCE_VARIABLE = "source_connection"
"""Declared by a root module that reads the source database itself (e.g. a DMS source
endpoint): the harness sets it to the source's host, port, database, username and password."""
APPS_PACKAGE = "harness.apps"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AddedColumn(_Strict):
    """What the pattern expects of a projection when the source adds a column mid-run."""

    arrives: bool = True
    """Later changes carry the new column into the projection."""
    note: str = ""
    """Why, where the pattern knows: what AWS documents, or that its documentation is
    silent and what the local engines do instead."""


class Hop(_Strict):
    """How changes reach a projection: from the source or from another projection of the
    pattern, through what (drawn in the report; its lag measured per change)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    upstream: str = Field("", alias="from")
    """The projection it is fed from; "" (the default): the source database."""
    via: str = Field(min_length=1)
    """What carries the changes, e.g. "DMS task (Kafka target)"."""
    published: str = ""
    """The key of AWS's published figure for this hop in `harness/report/published_hops.yaml`."""


class Projection(_Strict):
    """A replicated view of the source that the harness observes and checks."""

    name: str = ""
    kind: ProjectionKind
    observer: str
    """Observer kind, e.g. `dynamodb_stream` (see harness.observe.OBSERVERS)."""
    resources: dict[str, str]
    """Observer parameter -> the root module output holding its value (table name...)."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Observer parameters fixed by the pattern (record format, layout flags...)."""
    added_column: AddedColumn = AddedColumn()
    feed: Feed = "every_change"
    """What an event log is fed: `every_change`, or `net_changes` (change tracking: a key's
    intermediate versions may be skipped, never its final state; judged by
    `check_net_changes`). Event logs only: a state projection is judged by its final
    snapshot and an event store as a set of every change."""
    hop: Hop

    @model_validator(mode="after")
    def _net_changes_feed_an_event_log(self) -> "Projection":
        if self.feed == "net_changes" and self.kind != "event_log":
            raise ValueError(f"feed net_changes is for kind event_log, not {self.kind}")
        return self

    def observer_parameters(self, outputs: dict[str, Any]) -> dict[str, Any]:
        """The observer's parameters for a deployment with these root module outputs."""
        return {**self.options, **{p: outputs[o] for p, o in self.resources.items()}}


class Companion(_Strict):
    """A process of the pattern's own that the harness runs beside the source database (the
    data-centre side), from before the load until the projections converged: e.g. a change
    publisher polling the source. Run as `python <script> --settings FILE --dsn DSN
    --records-dir DIR --parent-pid PID` with the target's AWS environment; it prints
    `{"ready": true}` once the load may start and stops on SIGTERM."""

    script: str = Field(pattern=r"^[^/].*\.py$")
    """A Python file in the pattern's folder."""
    settings: str
    """The root module output holding its settings (a JSON object, written to FILE)."""


class Descriptor(_Strict):
    """The contents of `pattern.yaml`."""

    summary: str = Field(min_length=1)
    projections: dict[str, Projection] = Field(min_length=1)
    replica_identity: Literal["default", "full"] = "default"
    """The least REPLICA IDENTITY the source tables need (`full`: deletes carry the old row,
    with its version)."""
    application: str | None = None
    """What the application itself does after each commit where it writes or emits (a module
    of harness.apps); none for patterns that capture changes from the database."""
    connector_plugins: dict[str, str] = Field(default_factory=dict)
    """Root module variable -> MSK Connect plugin whose zip path it takes, from the target."""
    smoke_variables: dict[str, Any] = Field(default_factory=dict)
    """Variables for the test suite's short smoke run (e.g. a short batch window)."""
    dead_letter_queues: dict[str, str] = Field(default_factory=dict)
    """Name -> the root module output holding the URL of a dead-letter queue whose depth
    the run records once the pattern converged."""
    companion: Companion | None = None
    faults: dict[str, FaultExpectation] = Field(default_factory=dict)
    """Fault kind -> the pattern's own expected outcome under it, where its configuration
    makes it differ from the kind's."""

    @model_validator(mode="after")
    def _fault_kinds_exist(self) -> "Descriptor":
        unknown = sorted(set(self.faults) - set(KINDS))
        if unknown:
            known = ", ".join(KINDS)
            raise ValueError(f"faults: unknown kind(s) {', '.join(unknown)} (known: {known})")
        return self

    @model_validator(mode="after")
    def _hops_start_at_the_source(self) -> "Descriptor":
        for name, projection in self.projections.items():
            seen = [name]
            while projection.hop.upstream:
                upstream = projection.hop.upstream
                if upstream not in self.projections:
                    raise ValueError(f"projection {name}: hop from unknown projection {upstream}")
                if upstream in seen:
                    raise ValueError(f"projection {name}: its hops loop ({' <- '.join(seen)})")
                seen.append(upstream)
                projection = self.projections[upstream]
        return self


class Pattern:
    """A pattern: its descriptor, read from its folder, and its root module (read lazily)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.name = root.name
        descriptor = _read_descriptor(root / DESCRIPTOR)
        self.summary = descriptor.summary
        self.replica_identity = descriptor.replica_identity
        self.application = descriptor.application
        self.connector_plugins = descriptor.connector_plugins
        self.smoke_variables = descriptor.smoke_variables
        self.dead_letter_queues = descriptor.dead_letter_queues
        self.companion = descriptor.companion
        self.faults = descriptor.faults
        if self.companion and not (root / self.companion.script).is_file():
            raise UserError(
                f"{root / DESCRIPTOR}: companion script {self.companion.script} is missing"
            )
        self.projections = tuple(
            p.model_copy(update={"name": name}) for name, p in descriptor.projections.items()
        )
        if self.application and not importlib.util.find_spec(f"{APPS_PACKAGE}.{self.application}"):
            raise UserError(
                f"{root / DESCRIPTOR}: application {self.application!r} is not a module of "
                f"{APPS_PACKAGE}"
            )

    @cached_property
    def module(self) -> RootModule:
        return read_root_module(self.root)

    @cached_property
    def resource_types(self) -> frozenset[str]:
        """The resource types its root module creates, its local modules' included (read
        once: parsing the HCL takes a fraction of a second per pattern)."""
        return resource_types(self.root)

    @property
    def source_access(self) -> bool:
        """The root module reads the source database itself."""
        return SOURCE_VARIABLE in self.module.variables

    @property
    def provided(self) -> set[str]:
        """Variables the harness sets: the run id, the source, the connector plugins, AWS
        FIS's Lambda extension (for the Lambda faults on AWS)."""
        return {RUN_ID_VARIABLE, SOURCE_VARIABLE, FIS_VARIABLE, *self.connector_plugins}

    @property
    def tunables(self) -> dict[str, Variable]:
        """Every other variable of the root module: a scenario's `pattern_variables` may set
        them."""
        return {n: v for n, v in self.module.variables.items() if n not in self.provided}

    def provided_values(
        self, run_id: str, source_dsn: str, plugin_zip: Callable[[str], Path]
    ) -> dict[str, Any]:
        """What the harness sets: the run id, the source's connection where the root module
        reads the source, and each MSK Connect plugin's zip (`plugin_zip(name)`)."""
        values: dict[str, Any] = {RUN_ID_VARIABLE: run_id}
        if self.source_access:
            values |= _source_connection(source_dsn)
        for variable, plugin in self.connector_plugins.items():
            values[variable] = str(plugin_zip(plugin))
        return values

    def check_variables(self, values: dict[str, Any]) -> None:
        """ValueError naming the first of `values` that is not a tunable of the right type."""
        tunables = self.tunables
        for name, value in values.items():
            if name in self.provided:
                raise ValueError(f"{name!r} is set by cdcbench, not by a scenario")
            if name not in tunables:
                known = ", ".join(sorted(tunables)) or "none"
                raise ValueError(f"unknown variable {name!r} (known: {known})")
            problem = conform(value, tunables[name].type, name)
            if problem:
                raise ValueError(problem)

    def effective_variables(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """The tunables as applied: each default from variables.tf, then `overrides`."""
        defaults = {n: v.default for n, v in self.tunables.items() if not v.required}
        return {**defaults, **overrides}

    def floors_ms(self, outputs: dict[str, Any]) -> dict[str, float]:
        """Each projection's configured lag floor, from the applied root module's outputs."""
        floors = outputs.get(FLOORS_OUTPUT)
        names = [p.name for p in self.projections]
        if not isinstance(floors, dict) or set(floors) != set(names):
            raise UserError(
                f"pattern {self.name}: its root module's {FLOORS_OUTPUT} output must map each "
                f"projection ({', '.join(names)}) to its floor in ms, not {floors!r}"
            )
        return {name: float(floors[name]) for name in names}


def _read_descriptor(path: Path) -> Descriptor:
    try:
        return Descriptor.model_validate(read_yaml(path, "pattern descriptor"))
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or "descriptor"
        raise UserError(f"{path}: {where}: {problem['msg']}") from None


def _source_connection(dsn: str) -> dict[str, Any]:
    """The source database's connection as the root module variable `source_connection`
    (declared sensitive: it carries the password)."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    return {
        SOURCE_VARIABLE: {
            "host": str(info.get("host", "localhost")),
            "port": int(str(info.get("port", 5432))),
            "database": str(info.get("dbname", "")),
            "username": str(info.get("user", "")),
            "password": str(info.get("password", "")),
        }
    }
