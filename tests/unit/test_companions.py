"""A pattern's own companion process (its descriptor's `companion`): run with its settings
from the root module's outputs, waited for until it says it is ready; one that stops before
is one line naming its last word; one that stops later is a failure of the run (it ends the
wait for convergence); each is stopped when the pattern's run ends."""

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from harness.companions import companions
from harness.errors import UserError
from harness.patterns import Pattern
from harness.run_files import PatternFiles

READY_THEN_WAIT = """
import argparse, json, os, sys, time
parser = argparse.ArgumentParser()
for flag in ("--settings", "--records-dir", "--parent-pid"):
    parser.add_argument(flag)
args = parser.parse_args()  # the DSN is not on the command line: it carries the password
assert os.environ["CDCBENCH_DSN"] == "host=nowhere"
settings = json.load(open(args.settings))
print(json.dumps({"ready": True}), flush=True)
time.sleep(settings["then_exit_after_s"])
sys.exit(3)
"""
FAILS_AT_START = """
import sys
print("companion: cannot reach the source database: connection refused", file=sys.stderr)
sys.exit(2)
"""


def pattern(tmp_path: Path, script: str) -> Pattern:
    root = tmp_path / "patterns" / "with_companion"
    root.mkdir(parents=True)
    (root / "run.py").write_text(script)
    descriptor = {
        "summary": "a pattern with a companion",
        "companion": {"script": "run.py", "settings": "companion_settings"},
        "projections": {
            "p": {
                "kind": "state",
                "observer": "dynamodb_scan",
                "resources": {},
                "hop": {"via": "v"},
            }
        },
    }
    (root / "pattern.yaml").write_text(yaml.safe_dump(descriptor))
    return Pattern(root)


TARGET: Any = SimpleNamespace(source_dsn="host=nowhere", aws=SimpleNamespace(env=dict))


def test_a_companion_runs_once_ready_and_its_stop_is_a_failure(tmp_path: Path) -> None:
    files = PatternFiles(tmp_path / "run")
    files.root.mkdir()
    outputs = {"companion_settings": {"then_exit_after_s": 1.0}}
    with companions(pattern(tmp_path, READY_THEN_WAIT), None, outputs, TARGET, files) as running:
        assert running.failures() == {}
        ((proc, _),) = running.processes.values()
        proc.wait(10)
        ((name, why),) = running.failures().items()
    assert name == "run" and why.startswith("exited with 3")
    assert (
        json.loads((files.root / "run-settings.json").read_text()) == outputs["companion_settings"]
    )


def test_a_companion_that_stops_before_it_is_ready_is_one_line(tmp_path: Path) -> None:
    files = PatternFiles(tmp_path / "run")
    files.root.mkdir()
    outputs = {"companion_settings": {}}
    failing = pattern(tmp_path, FAILS_AT_START)
    with (
        pytest.raises(UserError) as raised,
        companions(failing, None, outputs, TARGET, files),
    ):
        pytest.fail("the block must not run")
    message = str(raised.value)
    assert message.startswith("run did not start: companion: cannot reach the source database")
    assert "\n" not in message
