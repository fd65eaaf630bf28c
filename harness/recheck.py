"""A run's figures recomputed from its folder alone (the ledger, observations and snapshots
it kept), as the run computed them: `cdcbench check` and `cdcbench report`.

A run whose process died (`kill -9`, a lost machine) left results.json as it stood at its
last checkpoint, `running`; it is rebuilt as `partial` from every line its files hold
(each ledger line and observation reaches the OS as it is recorded)."""

import os
import socket
from pathlib import Path

from pydantic import ValidationError

from harness.errors import UserError
from harness.evaluation import evaluate
from harness.report.results import SNAPSHOTS_SINCE, Results, read_results
from harness.run_files import PatternFiles
from harness.scenario import CheckSpec, LoadSpec

STOPPED = "the run stopped before it finished: figures rebuilt from what it left on disk"


def recheck(run_dir: Path) -> Results:
    results = read_results(run_dir)
    if results.major < SNAPSHOTS_SINCE:
        raise UserError(
            f"{run_dir} was written with results schema {results.schema_version}, which keeps no "
            f"snapshots: runs from schema {SNAPSHOTS_SINCE} on can be checked again"
        )
    if results.status == "running":
        refuse_if_alive(results, run_dir)
        results.status, results.error = "partial", results.error or STOPPED
    try:
        spec = CheckSpec.model_validate(results.scenario.get("check", {}))
        load = LoadSpec.model_validate(results.scenario.get("load"))
    except ValidationError as exc:
        raise UserError(f"{run_dir}: the scenario in its results is unreadable: {exc}") from None
    for name, result in results.patterns.items():
        if result.status == "running":
            result.status, result.error = "partial", result.error or STOPPED
        if not result.projections:  # never measured (e.g. its apply failed)
            continue
        files = PatternFiles(run_dir / name)
        # a run killed before its load started has no ledger yet
        needed = [] if result.status == "partial" else [files.ledger]
        needed += [files.observations(p) for p in result.projections]
        for path in needed:
            if not path.exists():
                raise UserError(f"{path} is missing: the run directory is incomplete")
        saturation = result.saturation
        busy = saturation.busy if saturation else {}
        emulated = saturation.emulated if saturation else False
        over_time = saturation.busy_over_time if saturation else {}
        evaluate(name, result, files, spec, load.rate_per_s, busy, emulated, None, over_time)
    return results


def refuse_if_alive(results: Results, run_dir: Path) -> None:
    """A run still going on is not rebuilt under its feet."""
    if results.host != socket.gethostname() or results.pid is None:
        return
    try:
        os.kill(results.pid, 0)
    except ProcessLookupError:
        return
    except PermissionError:
        pass
    command = Path(f"/proc/{results.pid}/cmdline")
    if command.exists() and not any(n in command.read_bytes() for n in (b"cdcbench", b"harness")):
        return  # its process id was given to another program since
    raise UserError(
        f"{run_dir} is still being run by process {results.pid}: wait for it to finish "
        "(or stop it) first"
    )
