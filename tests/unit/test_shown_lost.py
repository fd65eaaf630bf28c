"""Which lost changes a projection can be seen to lose: each one where it shows each change;
where it shows state, the entities' final changes it then shows wrong."""

from harness.check.shown_lost import lost_as_shown
from harness.load.ledger import ABORTED, COMMITTED, Change, Ledger


def _change(key: str, version: int, op: str, status: str = COMMITTED) -> Change:
    return Change("widgets", key, version, op, status, 0, version, version, f"{key}@{version}")


LEDGER = [
    _change("stale", 1, "insert"),
    _change("stale", 2, "update"),  # lost: shown at version 1
    _change("missing", 1, "insert"),  # lost: never shown
    _change("resurrected", 1, "insert"),
    _change("resurrected", 2, "delete"),  # lost: the row stays
    _change("never", 1, "insert"),  # lost with its delete: absent, as it should be
    _change("never", 2, "delete"),
    _change("again", 1, "insert"),
    _change("again", 2, "delete"),
    _change("again", 3, "insert", ABORTED),
    _change("again", 3, "insert"),  # lost, with its delete: absent after the first delete
    _change("again", 4, "delete"),
    _change("later", 1, "insert"),  # lost, but a later version arrived
    _change("later", 2, "update"),
]
LOST = {("stale", 2), ("missing", 1), ("resurrected", 2), ("never", 1), ("never", 2)}
LOST |= {("again", 3), ("again", 4), ("later", 1)}


def test_a_state_projection_shows_lost_only_the_final_changes_it_then_shows_wrong() -> None:
    ledger = Ledger.of(LEDGER)
    lost = ledger.committed_of({("widgets", key, version) for key, version in LOST})

    assert len(lost) == len(LOST)  # committed ones only
    assert lost_as_shown(ledger, lost, each_change=True) == lost
    shown = lost_as_shown(ledger, lost, each_change=False)
    assert sorted((c.key, c.version) for c in shown) == [
        ("missing", 1),
        ("resurrected", 2),
        ("stale", 2),
    ]
    assert lost_as_shown(ledger, [], each_change=False) == []
    assert ledger.committed_of(set()) == []
