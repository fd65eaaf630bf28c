"""An event store judged as a set (each key's events in version order), events of rolled-back
transactions as phantoms wherever their versions fall, and sightings a projection retracted
(an item written over) as never shown."""

from harness.check.divergent import check_divergent
from harness.check.events import check_event_store
from harness.check.lag import measure_lag
from harness.load.ledger import ABORTED, COMMITTED, Change
from harness.observe.base import RETRACTED, Observation, standing
from tests.unit.synthetic import evidence

TABLE = "widgets"


def change(version: int, txid: int, status: str = COMMITTED, digest: str = "") -> Change:
    op = "insert" if version == 1 else "update"
    acked = txid * 1_000_000
    return Change(TABLE, "1", version, op, status, acked, acked, txid, digest or f"d{version}")


def event(version: int, txid: int = 0, digest: str = "", op: str = "upsert") -> Observation:
    return Observation("events", TABLE, "1", version, op, 10**12, f"p{version}", digest, txid)


def test_an_event_store_is_judged_in_version_order_whatever_the_arrival() -> None:
    changes = [change(1, 1), change(2, 2), change(3, 3)]
    arrived = [event(3, 3, "d3"), event(1, 1, "d1"), event(2, 2, "d2")]

    result = check_event_store(evidence(changes, arrived))

    assert result.valid is True and result.counts == {}


def test_an_event_store_still_counts_copies_and_losses() -> None:
    changes = [change(1, 1), change(2, 2), change(3, 3)]

    result = check_event_store(evidence(changes, [event(3, 3), event(1, 1), event(1, 1)]))

    assert result.counts == {"duplicate": 1, "gap": 1}


def test_an_event_of_a_rolled_back_transaction_is_phantom_even_at_a_committed_version() -> None:
    # version 2 was first taken by transaction 2, rolled back, then by transaction 3
    changes = [change(1, 1), change(2, 2, ABORTED, "aborted"), change(2, 3)]
    shown = [event(1, 1, "d1"), event(2, 2, "aborted"), event(2, 3, "d2")]

    result = check_event_store(evidence(changes, shown))
    divergent = check_divergent(evidence(changes, shown))

    assert result.counts == {"phantom": 1}
    assert result.examples["phantom"][0]["version"] == 2
    assert divergent.valid is True  # the phantom's image is not the committed one's to judge


def test_a_rolled_back_transactions_event_gives_no_lag_to_the_committed_change() -> None:
    changes = [change(1, 1), change(2, 2, ABORTED), change(2, 3)]
    early = Observation("events", TABLE, "1", 2, "upsert", 1, "p", "", 2)

    report = measure_lag(changes, [early], window_s=1)

    assert report.seen == 0 and report.unseen == 2


def test_a_retraction_takes_back_the_latest_matching_sighting_only() -> None:
    first, second, other = event(1, 1, "d1"), event(1, 1, "d1"), event(2, 2, "d2")
    gone = event(1, 1, "d1", op=RETRACTED)

    assert standing([first, other, second, gone]) == [first, other]
    assert standing([first, gone, other]) == [other]
    # a retraction of something never shown (or shown with another image) takes nothing back
    assert standing([other, event(1, 1, "d9", op=RETRACTED)]) == [other]


def test_a_change_whose_event_was_written_over_is_missing() -> None:
    changes = [change(1, 1), change(2, 2)]
    log = [event(1, 1, "d1"), event(2, 2, "d2"), event(2, 2, "d2", op=RETRACTED)]

    result = check_event_store(evidence(changes, standing(log)))

    assert result.counts == {"missing": 1}
