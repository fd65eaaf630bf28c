"""`cdcbench run` with a bad scenario or bad arguments: one error line, exit 2, nothing started.

Every case runs the real CLI in a subprocess. The processes are started together in one
module-scoped fixture (each costs ~0.7 s of imports) and each test asserts on its own result.
"""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.errors import UserError
from harness.nemesis import KINDS
from harness.patterns import patterns
from harness.scenario import load_scenario

REPO = Path(__file__).resolve().parents[2]

VALID: dict[str, Any] = {
    "name": "unit",
    "patterns": ["direct"],
    "load": {"duration_s": 1, "rate_per_s": 1},
}


def with_changes(**changes: Any) -> str:
    """VALID with top-level keys replaced (None removes a key), as YAML."""
    data = {**VALID, **changes}
    return yaml.safe_dump({k: v for k, v in data.items() if v is not None})


@dataclass(frozen=True)
class Case:
    id: str
    content: str | None
    """Scenario file text; None: the file does not exist."""
    mentions: tuple[str, ...]
    """Strings the error line must contain; "{path}" stands for the scenario file's path."""
    args: tuple[str, ...] = ()


CASES = [
    Case("missing-file", None, ("{path}", "not found")),
    Case("invalid-yaml", "name: [unclosed\nload: {\n", ("{path}", "not valid YAML")),
    Case("top-level-list", yaml.safe_dump([VALID]), ("{path}", "mapping")),
    Case("unknown-top-level-key", with_changes(colour="blue"), ("colour", "unknown key")),
    Case(
        "unknown-nested-key",
        with_changes(load={"duration_s": 1, "rate_per_s": 1, "rte_per_s": 5}),
        ("load.rte_per_s", "unknown key"),
    ),
    Case(
        "unknown-pattern-variable",
        with_changes(pattern_variables={"direct": {"batch_s": 5}}),
        ("pattern_variables.direct", "unknown variable 'batch_s'", "known: kms_key_arn"),
    ),
    Case(
        "pattern-variable-of-the-wrong-type",
        with_changes(pattern_variables={"dms_s3_dynamodb": {"cdc_max_batch_interval": "abc"}}),
        ("pattern_variables.dms_s3_dynamodb", "cdc_max_batch_interval: expected number, got 'abc'"),
    ),
    Case(
        "variables-of-unknown-pattern",
        with_changes(pattern_variables={"indirect": {}}),
        ("pattern_variables", "unknown pattern 'indirect'"),
    ),
    Case(
        "negative-rate",
        with_changes(load={"duration_s": 1, "rate_per_s": -5}),
        ("load.rate_per_s",),
    ),
    Case(
        "zero-duration",
        with_changes(load={"duration_s": 0, "rate_per_s": 1}),
        ("load.duration_s",),
    ),
    Case(
        "wrong-type",
        with_changes(load={"duration_s": "soon", "rate_per_s": 1}),
        ("load.duration_s",),
    ),
    Case("abort-ratio-1.5", with_changes(workload={"abort_ratio": 1.5}), ("workload.abort_ratio",)),
    Case(
        "insert-weight-zero",
        with_changes(workload={"mix": {"insert": 0, "update": 1}}),
        ("workload.mix", "insert weight"),
    ),
    Case("unknown-pattern", with_changes(patterns=["direct", "nosuch"]), ("patterns", "nosuch")),
    Case("empty-patterns", with_changes(patterns=[]), ("patterns",)),
    Case("uppercase-name", with_changes(name="Smoke"), ("name",)),
    Case("pattern-option-unknown", with_changes(), ("nosuch",), ("--pattern", "nosuch")),
    Case("target-option-unknown", with_changes(), ("--target", "nowhere"), ("--target", "nowhere")),
]
"""Run through the CLI in a subprocess (each costs ~0.5 s of imports, so kept to one per
kind of mistake); more mistakes are checked in-process with load_scenario below."""

