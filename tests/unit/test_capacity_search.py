"""The rate search: climb while sustained, descend while not, then bisect a few times."""

import pytest

from harness.capacity.search import RateSearch, sustained


def walk(search: RateSearch, capacity: float) -> list[float]:
    """The rates the search offers a pattern that sustains up to `capacity`."""
    history: list[tuple[float, bool]] = []
    while (rate := search.next(history)) is not None:
        history.append((rate, rate <= capacity))
        assert len(history) < 50, "the search never ends"
    return [rate for rate, _ in history]


def test_it_climbs_by_its_factor_then_bisects_the_bracket() -> None:
    rates = walk(RateSearch(start=25, ceiling=800, refine=2), capacity=160)

    assert rates == [25, 50, 100, 200, 150, 175]


def test_the_answer_is_the_highest_rate_sustained_below_every_unsustained_one() -> None:
    assert sustained([(25, True), (50, True), (100, False), (75, True), (87, False)]) == 75
    assert sustained([(100, False), (50, False)]) is None
    # a rate sustained above one that was not (a noisy step) does not count
    assert sustained([(50, True), (100, False), (75, False), (200, True)]) == 50


def test_a_pattern_that_sustains_the_ceiling_is_reported_at_it() -> None:
    rates = walk(RateSearch(start=100, ceiling=300), capacity=1_000)

    assert rates == [100, 200, 300]


def test_a_pattern_that_cannot_sustain_the_start_is_searched_below_it() -> None:
    rates = walk(RateSearch(start=100, ceiling=800, refine=1), capacity=30)

    assert rates == [100, 50, 25, 38]


def test_nothing_sustained_ends_at_the_lowest_rate() -> None:
    rates = walk(RateSearch(start=8, ceiling=800), capacity=0)

    assert rates == [8, 4, 2, 1]


def test_no_refinement_stops_at_the_bracket() -> None:
    assert walk(RateSearch(start=25, ceiling=800, refine=0), capacity=60) == [25, 50, 100]


@pytest.mark.parametrize(
    ("start", "ceiling", "factor"), [(0.5, 100, 2), (200, 100, 2), (10, 100, 1.0)]
)
def test_a_search_that_cannot_run_is_refused(start: float, ceiling: float, factor: float) -> None:
    with pytest.raises(ValueError):
        RateSearch(start=start, ceiling=ceiling, factor=factor)
