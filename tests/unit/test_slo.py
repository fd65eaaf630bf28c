"""Service-level objectives: the scenario's `slo:` section, the objectives it makes, their
verdicts on hand-built results, and the pytest plugin that turns them into test items (in
pytest subprocesses whose `harness.pipeline.run` is replaced by a fake: no run starts)."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.check.lag import LagReport, Percentiles
from harness.check.protocol import Convergence
from harness.check.result import CheckResult
from harness.cost.estimate import Assumptions, CostEstimate
from harness.errors import UserError
from harness.pytest_plugin import REPORT_PROPERTY, RESULTS_PROPERTY, VERDICT_PROPERTY
from harness.report.results import PatternResult, ProjectionResult, Results
from harness.scenario import Scenario, load_scenario
from harness.slo import Objective, judge, objectives

BASE: dict[str, Any] = {
    "name": "unit",
    "patterns": ["direct"],
    "load": {"duration_s": 1, "rate_per_s": 1},
}
SLO: dict[str, Any] = {
    "direct": {
        "cost_usd_per_month": 50,
        "projections": {"read_model": {"lag_p99_ms": 500, "anomalies": 0, "convergence_s": 60}},
    }
}


def scenario_file(tmp_path: Path, slo: Any, **changes: Any) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump({**BASE, **changes, "slo": slo}))
    return path


def load_error(tmp_path: Path, slo: Any, **changes: Any) -> str:
    with pytest.raises(UserError) as caught:
        load_scenario(scenario_file(tmp_path, slo, **changes))
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- the scenario's section ---


def test_a_scenario_without_objectives_has_none() -> None:
    scenario = Scenario.model_validate(BASE)
    assert scenario.slo == {}
    assert objectives(scenario) == []


@pytest.mark.parametrize(
    ("slo", "mentions"),
    [
        (
            {"direct": {"projections": {"read_model": {"lag_p95_ms": 5}}}},
            "slo.direct.projections.read_model.lag_p95_ms: unknown key",
        ),
        ({"direct": {"cost": 5}}, "slo.direct.cost: unknown key"),
        (
            {"indirect": {"cost_usd_per_month": 5}},
            "slo.indirect: not a pattern this scenario runs (it runs: direct)",
        ),
        (
            {"direct": {"projections": {"events": {"anomalies": 0}}}},
            "slo.direct.projections: direct has no projection 'events' "
            "(its projections: read_model)",
        ),
        (
            {"direct": {"projections": {"read_model": {"lag_p99_ms": -1}}}},
            "slo.direct.projections.read_model.lag_p99_ms: Input should be greater than or "
            "equal to 0",
        ),
        (
            {"direct": {"projections": {"read_model": {"anomalies": -1}}}},
            "slo.direct.projections.read_model.anomalies: Input should be greater than or "
            "equal to 0",
        ),
        (
            {"direct": {"projections": {"read_model": {"convergence_s": -0.5}}}},
            "slo.direct.projections.read_model.convergence_s: Input should be greater than or "
            "equal to 0",
        ),
        (
            {"direct": {"cost_usd_per_month": -1}},
            "slo.direct.cost_usd_per_month: Input should be greater than or equal to 0",
        ),
        (
            {"direct": {"projections": {"read_model": {"anomalies": 0.5}}}},
            "slo.direct.projections.read_model.anomalies: Input should be a valid integer",
        ),
        ({"direct": [500]}, "slo.direct: Input should be a valid dictionary"),
    ],
    ids=[
        "unknown-objective",
        "unknown-pattern-key",
        "pattern-not-run",
        "unknown-projection",
        "negative-lag",
        "negative-anomalies",
        "negative-convergence",
        "negative-cost",
        "fractional-anomalies",
        "not-a-mapping",
    ],
)
def test_a_bad_section_is_one_line_naming_the_key(
    tmp_path: Path, slo: dict[str, Any], mentions: str
) -> None:
    message = load_error(tmp_path, slo)
    assert message.startswith(f"{tmp_path / 'scenario.yaml'}: ")
    assert mentions in message


def test_a_pattern_the_scenario_leaves_out_has_no_objectives(tmp_path: Path) -> None:
    """A known pattern the scenario does not run is an error too: its objectives could
    never be judged."""
    message = load_error(tmp_path, {"poller_dynamodb": {"cost_usd_per_month": 1}})
    assert "slo.poller_dynamodb: not a pattern this scenario runs (it runs: direct)" in message


def test_a_variant_has_the_projections_of_its_pattern(tmp_path: Path) -> None:
    variants = {"outbox": {"pattern": "sqs_lambda_eventstore", "variables": {"emit": "outbox"}}}
    runs = {"patterns": ["direct", "outbox"], "variants": variants}
    scenario = load_scenario(
        scenario_file(tmp_path, {"outbox": {"projections": {"by_type": {"anomalies": 0}}}}, **runs)
    )
    assert objectives(scenario) == [Objective("outbox", "by_type", "anomalies", 0)]
    message = load_error(tmp_path, {"outbox": {"projections": {"read_model": {}}}}, **runs)
    assert "slo.outbox.projections: outbox has no projection 'read_model'" in message
    assert "(its projections: events, by_type, by_source)" in message


def test_objectives_follow_the_section_in_order() -> None:
    scenario = Scenario.model_validate({**BASE, "slo": SLO})
    found = objectives(scenario)
    assert found == [
        Objective("direct", None, "cost_usd_per_month", 50),
        Objective("direct", "read_model", "lag_p99_ms", 500),
        Objective("direct", "read_model", "anomalies", 0),
        Objective("direct", "read_model", "convergence_s", 60),
    ]
    assert [o.name for o in found] == [
        "direct/cost_usd_per_month<=50",
        "direct/read_model/lag_p99_ms<=500",
        "direct/read_model/anomalies<=0",
        "direct/read_model/convergence_s<=60",
    ]


def test_only_the_objectives_given_are_made() -> None:
    slo = {"direct": {"projections": {"read_model": {"lag_p99_ms": 0.001}}}}
    scenario = Scenario.model_validate({**BASE, "slo": slo})
    (objective,) = objectives(scenario)
    assert objective == Objective("direct", "read_model", "lag_p99_ms", 0.001)
    assert objective.name == "direct/read_model/lag_p99_ms<=0.001"


def test_the_example_scenario_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "scenarios" / "slo-example.yaml"
    scenario = load_scenario(example)
    assert {o.pattern for o in objectives(scenario)} == {"direct"}
    assert {o.what for o in objectives(scenario)} == {
        "cost_usd_per_month",
        "lag_p99_ms",
        "anomalies",
        "convergence_s",
    }


# --- verdicts ---

LAG = Objective("direct", "read_model", "lag_p99_ms", 500)
ANOMALIES = Objective("direct", "read_model", "anomalies", 0)
CONVERGENCE = Objective("direct", "read_model", "convergence_s", 60)
COST = Objective("direct", None, "cost_usd_per_month", 50)
ALL = (LAG, ANOMALIES, CONVERGENCE, COST)


def projection(
    p99: float | None = 120.0,
    counts: dict[str, int] | None = None,
    convergence: Convergence | None = None,
    error: str | None = None,
) -> ProjectionResult:
    count = 0 if p99 is None else 100
    figures = Percentiles(count=count, p50=p99 and p99 / 2, p99=p99, max=p99 and p99 * 2)
    lag = LagReport(
        from_commit_ms=figures, from_intent_ms=figures, over_time=[], seen=100, unseen=0,
        superseded=0,
    )  # fmt: skip
    return ProjectionResult(
        kind="state",
        observer="dynamodb_stream",
        floor_ms=0,
        observed=100,
        lag=lag,
        convergence=convergence or Convergence(converged=True, seconds=4.2),
        check=CheckResult(valid=not counts, counts=counts or {}),
        error=error,
    )


def cost(total: float) -> CostEstimate:
    assumptions = Assumptions(
        hours_per_month=730,
        prices_as_of="2025-01-01",
        region="us-east-1",
        unpriced=[],
        usage_not_given=[],
    )
    return CostEstimate(
        changes_per_s=10.0,
        lines=[],
        fixed_usd_per_month=total,
        per_use_usd_per_month=0.0,
        total_usd_per_month=total,
        assumptions=assumptions,
    )


def results(
    read_model: ProjectionResult | None = None,
    status: str = "completed",
    error: str | None = None,
    monthly: float | None = 12.5,
) -> Results:
    pattern = PatternResult(
        summary="direct",
        pattern="direct",
        status=status,  # type: ignore[arg-type]
        error=error,
        projections={"read_model": read_model or projection()},
        cost=None if monthly is None else cost(monthly),
    )
    return Results(
        run_id="r", started_at="t", scenario={}, status="completed", patterns={"direct": pattern}
    )


def test_a_run_within_every_objective_passes_them_all() -> None:
    run = results()
    assert judge(LAG, run) == (True, "direct/read_model: p99 lag 120.0 ms <= 500 ms")
    assert judge(ANOMALIES, run) == (True, "direct/read_model: 0 anomalies <= 0")
    assert judge(CONVERGENCE, run) == (True, "direct/read_model: converged in 4.2 s <= 60 s")
    assert judge(COST, run) == (True, "direct: cost 12.50 USD/month <= 50 USD/month")


def test_a_limit_is_inclusive() -> None:
    run = results(projection(p99=500.0, convergence=Convergence(converged=True, seconds=60)))
    assert judge(LAG, run)[0] is True
    assert judge(CONVERGENCE, run)[0] is True
    assert judge(COST, results(monthly=50.0))[0] is True


def test_a_slow_projection_fails_its_lag_objective() -> None:
    assert judge(LAG, results(projection(p99=812.34))) == (
        False,
        "direct/read_model: p99 lag 812.3 ms > 500 ms",
    )
    tiny = Objective("direct", "read_model", "lag_p99_ms", 0.001)
    assert judge(tiny, results(projection(p99=0.0421))) == (
        False,
        "direct/read_model: p99 lag 0.0421 ms > 0.001 ms",
    )


def test_no_lag_measured_fails_a_lag_objective() -> None:
    assert judge(LAG, results(projection(p99=None))) == (
        False,
        "direct/read_model: no lag measured",
    )
    unmeasured = projection()
    unmeasured.lag = None
    assert judge(LAG, results(unmeasured)) == (False, "direct/read_model: no lag measured")


def test_anomalies_count_every_class_but_unconverged() -> None:
    counts = {"missing": 2, "stale": 1, "unconverged": 7}
    assert judge(ANOMALIES, results(projection(counts=counts))) == (
        False,
        "direct/read_model: 3 anomalies (missing 2, stale 1) > 0",
    )
    allowed = Objective("direct", "read_model", "anomalies", 3)
    assert judge(allowed, results(projection(counts=counts))) == (
        True,
        "direct/read_model: 3 anomalies (missing 2, stale 1) <= 3",
    )
    assert judge(ANOMALIES, results(projection(counts={"unconverged": 1})))[0] is True


def test_a_projection_that_did_not_converge_fails_its_convergence_objective() -> None:
    slow = projection(convergence=Convergence(converged=True, seconds=75.25))
    assert judge(CONVERGENCE, results(slow)) == (
        False,
        "direct/read_model: converged in 75.2 s > 60 s",
    )
    settled = projection(convergence=Convergence(converged=False, seconds=12, settled=True))
    assert judge(CONVERGENCE, results(settled)) == (
        False,
        "direct/read_model: did not converge (settled after 12.0 s)",
    )
    timed_out = projection(convergence=Convergence(converged=False, seconds=1.5))
    assert judge(CONVERGENCE, results(timed_out)) == (
        False,
        "direct/read_model: did not converge (gave up after 1.5 s)",
    )
    unmeasured = projection()
    unmeasured.convergence = None
    assert judge(CONVERGENCE, results(unmeasured)) == (
        False,
        "direct/read_model: convergence not measured",
    )


def test_an_expensive_pattern_fails_its_cost_objective() -> None:
    assert judge(COST, results(monthly=61.2)) == (
        False,
        "direct: cost 61.20 USD/month > 50 USD/month",
    )
    assert judge(COST, results(monthly=None)) == (False, "direct: no cost estimate")


def test_a_failed_pattern_fails_every_objective_with_its_error() -> None:
    run = results(status="failed", error="UserError: terraform apply failed")
    for objective in ALL:
        assert judge(objective, run) == (
            False,
            "direct: failed: UserError: terraform apply failed",
        )
    interrupted = results(status="interrupted")
    assert judge(LAG, interrupted) == (False, "direct: interrupted")


def test_a_pattern_that_did_not_run_fails_every_objective() -> None:
    run = Results(run_id="r", started_at="t", scenario={}, status="failed", error="no terraform")
    for objective in ALL:
        assert judge(objective, run) == (False, "direct: did not run (run failed: no terraform)")
    assert judge(LAG, Results(run_id="r", started_at="t", scenario={})) == (
        False,
        "direct: did not run",
    )


def test_a_projection_not_measured_or_whose_observer_failed_fails() -> None:
    broken = projection(error="observer failed: ResourceNotFoundException")
    assert judge(ANOMALIES, results(broken)) == (
        False,
        "direct/read_model: observer failed: ResourceNotFoundException",
    )
    run = results()
    run.patterns["direct"].projections.clear()
    assert judge(LAG, run) == (False, "direct/read_model: not measured")


# --- the pytest plugin, in subprocesses (no scenario runs: `pipeline.run` is a fake) ---

FAKE_RUN = """
import os
from pathlib import Path


