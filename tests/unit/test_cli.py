"""The `cdcbench` command's small subcommands and argument errors, run as a subprocess."""

from pathlib import Path

import pytest

from harness import __version__
from harness.patterns import patterns
from harness.report.results import Results
from tests.helpers import run_cli as cdcbench


def test_patterns_lists_each_pattern_with_its_summary_projections_and_tunables() -> None:
    proc = cdcbench("patterns")

    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    heads = [i for i, line in enumerate(lines) if not line.startswith(" ")]
    assert [lines[i].split()[0] for i in heads] == list(patterns())
    direct = lines[heads[0]]
    assert direct.removeprefix("direct").strip() == patterns()["direct"].summary
    assert patterns()["direct"].summary.strip()
    msk = heads[list(patterns()).index("dms_msk_lambda")]
    details = {line.strip() for line in lines[msk + 1 : msk + 30] if line.startswith(" ")}
    assert (
        "projections: topic (event_log, kafka_topic), event_store (event_log, s3_objects), "
        "read_model (state, dynamodb_stream)" in details
    )
    # each tunable with its default and type, as variables.tf declares them
    assert 'projector = "correct" (string)' in details
    assert "projector_batching_window_s = 0 (number)" in details
    assert "subnet_ids = [] (list(string))" in details
    assert not any(d.startswith(("run_id", "source_connection", "s3_sink_plugin")) for d in details)
    # the fault kinds that act on what it creates
    kinds = "dms_task_stop, dms_instance_reboot, lambda_throttle, lambda_errors"
    rest = "lambda_timeouts, source_restart, kafka_down, kafka_rebalance, dynamodb_throttle"
    last = "lob_burst, network_delay"
    assert f"faults: {kinds}, {rest}, {last}" in details
    direct_kinds = "faults: source_restart, dynamodb_throttle, lob_burst"
    assert lines[heads[0] + 2].strip() == direct_kinds
    # a pattern's own expected outcome under a kind, where it has one
    sqs = heads[list(patterns()).index("sqs_lambda_eventstore")]
    assert lines[sqs + 3].strip().startswith("under lambda_errors: no loss, duplicates allowed")


def test_doctor_reports_missing_terraform_with_fix_and_fails(tmp_path: Path) -> None:
    # A provider mirror in tmp_path keeps the provider check off the network.
    (tmp_path / "mirror" / "registry.terraform.io" / "hashicorp" / "aws" / "5.0.0").mkdir(
        parents=True
    )
    proc = cdcbench(
        "doctor",
        env={
            "CDCBENCH_TERRAFORM_BIN": "/nonexistent/terraform",
            "CDCBENCH_TF_PLUGIN_MIRROR": str(tmp_path / "mirror"),
        },
    )

    assert proc.returncode == 1, proc.stdout + proc.stderr
    terraform = [line for line in proc.stdout.splitlines() if line.startswith("terraform ")]
    assert len(terraform) == 1, proc.stdout
    line = terraform[0]
    assert line.split()[1] == "missing"
    assert "/nonexistent/terraform" in line
    assert "CDCBENCH_TERRAFORM_BIN" in line
    assert "install Terraform" in line
    assert "Traceback" not in proc.stderr


def test_version_prints_name_and_version() -> None:
    proc = cdcbench("--version")

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"cdcbench {__version__}"


def test_no_subcommand_is_a_one_line_usage_error() -> None:
    proc = cdcbench()

    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("cdcbench: error: ")
    assert "command" in lines[0]
    assert proc.stdout == ""


def test_unknown_subcommand_is_a_one_line_usage_error() -> None:
    proc = cdcbench("frobnicate")

    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("cdcbench: error: ")
    assert "frobnicate" in lines[0]


@pytest.mark.parametrize("command", ["check", "destroy"])
def test_a_folder_that_is_not_a_run_is_one_line_and_exit_2(command: str, tmp_path: Path) -> None:
    proc = cdcbench(command, str(tmp_path))

    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"cdcbench: error: {tmp_path} is not a run directory (no results.json in it)"
    ]


@pytest.mark.parametrize(
    ("version", "says"),
    [("4.0", "newer than this cdcbench reads"), (1, "keeps no snapshots")],
)
def test_check_of_a_run_it_cannot_recompute_is_one_line_and_exit_2(
    tmp_path: Path, version: str | int, says: str
) -> None:
    results = Results(run_id="r", started_at="now", scenario={}, schema_version=version)
    results.write(tmp_path)

    proc = cdcbench("check", str(tmp_path))

    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith("cdcbench: error: ") and says in line, line


CAPACITY_SCENARIO = """\
name: capacity-smoke
patterns: [direct]
load: {duration_s: 6, rate_per_s: 10}
"""


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--start", "100", "--max", "50"], "--start/--max: start 100 must be within 1..50"),
        (["--step-s", "0"], "--refine must be 0 or more and --step-s above 0"),
    ],
)
def test_a_search_that_cannot_run_is_one_line_and_exit_2(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    scenario = tmp_path / "capacity.yaml"
    scenario.write_text(CAPACITY_SCENARIO)

    result = cdcbench("capacity", str(scenario), *flags, "--reports-dir", str(tmp_path))

    assert result.returncode == 2
    assert result.stderr.strip() == f"cdcbench: error: {message}"
    assert not list(tmp_path.glob("*/results.json")), "nothing started"


def test_capacity_refuses_a_scenario_with_a_schema_change(tmp_path: Path) -> None:
    scenario = tmp_path / "capacity.yaml"
    scenario.write_text(CAPACITY_SCENARIO + "schema_change: {at_s: 3, column: extra}\n")

    result = cdcbench("capacity", str(scenario), "--reports-dir", str(tmp_path))

    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"cdcbench: error: {scenario}: capacity offers steady steps: drop its schema_change"
    )
