"""results.json against its JSON Schema: the schema in the package is the models', every
write and read is checked, and a reader refuses a newer major version in one line."""

import json
from pathlib import Path

import pytest

from harness.check.lag import LagReport, Percentiles
from harness.check.result import CheckResult
from harness.errors import UserError
from harness.report.results import (
    SCHEMA_MAJOR,
    SCHEMA_VERSION,
    PatternResult,
    ProjectionResult,
    Results,
    read_results,
)
from harness.report.results_schema import SCHEMA_FILE, generate, major, schema_problem


def _results() -> Results:
    lag = LagReport(
        from_commit_ms=Percentiles(count=2, p50=1.0, p90=2.0, p99=2.0, p999=2.0, max=2.0),
        from_intent_ms=Percentiles(count=2, p50=1.0, p90=2.0, p99=2.0, p999=2.0, max=2.0),
        over_time=[],
        seen=2,
        unseen=0,
        superseded=0,
        skipped=1,
    )
    projection = ProjectionResult(
        kind="state",
        observer="postgres_replica",
        floor_ms=500.0,
        observed=2,
        lag=lag,
        check=CheckResult(valid=True),
    )
    pattern = PatternResult(summary="s", status="completed", projections={"replica": projection})
    return Results(run_id="r", started_at="t", scenario={}, patterns={"p": pattern})


def test_the_schema_in_the_package_is_generated_from_the_models() -> None:
    committed = json.loads(SCHEMA_FILE.read_text())
    assert committed == generate(), "run: python -m harness.report.results_schema"
    assert committed["$id"].endswith(SCHEMA_VERSION)


def test_a_written_results_file_conforms_and_reads_back(tmp_path: Path) -> None:
    path = _results().write(tmp_path)

    data = json.loads(path.read_text())
    assert schema_problem(data) is None and data["schema_version"] == SCHEMA_VERSION
    assert read_results(tmp_path) == _results()
    assert not list(tmp_path.glob("*.partial"))


def test_results_that_break_the_schema_are_not_written(tmp_path: Path) -> None:
    broken = _results()
    broken.patterns["p"].projections["replica"].floor_ms = "soon"  # type: ignore[assignment]

    with pytest.raises(ValueError, match=r"patterns\.p\.projections\.replica\.floor_ms"):
        broken.write(tmp_path)
    assert not (tmp_path / "results.json").exists()


def _stored(tmp_path: Path, edit: dict[str, object]) -> Path:
    data = _results().model_dump(mode="json")
    data.update(edit)
    (tmp_path / "results.json").write_text(json.dumps(data))
    return tmp_path


def test_a_file_that_breaks_the_schema_is_refused_in_one_line(tmp_path: Path) -> None:
    run_dir = _stored(tmp_path, {"patterns": {"p": {"summary": "s", "status": "exploded"}}})

    with pytest.raises(UserError) as caught:
        read_results(run_dir)
    message = str(caught.value)
    assert "\n" not in message and "patterns.p.status" in message and "exploded" in message


def test_a_newer_minor_is_read_and_a_newer_major_refused(tmp_path: Path) -> None:
    newer_minor = f"{SCHEMA_MAJOR}.99"
    assert read_results(_stored(tmp_path, {"schema_version": newer_minor, "new": 1})).run_id == "r"

    newer_major = f"{SCHEMA_MAJOR + 1}.0"
    with pytest.raises(UserError, match="newer than this cdcbench reads"):
        read_results(_stored(tmp_path, {"schema_version": newer_major}))


def test_results_of_an_integer_version_are_read_as_they_are(tmp_path: Path) -> None:
    results = read_results(_stored(tmp_path, {"schema_version": 2}))

    assert (results.schema_version, results.major) == ("2.0", 2)


@pytest.mark.parametrize(("version", "expected"), [(2, 2), ("3.1", 3), ("x", None), (True, None)])
def test_major_versions(version: object, expected: int | None) -> None:
    assert major(version) == expected
