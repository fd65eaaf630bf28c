"""`cdcbench compare`: runs against the first, like with like, regressions flagged with exit
code 1, and what cannot be compared said (one line and exit code 2 when nothing can)."""

from pathlib import Path
from typing import Any

import pytest

from harness.check.lag import LagReport, Percentiles
from harness.check.protocol import Convergence
from harness.check.result import CheckResult
from harness.errors import UserError
from harness.report.compare import compare_runs
from harness.report.results import PatternResult, ProjectionResult, Results
from tests.helpers import run_cli

SCENARIO = {"name": "s", "load": {"duration_s": 20, "rate_per_s": 20}, "workload": {"mix": {}}}


def _projection(p99: float, anomalies: int = 0, converged: bool = True) -> ProjectionResult:
    figures = Percentiles(count=100, p50=p99 / 2, p90=p99, p99=p99, p999=p99, max=p99 * 2)
    counts = {"missing": anomalies} if anomalies else {}
    return ProjectionResult(
        kind="state",
        observer="dynamodb_items",
        floor_ms=0.0,
        observed=100,
        lag=LagReport(
            from_commit_ms=figures,
            from_intent_ms=figures,
            over_time=[],
            seen=100,
            unseen=0,
            superseded=0,
        ),
        convergence=Convergence(converged=converged, seconds=1.0),
        check=CheckResult(valid=not anomalies, counts=counts),
    )


def _run(
    root: Path, run_id: str, p99: float, scenario: dict[str, Any] = SCENARIO, **kw: Any
) -> Path:
    pattern = PatternResult(
        summary="p", status="completed", projections={"table": _projection(p99, **kw)}
    )
    results = Results(run_id=run_id, started_at="t", scenario=scenario, patterns={"p": pattern})
    run_dir = root / run_id
    run_dir.mkdir()
    results.write(run_dir)
    return run_dir


def test_a_p99_beyond_the_threshold_is_a_regression_with_exit_1(tmp_path: Path) -> None:
    base, same, worse = (_run(tmp_path, r, p) for r, p in (("a", 100), ("b", 110), ("c", 200)))

    proc = run_cli("compare", str(base), str(same), str(worse), "--out", str(tmp_path / "c.html"))

    assert proc.returncode == 1, proc.stderr
    [regression] = [line for line in proc.stdout.splitlines() if line.startswith("REGRESSION")]
    assert regression == "REGRESSION p/table in c: p99 lag 200.0 ms against 100.0 ms (+100%)"
    page = (tmp_path / "c.html").read_text()
    assert "1 regressions" in page and all(f">{r}" in page for r in ("a (baseline)", "b", "c"))


def test_within_the_threshold_or_the_noise_floor_is_no_regression(tmp_path: Path) -> None:
    base, noisy = _run(tmp_path, "a", 2.0), _run(tmp_path, "b", 6.0)  # +200%, but 4 ms

    assert compare_runs([base, noisy]).regressions == []
    assert compare_runs([base, noisy], min_delta_ms=1.0).regressions != []
    proc = run_cli("compare", str(base), str(noisy), "--out", str(tmp_path / "c.html"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_more_anomalies_a_lost_verdict_or_convergence_regress(tmp_path: Path) -> None:
    base = _run(tmp_path, "a", 100)
    broken = _run(tmp_path, "b", 100, anomalies=3, converged=False)

    [row] = compare_runs([base, broken]).rows
    assert row.cells[1].regressions == [
        "3 anomalies against 0",
        "verdict False against valid",
        "did not converge",
    ]


def test_runs_of_another_load_are_said_not_comparable(tmp_path: Path) -> None:
    other = {**SCENARIO, "load": {"duration_s": 20, "rate_per_s": 200}}
    base, same, faster = (
        _run(tmp_path, "a", 100),
        _run(tmp_path, "b", 100),
        _run(tmp_path, "c", 900, other),
    )

    comparison = compare_runs([base, same, faster])

    assert comparison.regressions == []
    assert comparison.not_comparable == ["p in c: its scenario's load differs from the baseline's"]
    with pytest.raises(UserError, match="nothing in these runs is comparable with a: p in c"):
        compare_runs([base, faster])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["only"], "at least two run directories"),
        (["only", "missing"], "is not a run directory"),
        (["only", "only", "--threshold", "-1"], "is not a fraction"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], says: str) -> None:
    _run(tmp_path, "only", 100)

    proc = run_cli("compare", *(str(tmp_path / a) if a in ("only", "missing") else a for a in args))

    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith("cdcbench: error: ") and says in line, line
