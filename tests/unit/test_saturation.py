"""Saturation: each signal gives its reason; on an emulated target any marks lag emulator-bound."""

from harness.check.lag import LagReport, LagWindow, Percentiles
from harness.check.protocol import Convergence
from harness.check.saturation import assess
from harness.load.locust_runner import LoadStats
from harness.report.results import ProjectionResult


def load(offered: float, committed: float) -> LoadStats:
    return LoadStats(
        duration_s=30,
        offered_per_s=offered,
        requests=1,
        failures=0,
        transactions=1,
        committed=1,
        aborted=0,
        committed_per_s=committed,
        max_ack_delay_ms=1,
    )


def windows(*p50s: float) -> list[LagWindow]:
    return [LagWindow(start_s=i, count=10, p50=v, p99=v, max=v) for i, v in enumerate(p50s)]


def measured(over_time: list[LagWindow], converge_s: float, floor_ms: float) -> ProjectionResult:
    """A projection's result with just what saturation reads."""
    lag = LagReport(
        from_commit_ms=Percentiles(count=0),
        from_intent_ms=Percentiles(count=0),
        over_time=over_time,
        seen=0,
        unseen=0,
        superseded=0,
    )
    return ProjectionResult(
        kind="state",
        observer="dynamodb_stream",
        floor_ms=floor_ms,
        observed=0,
        lag=lag,
        convergence=Convergence(converged=True, seconds=converge_s),
    )


def steady(converge_s: float = 0.1, floor_ms: float = 0.0) -> ProjectionResult:
    return measured(windows(*[20.0] * 9), converge_s, floor_ms)


def test_a_run_within_its_means_is_not_bound() -> None:
    verdict = assess(load(40, 40.5), {"moto": 0.5, "harness": 0.2}, {"rm": steady()}, True)

    assert verdict.emulator_bound is False
    assert verdict.reasons == []
    assert verdict.busy == {"moto": 0.5, "harness": 0.2}


def test_a_busy_emulator_process_bounds_the_lag() -> None:
    verdict = assess(load(40, 40), {"moto": 0.93, "harness": 0.84}, {"rm": steady()}, True)

    assert verdict.emulator_bound is True
    assert verdict.reasons == ["moto busy 93% of a core during load"]


def test_load_falling_short_is_a_reason() -> None:
    verdict = assess(load(400, 310), {}, {"rm": steady()}, True)

    assert verdict.reasons == ["load fell short: 310 changes/s committed of 400/s offered"]
    assert verdict.emulator_bound is True


def test_a_growing_backlog_is_a_reason() -> None:
    growing = measured(windows(20, 25, 30, 200, 800, 1500, 2500, 4000, 6000), 1, 0)
    noisy = measured(windows(20, 25, 30, 45, 20, 60, 30, 35, 50), 1, 0)

    verdict = assess(load(40, 40), {}, {"grows": growing, "noisy": noisy}, True)

    assert verdict.reasons == ["grows: lag grew through the run (p50 25 ms early, 4000 ms late)"]


def test_catching_up_long_after_the_load_is_a_reason_beyond_the_floor() -> None:
    projections = {"slow": steady(converge_s=12), "batched": steady(converge_s=12, floor_ms=60_000)}

    verdict = assess(load(40, 40), {}, projections, True)

    assert verdict.reasons == ["slow: 12.0 s to catch up after the load ended (floor 0.0 s)"]


def test_a_projection_that_settled_wrong_is_not_catching_up() -> None:
    settled = steady().model_copy(
        update={"convergence": Convergence(converged=False, settled=True, seconds=12)}
    )
    still_changing = steady().model_copy(
        update={"convergence": Convergence(converged=False, settled=False, seconds=12)}
    )

    verdict = assess(load(40, 40), {}, {"wrong": settled, "late": still_changing}, True)

    assert verdict.reasons == ["late: 12.0 s to catch up after the load ended (floor 0.0 s)"]


def test_on_aws_the_signals_are_the_patterns_own() -> None:
    verdict = assess(load(400, 100), {}, {"rm": steady()}, emulated=False)

    assert verdict.emulator_bound is False
    assert verdict.reasons == ["load fell short: 100 changes/s committed of 400/s offered"]
