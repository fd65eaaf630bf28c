"""`cdcbench destroy RUN_DIR`: clear what a run killed outright left, and rebuild its results.

A run that ends (Ctrl-C and errors included) tears everything down itself, and a run killed
outright (`kill -9`) has its reaper (`harness.run_reaper`) stop its processes. This clears
whatever is still left, as often as asked (a second time finds nothing):

- the processes marked with the run's scratch folder, and the folder (`harness.scratch`);
- the run's resources: on `aws` and `localstack`, every resource tagged with the run's id,
  deleted as `cdcbench gc` deletes them (a Terraform state written before the kill misses
  what an apply was creating); on `local` they ended with the emulator's process;
- each Terraform state of the run then records nothing (the previous one is kept beside it
  as `terraform.tfstate.backup`, as Terraform's own destroy keeps it);
- results.json and index.html, rebuilt as `cdcbench report` rebuilds them (`partial`).

It refuses a run whose process is still alive.
"""

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from harness import gc
from harness.aws import AwsAccess
from harness.recheck import recheck, refuse_if_alive
from harness.report.results import Results, read_results
from harness.scratch import clear
from harness.settings import Settings

STATE = "terraform.tfstate"


def destroy_run(
    run_dir: Path, settings: Settings, say: Callable[[str], None]
) -> tuple[Results, list[str]]:
    """Clear what the run in `run_dir` left, telling `say` what was done; its rebuilt
    results, and one line per resource that could not be deleted."""
    results = read_results(run_dir)
    refuse_if_alive(results, run_dir)
    if results.scratch:
        for line in clear(Path(results.scratch)):
            say(f"stopped process {line}")
    failed = _resources(results, settings, say)
    if not failed:
        for state in run_dir.glob(f"*/terraform/*/*/{STATE}"):
            _forget(state, say)
    rebuilt = recheck(run_dir)
    return rebuilt, failed


def _resources(results: Results, settings: Settings, say: Callable[[str], None]) -> list[str]:
    """Delete what the run tagged on its AWS API; lines for those not deleted."""
    target = results.target.get("name", "local")
    if target == "local":
        say("local target: its resources ended with its emulator")
        return []
    region = results.target.get("region") or os.environ.get("AWS_REGION") or settings.aws_region
    if target == "localstack":
        aws = AwsAccess.emulated(region, results.target["aws_endpoint"])
    else:
        aws = AwsAccess(region=region)
    found = [item for item in gc.find_leftovers(aws) if item.run_id == results.run_id]
    say(f"{target}: {len(found)} resource(s) tagged {gc.RUN_ID_TAG}={results.run_id}")
    return gc.delete_leftovers(aws, found, say) if found else []


def _forget(state: Path, say: Callable[[str], None]) -> None:
    """Leave `state` recording no resource, the previous state kept as its backup."""
    try:
        recorded = json.loads(state.read_text() or "{}")
    except (OSError, json.JSONDecodeError):
        return
    if not recorded.get("resources"):
        return
    shutil.copyfile(state, state.with_name(f"{STATE}.backup"))
    recorded["resources"] = []
    recorded["serial"] = int(recorded.get("serial", 0)) + 1
    state.write_text(json.dumps(recorded, indent=2))
    say(f"{state.parent.name}: its Terraform state records nothing now")