def fake_run(scenario, target, settings):
    from harness import pipeline
    from harness.errors import UserError
    from harness.report.results import Results

    calls = Path(os.environ["FAKE_CALLS"])
    calls.write_text((calls.read_text() if calls.exists() else "") + "run\\n")
    how = os.environ["FAKE_HOW"]
    if how == "user-error":
        raise UserError("terraform is not installed")
    run_dir = settings.reports_dir.resolve() / f"20260101-000000-{scenario.name}-beef"
    run_dir.mkdir(parents=True)
    results = Results.model_validate_json(Path(os.environ["FAKE_RESULTS"]).read_text())
    results.pid, results.finished_at = os.getpid(), "2026-01-01T00:00:10+00:00"
    results.write(run_dir)
    (run_dir / "index.html").write_text("<html></html>")
    if how == "crash":
        raise RuntimeError("boom")
    if how == "stopped":
        import pytest

        pytest.fail("Timeout >1.0s")
    return pipeline.RunOutcome(run_dir, results)


def pytest_runtestloop(session):
    \"\"\"Only sessions that run items import the pipeline, to replace its `run`.\"\"\"
    from harness import pipeline

    pipeline.run = fake_run
"""


def pytest_session(tmp_path: Path, *args: str, how: str = "ok", slo: Any = None) -> dict[str, Any]:
    """`pytest ARGS` on an empty test dir with the fake run, the scenario of `slo`, and a
    JUnit file: its exit code, output, JUnit test cases and how often the run was started."""
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "conftest.py").write_text(FAKE_RUN)
    run = results(projection(p99=812.34), monthly=12.5)
    if how == "crash":
        run.status = run.patterns["direct"].status = "failed"
        run.patterns["direct"].error = run.error = "RuntimeError: boom"
    (tmp_path / "results.json").write_text(run.model_dump_json())
    scenario = scenario_file(tmp_path, SLO if slo is None else slo)
    junit = tmp_path / "junit.xml"
    calls = tmp_path / "calls"
    env = {
        **os.environ,
        "FAKE_HOW": how,
        "FAKE_RESULTS": str(tmp_path / "results.json"),
        "FAKE_CALLS": str(calls),
    }
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"]
    if slo is not False:
        command += ["--cdcbench-scenario", str(scenario)]
    command += ["--cdcbench-reports-dir", str(tmp_path / "reports"), "--junitxml", str(junit)]
    done = subprocess.run(
        [*command, *args, str(tests)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    cases = {}
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            failure = case.find("failure")
            cases[case.get("name")] = {
                "failure": None if failure is None else failure.get("message"),
                "properties": {p.get("name"): p.get("value") for p in case.iter("property")},
            }
    return {
        "code": done.returncode,
        "out": done.stdout,
        "err": done.stderr,
        "cases": cases,
        "runs": calls.read_text().count("run") if calls.exists() else 0,
        "run_dir": tmp_path / "reports" / "20260101-000000-unit-beef",
    }


SESSIONS: dict[str, dict[str, Any]] = {
    "ok": {},
    "selected": {"args": ("-k", "lag or cost")},
    "deselected": {"args": ("-m", "not e2e")},
    "user-error": {"how": "user-error"},
    "crash": {"how": "crash"},
    "stopped": {"how": "stopped"},
    "bad-scenario": {"slo": {"direct": {"latency": 5}}},
    "no-objectives": {"slo": {}},
    "no-option": {"slo": False},
}
"""Started together (each costs ~1 s of imports); each test reads its own."""


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    def start(name: str) -> dict[str, Any]:
        spec = SESSIONS[name]
        tmp = tmp_path_factory.mktemp(name)
        extra = {k: v for k, v in spec.items() if k != "args"}
        return pytest_session(tmp, *spec.get("args", ()), **extra)

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(SESSIONS, pool.map(start, SESSIONS), strict=True))


def test_plugin_makes_an_item_per_objective_judged_on_one_run(
    sessions: dict[str, dict[str, Any]],
) -> None:
    session = sessions["ok"]
    assert session["code"] == 1, session["out"] + session["err"]
    assert session["runs"] == 1
    cases = session["cases"]
    assert list(cases) == [
        "slo[direct/cost_usd_per_month<=50]",
        "slo[direct/read_model/lag_p99_ms<=500]",
        "slo[direct/read_model/anomalies<=0]",
        "slo[direct/read_model/convergence_s<=60]",
    ]
    failed = {name: case["failure"] for name, case in cases.items() if case["failure"]}
    assert failed == {
        "slo[direct/read_model/lag_p99_ms<=500]": "direct/read_model: p99 lag 812.3 ms > 500 ms"
    }
    report = session["run_dir"] / "index.html"
    for case in cases.values():
        properties = case["properties"]
        assert properties[REPORT_PROPERTY] == str(report)
        assert properties[RESULTS_PROPERTY] == str(session["run_dir"] / "results.json")
    assert cases["slo[direct/read_model/anomalies<=0]"]["properties"][VERDICT_PROPERTY] == (
        "direct/read_model: 0 anomalies <= 0"
    )
    assert f"cdcbench report: {report}" in session["out"].splitlines()
    assert "1 failed, 3 passed" in session["out"].splitlines()[-1]
    assert "Traceback" not in session["out"]


def test_plugin_items_are_selected_by_keyword_and_marker(
    sessions: dict[str, dict[str, Any]],
) -> None:
    selected = sessions["selected"]
    assert selected["code"] == 1
    assert list(selected["cases"]) == [
        "slo[direct/cost_usd_per_month<=50]",
        "slo[direct/read_model/lag_p99_ms<=500]",
    ]
    deselected = sessions["deselected"]
    assert deselected["code"] == 5, deselected["out"]  # no tests ran
    assert deselected["cases"] == {}
    assert deselected["runs"] == 0 and not deselected["run_dir"].exists()
    assert "cdcbench report" not in deselected["out"]


def test_a_run_that_cannot_start_fails_every_item_with_its_line(
    sessions: dict[str, dict[str, Any]],
) -> None:
    session = sessions["user-error"]
    assert session["code"] == 1
    assert session["runs"] == 1
    assert len(session["cases"]) == 4
    for case in session["cases"].values():
        assert case["failure"] == "terraform is not installed"
        assert REPORT_PROPERTY not in case["properties"]
    assert "cdcbench report" not in session["out"]
    assert "Traceback" not in session["out"]


def test_a_run_that_crashed_is_judged_by_the_results_it_wrote(
    sessions: dict[str, dict[str, Any]],
) -> None:
    session = sessions["crash"]
    assert session["code"] == 1
    assert session["runs"] == 1
    for case in session["cases"].values():
        assert case["failure"] == "direct: failed: RuntimeError: boom"
        assert case["properties"][REPORT_PROPERTY] == str(session["run_dir"] / "index.html")
    assert "cdcbench internal error" in session["out"]
    assert 'raise RuntimeError("boom")' in session["out"]  # its traceback, once, at the end
    assert f"cdcbench report: {session['run_dir'] / 'index.html'}" in session["out"]


def test_a_run_stopped_by_pytest_fails_its_item_and_the_others_say_why(
    sessions: dict[str, dict[str, Any]],
) -> None:
    """pytest-timeout's limit (a `Failed` raised inside the run) ends the run: the item that
    ran it fails with it, the others with one line, and each has the report written."""
    session = sessions["stopped"]
    assert session["code"] == 1
    assert session["runs"] == 1
    first, *others = session["cases"].values()
    assert first["failure"] == "Failed: Timeout >1.0s"
    assert [case["failure"] for case in others] == ["the run was stopped: Timeout >1.0s"] * 3
    for case in session["cases"].values():
        assert case["properties"][REPORT_PROPERTY] == str(session["run_dir"] / "index.html")


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("bad-scenario", "slo.direct.latency: unknown key"),
        ("no-objectives", "no objectives to check: add an `slo:` section"),
    ],
)
def test_a_bad_scenario_is_a_usage_error_of_one_line(
    sessions: dict[str, dict[str, Any]], name: str, line: str
) -> None:
    session = sessions[name]
    assert session["code"] == 4  # pytest's usage error
    (error,) = [text for text in session["err"].splitlines() if text.strip()]
    assert error.startswith("ERROR: --cdcbench-scenario: ")
    assert line in error
    assert session["runs"] == 0


def test_without_the_option_the_plugin_adds_nothing(sessions: dict[str, dict[str, Any]]) -> None:
    session = sessions["no-option"]
    assert session["code"] == 5, session["out"] + session["err"]  # no tests collected
    assert session["cases"] == {}
    assert session["runs"] == 0 and not session["run_dir"].exists()
    assert "cdcbench" not in session["out"]
