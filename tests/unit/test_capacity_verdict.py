"""A capacity step's verdict: sustained when no saturation signal fires (lag windows that
were an observer's are noted, not a signal); otherwise bound by the first of the emulator,
the local engines, the host, the load, the observer, the pattern."""

from harness.capacity.verdict import HOST, LOAD_DRIVER, judge
from harness.report.results import ProjectionResult
from tests.unit.test_saturation import load, measured, steady, windows


def test_a_step_within_every_means_is_sustained() -> None:
    bound, reasons = judge(
        load(100, 101), {"moto": 0.5, HOST: 0.6, LOAD_DRIVER: 0.3}, {"rm": steady()}, True, 1
    )

    assert (bound, reasons) == (None, [])


def test_a_saturated_server_is_the_emulator() -> None:
    bound, reasons = judge(load(100, 100), {"moto": 0.95}, {"rm": steady()}, True, 1)

    assert bound == "emulator"
    assert reasons == ["moto busy 95% of a core during load"]


def test_a_saturated_harness_process_is_the_local_engines() -> None:
    bound, _ = judge(load(100, 100), {"harness": 0.9, "moto": 0.5}, {"rm": steady()}, True, 1)

    assert bound == "local engines"


def test_a_short_load_on_a_busy_host_is_the_host() -> None:
    bound, reasons = judge(load(200, 150), {HOST: 0.95}, {"rm": steady()}, True, 1)

    assert bound == "host CPU"
    assert reasons[-1] == "host CPU busy 95% of all cores"


def test_a_short_load_is_the_driver_when_locust_is_busy_else_the_source() -> None:
    driver, _ = judge(load(400, 300), {LOAD_DRIVER: 1.7}, {"rm": steady()}, True, 2)
    source, _ = judge(load(400, 300), {LOAD_DRIVER: 0.4}, {"rm": steady()}, True, 2)

    assert (driver, source) == ("load driver", "source")


def test_a_growing_backlog_with_nothing_saturated_is_the_pattern() -> None:
    growing = measured(windows(*[100.0 * 2**i for i in range(9)]), 0.1, 0.0)

    bound, reasons = judge(load(100, 100), {"moto": 0.4, HOST: 0.5}, {"rm": growing}, True, 1)

    assert bound == "pattern"
    assert reasons[0].startswith("rm: lag grew through the run")


def test_windows_that_are_the_observers_are_noted_and_bind_it_once_lag_grows() -> None:
    def owned_by_observer(p50s: list[float]) -> ProjectionResult:
        projection = measured(windows(*p50s), 0.1, 0.0)
        assert projection.lag is not None
        for window in projection.lag.over_time:
            window.bound = "observer"
        return projection

    bounded = owned_by_observer([20.0] * 9)
    growing = owned_by_observer([100.0 * 2**i for i in range(9)])

    bound, notes = judge(load(100, 100), {"moto": 0.4}, {"rm": bounded}, True, 1)
    assert bound is None  # the instrument added to the lag, which stayed bounded
    assert notes and "lag windows are the observer's" in notes[0]
    bound, reasons = judge(load(100, 100), {"moto": 0.4}, {"rm": growing}, True, 1)
    assert bound == "observer"
    assert reasons[0].startswith("rm: lag grew through the run")
    # another projection's lag grew on its own: its observer did not bind it
    alone = measured(windows(*[100.0 * 2**i for i in range(9)]), 0.1, 0.0)
    bound, _ = judge(load(100, 100), {"moto": 0.4}, {"rm": bounded, "store": alone}, True, 1)
    assert bound == "pattern"


def test_a_slow_catch_up_after_the_step_is_not_sustained() -> None:
    bound, reasons = judge(load(100, 100), {}, {"rm": steady(converge_s=30)}, True, 1)

    assert bound == "pattern"
    assert "to catch up after the load ended" in reasons[0]


def test_busy_processes_do_not_count_on_a_real_cloud() -> None:
    bound, _ = judge(load(100, 100), {"harness": 0.99}, {"rm": steady()}, False, 1)

    assert bound is None