IN_PROCESS_CASES = [
    Case("empty-file", "", ("{path}", "mapping")),
    Case("missing-section", with_changes(load=None), ("load", "required key is missing")),
    Case(
        "unknown-op-in-mix",
        with_changes(workload={"mix": {"insert": 1, "upsert": 1}}),
        ("workload.mix", "upsert"),
    ),
    Case("duplicate-pattern", with_changes(patterns=["direct", "direct"]), ("patterns", "twice")),
    Case(
        "variant-of-unknown-pattern",
        with_changes(patterns=["v"], variants={"v": {"pattern": "indirect"}}),
        ("variants.v.pattern", "unknown pattern 'indirect'"),
    ),
    Case(
        "variant-named-as-a-pattern",
        with_changes(variants={"direct": {"pattern": "direct"}}),
        ("variants.direct", "a pattern has that name"),
    ),
    Case(
        "variant-with-unknown-variable",
        with_changes(patterns=["v"], variants={"v": {"pattern": "direct", "variables": {"x": 1}}}),
        ("variants.v.variables", "unknown variable 'x'"),
    ),
    Case(
        "variant-not-defined",
        with_changes(patterns=["direct", "fast"], variants={"slow": {"pattern": "direct"}}),
        ("patterns", "unknown pattern 'fast'", "slow"),
    ),
    Case(
        "pattern-variable-the-harness-sets",
        with_changes(pattern_variables={"direct": {"run_id": "mine"}}),
        ("pattern_variables.direct", "'run_id' is set by cdcbench"),
    ),
    Case(
        "pattern-variable-of-a-wrong-element-type",
        with_changes(pattern_variables={"dms_msk_lambda": {"subnet_ids": [1, ["a"]]}}),
        ("pattern_variables.dms_msk_lambda", "subnet_ids[1]: expected string"),
    ),
    Case("too-long-name", with_changes(name="a" * 17), ("name",)),
    Case("name-with-underscore", with_changes(name="my_run"), ("name",)),
    Case("rate-too-high", with_changes(load={"duration_s": 1, "rate_per_s": 2e6}), ("rate_per_s",)),
    Case(
        "zero-users",
        with_changes(load={"duration_s": 1, "rate_per_s": 1, "users": 0}),
        ("load.users",),
    ),
    Case(
        "unknown-shape",
        with_changes(load={"duration_s": 1, "rate_per_s": 1, "shape": {"kind": "wave"}}),
        ("load.shape", "wave"),
    ),
    Case(
        "step-without-step-length",
        with_changes(load={"duration_s": 1, "rate_per_s": 1, "shape": {"kind": "step"}}),
        ("load.shape.step.step_s", "required key is missing"),
    ),
    Case(
        "sine-amplitude-too-big",
        with_changes(
            load={
                "duration_s": 1,
                "rate_per_s": 1,
                "shape": {"kind": "sine", "period_s": 5, "amplitude": 2},
            }
        ),
        ("load.shape.sine.amplitude",),
    ),
    Case(
        "spike-shape-unknown-field",
        with_changes(
            load={
                "duration_s": 1,
                "rate_per_s": 1,
                "shape": {"kind": "spike", "at_s": 1, "length_s": 1, "factor": 2, "height": 3},
            }
        ),
        ("load.shape.spike.height", "unknown key"),
    ),
    Case("bad-replica-identity", with_changes(source={"replica_identity": "index"}), ("source",)),
    Case("bad-key-distribution", with_changes(workload={"keys": "hot"}), ("workload.keys",)),
    Case(
        "schema-change-after-the-load",
        with_changes(schema_change={"at_s": 1, "column": "colour"}),
        ("schema_change.at_s: 1 s is not within the load (load.duration_s: 1 s)",),
    ),
    Case(
        "unknown-fault",
        with_changes(faults=[{"kind": "meteor", "at_s": 0, "duration_s": 1}]),
        (
            "faults.0.kind: unknown kind 'meteor'",
            "known: dms_task_stop, dms_instance_reboot, lambda_throttle",
        ),
    ),
    Case(
        "fault-after-the-load",
        with_changes(faults=[{"kind": "dms_task_stop", "at_s": 1, "duration_s": 1}]),
        ("faults.0.at_s: 1 s is not within the load (load.duration_s: 1 s)",),
    ),
    Case(
        "fault-of-no-duration",
        with_changes(faults=[{"kind": "dms_task_stop", "at_s": 0, "duration_s": 0}]),
        ("faults.0.duration_s",),
    ),
    Case(
        "schema-change-of-an-existing-column",
        with_changes(schema_change={"at_s": 0, "table": "orders", "column": "status"}),
        ("schema_change: orders already has a column 'status'",),
    ),
    Case(
        "schema-change-of-an-unsupported-type",
        with_changes(schema_change={"at_s": 0, "column": "colour", "sql_type": "money"}),
        ("schema_change.sql_type", "unsupported type 'money'", "supported: text, integer"),
    ),
    Case(
        "schema-change-column-not-an-identifier",
        with_changes(schema_change={"at_s": 0, "column": "colour; DROP TABLE widgets"}),
        ("schema_change.column",),
    ),
    Case(
        "schema-change-of-an-unknown-table",
        with_changes(schema_change={"at_s": 0, "table": "gadgets", "column": "colour"}),
        ("schema_change.table",),
    ),
    Case(
        "many-mistakes",
        with_changes(name="X", load={"duration_s": -1, "rate_per_s": 0}),
        ("name", "load.duration_s", "load.rate_per_s"),
    ),
]


@dataclass(frozen=True)
class Outcome:
    path: Path
    reports_dir: Path
    returncode: int
    stdout: str
    stderr: str


