"""What the application itself does, in patterns where it writes or emits around its own
commits (the `direct` floor writes the read model; a gateway sends an event per change). One
module per behaviour, named by a pattern descriptor's `application`, built in every load
process from the applied root module's outputs. Each module exposes:

- `hooks(outputs, aws, ledger_dir) -> Hooks` (required): what runs inside and after each
  transaction; anything it records goes beside the ledger in `ledger_dir`;
- `prepare(conn, outputs)` (optional): run once by the harness before the load, on the fresh
  source schema (e.g. the application's own tables);
- `companion(outputs) -> str | None` (optional): a module the harness runs as a process on the
  application's side from before the load until the projections converged (e.g. an outbox
  relay), as `python -m <module> --spec FILE` (see `Spec.write`).
"""

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg

from harness.aws import AwsAccess
from harness.load.ledger import Change
from harness.load.transactions import BeforeCommit, Image

DSN_VARIABLE = "CDCBENCH_DSN"
"""The environment variable that gives a companion process the source's connection string
(with its password): not the command line, which other users of the host can read."""

AfterCommit = Callable[[list[Change], list[Image]], None]
"""Called after a transaction committed, with its changes and their row images."""


@dataclass(frozen=True)
class Hooks:
    before_commit: BeforeCommit | None = None
    after_commit: AfterCommit | None = None
    close: Callable[[], None] | None = None
    """Called once the load is over (flushes what the application recorded)."""


@dataclass(frozen=True)
class Spec:
    """What a load process (or a companion) needs to build an application."""

    application: str
    outputs: dict[str, Any]

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps({"application": self.application, "outputs": self.outputs}))
        return path

    @classmethod
    def read(cls, path: Path) -> "Spec":
        data = json.loads(path.read_text())
        return cls(data["application"], data["outputs"])


def _module(application: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{application}")


def hooks(spec: Spec, aws: AwsAccess, ledger_dir: Path) -> Hooks:
    """The hooks of `harness.apps.<application>` for a deployment with these outputs."""
    built: Hooks = _module(spec.application).hooks(spec.outputs, aws, ledger_dir)
    return built


def prepare(spec: Spec, dsn: str) -> None:
    """The application's preparation of the source database, where it has one."""
    step = getattr(_module(spec.application), "prepare", None)
    if step is not None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            step(conn, spec.outputs)


def companion(spec: Spec) -> str | None:
    """The module the harness runs beside the load for this deployment, if any."""
    pick = getattr(_module(spec.application), "companion", None)
    return None if pick is None else pick(spec.outputs)
