"""never_sent: the committed changes whose event the application never sent."""

from harness.apps.emits import Emit, never_sent, summarize
from harness.load.ledger import ABORTED, COMMITTED, Change


def _change(key: str, version: int, acked_ns: int, status: str = COMMITTED) -> Change:
    op = "insert" if version == 1 else "update"
    return Change("widgets", key, version, op, status, 0, acked_ns, version, f"{key}@{version}")


def _emit(key: str, version: int, sent: bool, crashed: bool = False) -> Emit:
    return Emit("widgets", key, version, version, sent, crashed, "" if sent else "AccessDenied")


def test_a_change_refused_and_never_sent_again_counts_and_a_retried_one_does_not() -> None:
    changes = [
        _change("1", 1, 10),
        _change("1", 2, 20),
        _change("2", 1, 30),
        _change("3", 1, 40, ABORTED),
        _change("4", 1, 50),
    ]
    emits = [
        _emit("1", 1, sent=True),
        _emit("1", 2, sent=False),  # refused: lost
        _emit("2", 1, sent=False),  # refused, then a relay's retry took it
        _emit("2", 1, sent=True),
        _emit("3", 1, sent=False),  # its transaction rolled back: nothing to send
        _emit("4", 1, sent=False, crashed=True),  # the application died before sending
    ]

    assert never_sent(emits, changes) == [changes[1], changes[4]]
    summary = summarize(emits, changes)
    assert summary is not None and (summary.never_sent, summary.unsent) == (2, 1)
    assert never_sent([], changes) == []
    assert never_sent(emits[:1], changes) == []
