"""`cdcbench check RUN_DIR`: a finished run's figures recomputed from its folder alone (the
ledger, observations and snapshots it kept), as the run computed them."""

from pathlib import Path

from pydantic import ValidationError

from harness.errors import UserError
from harness.evaluation import evaluate
from harness.report.results import SNAPSHOTS_SINCE, Results, read_results
from harness.run_files import PatternFiles
from harness.scenario import CheckSpec, LoadSpec


def recheck(run_dir: Path) -> Results:
    results = read_results(run_dir)
    if results.schema_version < SNAPSHOTS_SINCE:
        raise UserError(
            f"{run_dir} was written with results schema {results.schema_version}, which keeps no "
            f"snapshots: runs from schema {SNAPSHOTS_SINCE} on can be checked again"
        )
    try:
        spec = CheckSpec.model_validate(results.scenario.get("check", {}))
        load = LoadSpec.model_validate(results.scenario.get("load"))
    except ValidationError as exc:
        raise UserError(f"{run_dir}: the scenario in its results is unreadable: {exc}") from None
    for name, result in results.patterns.items():
        if not result.projections:  # never measured (e.g. its apply failed)
            continue
        files = PatternFiles(run_dir / name)
        needed = [files.ledger, *(files.observations(p) for p in result.projections)]
        for path in needed:
            if not path.exists():
                raise UserError(f"{path} is missing: the run directory is incomplete")
        saturation = result.saturation
        busy = saturation.busy if saturation else {}
        emulated = saturation.emulated if saturation else False
        evaluate(name, result, files, spec, load.rate_per_s, busy, emulated)
    return results