def _run(case: Case, workdir: Path) -> Outcome:
    path = workdir / f"{case.id}.yaml"
    if case.content is not None:
        path.write_text(case.content, encoding="utf-8")
    reports_dir = workdir / "reports"
    command = [sys.executable, "-m", "harness", "run", str(path), "--reports-dir", str(reports_dir)]
    proc = subprocess.run(
        [*command, *case.args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Outcome(path, reports_dir, proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    workdirs = {case.id: tmp_path_factory.mktemp(case.id) for case in CASES}
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {case.id: pool.submit(_run, case, workdirs[case.id]) for case in CASES}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_scenario_gives_one_error_line_and_exit_2(
    case: Case, outcomes: dict[str, Outcome]
) -> None:
    outcome = outcomes[case.id]
    lines = outcome.stderr.splitlines()

    assert outcome.returncode == 2, outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert len(lines) == 1, outcome.stderr
    line = lines[0]
    assert line.startswith("cdcbench: error: ")
    assert line.removeprefix("cdcbench: error: ").strip()
    for mention in case.mentions:
        assert mention.replace("{path}", str(outcome.path)) in line


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_scenario_fails_before_anything_starts(
    case: Case, outcomes: dict[str, Outcome]
) -> None:
    outcome = outcomes[case.id]

    assert not outcome.reports_dir.exists()
    assert outcome.stdout == ""


def test_smoke_scenario_validates() -> None:
    scenario = load_scenario(REPO / "scenarios" / "smoke.yaml")

    assert scenario.name == "smoke"
    assert scenario.patterns == ["direct"]
    assert scenario.load.duration_s == 30
    assert scenario.load.rate_per_s == 40
    assert scenario.workload.mix == {"insert": 40, "update": 40, "delete": 5, "order": 15}
    assert scenario.load.rate_per_user == 10
    assert scenario.workload.abort_ratio == pytest.approx(0.02)


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_validates(path: Path) -> None:
    assert load_scenario(path).name == path.stem


def test_the_schema_change_scenario_adds_a_column_halfway_under_every_pattern() -> None:
    scenario = load_scenario(REPO / "scenarios" / "schema-change.yaml")

    assert set(scenario.patterns) == set(patterns())
    assert scenario.schema_change is not None
    assert scenario.schema_change.at_s == scenario.load.duration_s / 2


def test_the_fault_matrix_runs_every_pattern_under_every_kind() -> None:
    scenario = load_scenario(REPO / "scenarios" / "faults.yaml")

    assert set(scenario.patterns) == set(patterns())
    assert sorted(f.kind for f in scenario.faults) == sorted(KINDS)


def test_patterns_argument_replaces_the_files_list(tmp_path: Path) -> None:
    # The file's own list is invalid: only a real replacement lets it validate.
    path = tmp_path / "s.yaml"
    path.write_text(with_changes(patterns=["nosuch", "other"]), encoding="utf-8")

    scenario = load_scenario(path, ["direct"])

    assert scenario.patterns == ["direct"]


def test_no_patterns_argument_keeps_the_files_list(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(with_changes(patterns=["nosuch"]), encoding="utf-8")

    with pytest.raises(UserError, match="nosuch"):
        load_scenario(path, None)


def test_unknown_pattern_in_argument_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(with_changes(), encoding="utf-8")

    with pytest.raises(UserError, match="unknown pattern 'nosuch'"):
        load_scenario(path, ["nosuch"])


@pytest.mark.parametrize("case", IN_PROCESS_CASES, ids=[c.id for c in IN_PROCESS_CASES])
def test_bad_scenario_is_a_one_line_user_error(case: Case, tmp_path: Path) -> None:
    path = tmp_path / f"{case.id}.yaml"
    assert case.content is not None
    path.write_text(case.content, encoding="utf-8")

    with pytest.raises(UserError) as raised:
        load_scenario(path)

    message = str(raised.value)
    assert message.strip()
    assert "\n" not in message
    for mention in case.mentions:
        assert mention.replace("{path}", str(path)) in message


def test_variants_run_their_pattern_with_the_patterns_then_their_own_variables(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        with_changes(
            patterns=["direct", "encrypted"],
            variants={"encrypted": {"pattern": "direct", "variables": {"kms_key_arn": "k2"}}},
            pattern_variables={"direct": {"name_prefix": "p", "kms_key_arn": "k1"}},
        )
    )

    entries = load_scenario(path).entries()

    assert [(e.name, e.pattern, e.variables) for e in entries] == [
        ("direct", "direct", {"name_prefix": "p", "kms_key_arn": "k1"}),
        ("encrypted", "direct", {"name_prefix": "p", "kms_key_arn": "k2"}),
    ]
