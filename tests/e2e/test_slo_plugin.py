"""The pytest plugin as CI uses it: `pytest --cdcbench-scenario FILE --junitxml ...` runs the
scenario (the `direct` pattern on the local target) once and reports each objective of its
`slo:` section as a test case, one of them failing on purpose."""

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from harness.pytest_plugin import REPORT_PROPERTY, RESULTS_PROPERTY
from tests.helpers import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

SCENARIO = {
    "name": "slo-e2e",
    "patterns": ["direct"],
    "load": {"duration_s": 10, "rate_per_s": 10},
    "workload": {
        "mix": {"insert": 40, "update": 40, "delete": 5, "order": 15},
        "abort_ratio": 0.02,
    },
    "check": {"converge_timeout_s": 60},
    "slo": {
        "direct": {
            "projections": {
                "read_model": {"lag_p99_ms": 0.001, "anomalies": 0, "convergence_s": 120}
            }
        }
    },
}
LAG = "slo[direct/read_model/lag_p99_ms<=0.001]"


def test_objectives_are_test_cases_of_one_run(tmp_path: Path) -> None:
    scenario = tmp_path / "slo.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO))
    tests = tmp_path / "tests"  # no tests of its own: only the scenario's objectives
    tests.mkdir()
    reports, junit = tmp_path / "reports", tmp_path / "junit.xml"
    plugin = ["--cdcbench-scenario", str(scenario), "--cdcbench-reports-dir", str(reports)]
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugin]
    done = subprocess.run(
        [*command, "--junitxml", str(junit), "-q", str(tests)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output

    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    assert set(cases) == {
        LAG,
        "slo[direct/read_model/anomalies<=0]",
        "slo[direct/read_model/convergence_s<=120]",
    }, output
    failed = {name for name, case in cases.items() if case.find("failure") is not None}
    assert failed == {LAG}, output
    message = cases[LAG].find("failure").get("message")  # type: ignore[union-attr]
    assert message.startswith("direct/read_model: p99 lag "), message
    assert message.endswith(" ms > 0.001 ms"), message

    run_dir = (reports / "latest").resolve()
    report = run_dir / "index.html"
    assert report.is_file()
    for case in cases.values():
        properties = {p.get("name"): p.get("value") for p in case.iter("property")}
        assert properties[REPORT_PROPERTY] == str(report)
        assert properties[RESULTS_PROPERTY] == str(run_dir / "results.json")
    assert f"cdcbench report: {report}" in done.stdout.splitlines()
