"""Load shapes (loadtests/shapes.py): the user curve each scenario shape asks Locust for."""

import importlib.util
import math
import os
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from harness.scenario import LoadSpec

LOADTESTS = Path(__file__).resolve().parents[2] / "loadtests"


def _import_shapes() -> ModuleType:
    """loadtests/shapes.py, loaded without letting `import locust` monkey-patch pytest.

    Locust patches the whole process for gevent on import unless
    LOCUST_SKIP_MONKEY_PATCH is set; the variable is set only for the import so
    that Locust subprocesses started by other tests still patch themselves.
    """
    saved = os.environ.get("LOCUST_SKIP_MONKEY_PATCH")
    os.environ["LOCUST_SKIP_MONKEY_PATCH"] = "1"
    try:
        spec = importlib.util.spec_from_file_location("_cdcbench_shapes", LOADTESTS / "shapes.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        if saved is None:
            del os.environ["LOCUST_SKIP_MONKEY_PATCH"]
        else:
            os.environ["LOCUST_SKIP_MONKEY_PATCH"] = saved


shapes = _import_shapes()


def make(duration_s: float, users: int, shape: dict[str, Any] | None = None) -> Any:
    load: dict[str, Any] = {"duration_s": duration_s, "rate_per_s": 10, "users": users}
    if shape is not None:
        load["shape"] = shape
    return shapes.shape_for(LoadSpec.model_validate(load))


def grid(duration_s: float, step: float = 0.01) -> list[float]:
    return [i * step for i in range(math.ceil(duration_s / step))]


def assert_common(shape: Any, duration_s: float) -> None:
    """None at and after the duration, never below one user, and a spawn rate that reaches
    the highest user count of the run within a second."""
    assert shape.users_at(duration_s) is None
    assert shape.users_at(duration_s + 0.001) is None
    assert shape.users_at(duration_s * 10) is None
    counts = [shape.users_at(t) for t in grid(duration_s)]
    assert all(isinstance(c, int) for c in counts)
    assert min(counts) >= 1
    assert shape.spawn_rate >= max(counts)


@pytest.mark.parametrize(
    ("kind", "cls"),
    [("steady", "Steady"), ("step", "Step"), ("spike", "Spike"), ("sine", "Sine")],
)
def test_shape_for_builds_the_shape_of_the_scenario_kind(kind: str, cls: str) -> None:
    params: dict[str, dict[str, Any]] = {
        "steady": {},
        "step": {"steps": 2, "step_s": 1},
        "spike": {"at_s": 1, "length_s": 1, "factor": 2},
        "sine": {"period_s": 4},
    }
    shape = make(10, 4, {"kind": kind, **params[kind]})
    assert type(shape).__name__ == cls
    assert isinstance(shape, shapes.ScenarioShape)


def test_steady_holds_the_full_user_count_until_the_duration() -> None:
    shape = make(10, 4)
    assert [shape.users_at(t) for t in (0, 0.5, 5, 9.999)] == [4, 4, 4, 4]
    assert shape.spawn_rate == 4.0
    assert_common(shape, 10)


def test_step_climbs_in_equal_steps_and_holds_the_top() -> None:
    shape = make(12, 8, {"kind": "step", "steps": 4, "step_s": 2})
    times = (0, 1.99, 2, 3.5, 4, 5.99, 6, 7.9, 8, 11.99)
    assert [shape.users_at(t) for t in times] == [2, 2, 4, 4, 6, 6, 8, 8, 8, 8]
    assert shape.spawn_rate == 8.0
    assert_common(shape, 12)


def test_step_of_the_integration_scenario_goes_2_then_4() -> None:
    shape = make(6, 4, {"kind": "step", "steps": 2, "step_s": 3})
    assert [shape.users_at(t) for t in (0, 2.9, 3, 5.9)] == [2, 2, 4, 4]
    assert_common(shape, 6)


def test_step_never_asks_for_zero_users() -> None:
    shape = make(8, 1, {"kind": "step", "steps": 4, "step_s": 2})
    assert [shape.users_at(t) for t in (0, 2, 4, 6)] == [1, 1, 1, 1]
    assert_common(shape, 8)


def test_spike_multiplies_users_for_its_length() -> None:
    shape = make(10, 4, {"kind": "spike", "at_s": 2, "length_s": 3, "factor": 3})
    times = (0, 1.99, 2, 3, 4.99, 5, 9.99)
    assert [shape.users_at(t) for t in times] == [4, 4, 12, 12, 12, 4, 4]
    assert shape.spawn_rate == 12.0
    assert_common(shape, 10)


def test_spike_at_start_and_a_dip_below_one_user_keeps_one() -> None:
    shape = make(4, 2, {"kind": "spike", "at_s": 0, "length_s": 1, "factor": 0.25})
    assert [shape.users_at(t) for t in (0, 0.5, 1, 3)] == [1, 1, 2, 2]
    assert shape.spawn_rate == 2.0
    assert_common(shape, 4)


def test_sine_oscillates_around_the_full_count() -> None:
    shape = make(16, 10, {"kind": "sine", "period_s": 8, "amplitude": 0.5})
    times = (0, 1, 2, 4, 6, 7, 8, 10, 14)
    # 10 * (1 + 0.5 * sin(2 pi t / 8)): 1 s -> 13.54, 7 s -> 6.46
    assert [shape.users_at(t) for t in times] == [10, 14, 15, 10, 5, 6, 10, 15, 5]
    assert shape.spawn_rate == 15.0
    assert_common(shape, 16)


def test_sine_trough_below_one_user_keeps_one() -> None:
    shape = make(4, 1, {"kind": "sine", "period_s": 4, "amplitude": 0.9})
    assert [shape.users_at(t) for t in (0, 1, 3)] == [1, 2, 1]
    assert shape.spawn_rate == 2.0
    assert_common(shape, 4)


def _at(shape: Any, t: float) -> Any:
    shape.start_time = time.perf_counter() - t
    return shape.tick()


@pytest.mark.parametrize(
    ("shape_spec", "users", "t", "expected"),
    [
        (None, 4, 1.0, (4, 4.0)),
        ({"kind": "step", "steps": 2, "step_s": 3}, 4, 1.0, (2, 4.0)),
        ({"kind": "step", "steps": 2, "step_s": 3}, 4, 4.5, (4, 4.0)),
        ({"kind": "spike", "at_s": 2, "length_s": 2, "factor": 2}, 3, 3.0, (6, 6.0)),
        ({"kind": "spike", "at_s": 2, "length_s": 2, "factor": 2}, 3, 4.5, (3, 6.0)),
        ({"kind": "sine", "period_s": 8, "amplitude": 0.5}, 10, 2.0, (15, 15.0)),
    ],
)
def test_tick_follows_the_run_time_then_ends_the_run(
    shape_spec: dict[str, Any] | None, users: int, t: float, expected: tuple[int, float]
) -> None:
    shape = make(6, users, shape_spec)
    assert _at(shape, t) == expected
    assert _at(shape, 6.0) is None
    assert _at(shape, 60.0) is None


def test_tick_starts_at_the_first_level_on_a_fresh_shape() -> None:
    shape = make(6, 4, {"kind": "step", "steps": 2, "step_s": 3})
    assert shape.tick() == (2, 4.0)
