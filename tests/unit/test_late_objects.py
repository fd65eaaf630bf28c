"""What an object store showed only in objects that landed late."""

from harness.check.late_objects import shown_only_late
from harness.observe.base import Observation, Observations

CDC = "store/cdc/CDC_TXN-2026120600000"


def _seen(key: str, version: int, obj: str, seen_s: int) -> Observation:
    return Observation("store", "widgets", key, version, "upsert", seen_s * 10**9, f"{obj}:1")


def test_only_changes_carried_by_objects_landing_after_a_later_one_are_late() -> None:
    log = Observations.of(
        [
            _seen("1", 1, f"{CDC}1.csv", 1),
            _seen("1", 2, f"{CDC}3.csv", 2),  # read before the file that sorts before it
            _seen("2", 1, f"{CDC}3.csv", 2),
            _seen("1", 3, f"{CDC}2.csv", 5),  # landed late
            _seen("3", 1, f"{CDC}2.csv", 5),  # landed late, and again in a file on time
            _seen("3", 1, f"{CDC}4.csv", 6),
            _seen("4", 1, "store/cdc/LOAD00000002.csv", 0),
            _seen("5", 1, "store/cdc/LOAD00000001.csv", 7),  # late in its family
            _seen("8", 1, "store/cdc/A1.csv", 9),  # sorts first, but its family's only one
            _seen("6", 1, f"{CDC}5.csv", 8),  # two objects in one listing: in key order
            _seen("7", 1, f"{CDC}6.csv", 8),
        ]
    )

    assert shown_only_late(log) == {("widgets", "1", 3), ("widgets", "5", 1)}
    assert shown_only_late(Observations.of([])) == set()
