"""The schema-change outcome of a projection: whether the added column arrived, from which
change on, and what was lost or divergent around the DDL, for event logs and state."""

from harness.check.protocol import Evidence
from harness.check.schema_change import describe, judge_schema_change
from harness.load.ledger import ABORTED, COMMITTED, Change
from harness.load.schema_change import SchemaChangeRecord
from harness.observe.base import GONE, Observation, SnapshotRow

S = 1_000_000_000
DDL_NS = 100 * S
DDL = SchemaChangeRecord(
    table="widgets", column="colour", sql_type="text", txid=9, lsn="0/1", acked_ns=DDL_NS
)


def change(
    key: str, version: int, at_s: float, added: bool = False, status: str = COMMITTED
) -> Change:
    acked = DDL_NS + int(at_s * S)
    op = "insert" if version == 1 else "update"
    digest = f"{key}-{version}{'+colour' * added}"
    return Change("widgets", key, version, op, status, acked - S, acked, 1, digest, added)


def shown(c: Change, digest: str | None = None, position: str = "") -> Observation:
    return Observation(
        "p", c.table, c.key, c.version, "upsert", c.acked_ns + S, position, digest or c.digest
    )


BEFORE = [change("1", 1, -30), change("2", 1, -2), change("3", 1, -20)]
AFTER = [
    change("1", 2, 1, added=True),
    change("2", 2, 3, added=True),
    change("3", 2, 30, added=True),
    change("2", 3, 40, added=True, status=ABORTED),
]
LEDGER = [*BEFORE, *AFTER]


def test_a_projection_that_carries_the_column_shows_it_from_the_first_change_after_the_ddl() -> (
    None
):
    committed = [c for c in LEDGER if c.status == COMMITTED]
    observations = [shown(c, position=f"at-{c.key}-{c.version}") for c in committed]

    outcome = judge_schema_change(True, DDL, Evidence(LEDGER, observations))

    assert outcome.arrived and outcome.as_expected
    assert (outcome.carried, outcome.stripped) == (3, 0)
    assert outcome.first is not None
    assert (outcome.first.key, outcome.first.version, outcome.first.after_ddl_s) == ("1", 2, 1.0)
    assert outcome.first.position == "at-1-2"
    assert (outcome.lost_near_ddl, outcome.divergent_near_ddl) == (0, 0)
    assert "arrived from widgets 1 v2 (+1.0 s after the DDL)" in describe(outcome)
    assert outcome.announced is None and "control record" not in describe(outcome)


def test_an_add_column_control_record_announces_the_column() -> None:
    evidence = Evidence(LEDGER, [shown(c) for c in LEDGER if c.status == COMMITTED])

    def announced(control: dict[str, int]) -> bool | None:
        outcome = judge_schema_change(True, DDL, evidence, control_records=control)
        return outcome.announced

    assert announced({"create-table": 2, "add-column": 1}) is True
    assert announced({"create-table": 2}) is False
    assert announced({}) is False


def test_a_projection_that_drops_the_column_shows_later_changes_without_it() -> None:
    observations = [shown(c) for c in BEFORE] + [shown(c, f"{c.key}-{c.version}") for c in AFTER]

    outcome = judge_schema_change(
        True, DDL, Evidence(LEDGER, observations), expected_arrival=False, note="why"
    )

    assert not outcome.arrived and outcome.as_expected
    assert (outcome.carried, outcome.stripped, outcome.first) == (0, 3, None)
    # within 5 s of the DDL: key 2 v1 (-2 s), key 1 v2 (+1 s) and key 2 v2 (+3 s)
    assert (outcome.lost_near_ddl, outcome.divergent_near_ddl) == (0, 2)
    assert outcome.note == "why"
    assert "did not arrive; 3 changes without it" in describe(outcome)


def test_an_event_log_loses_what_it_never_showed_a_state_only_what_nothing_replaced() -> None:
    key1_v2 = AFTER[0]
    observations = [shown(c) for c in (*BEFORE, key1_v2)]
    snapshot = [SnapshotRow(c.table, c.key, c.version, c.digest, False) for c in (key1_v2,)]

    as_log = judge_schema_change(True, DDL, Evidence(LEDGER, observations))
    later = [*observations, shown(change("2", 4, 9, added=True))]
    as_state = judge_schema_change(False, DDL, Evidence(LEDGER, later, snapshot))

    assert as_log.lost_near_ddl == 1  # key 2 v2 never shown
    assert as_state.lost_near_ddl == 0  # key 2 v4 replaced it
    assert judge_schema_change(False, DDL, Evidence(LEDGER, observations)).lost_near_ddl == 1


def test_unexpected_arrival_is_flagged() -> None:
    observations = [shown(c) for c in LEDGER if c.status == COMMITTED]

    outcome = judge_schema_change(
        False, DDL, Evidence(LEDGER, observations), expected_arrival=False
    )

    assert outcome.arrived and not outcome.as_expected
    assert "(not as the pattern expects)" in describe(outcome)


def test_a_state_projection_loses_nothing_of_a_deleted_row_it_never_held_or_saw_go() -> None:
    def delete(key: str, version: int, at_s: float) -> Change:
        acked = DDL_NS + int(at_s * S)
        return Change("widgets", key, version, "delete", COMMITTED, acked - S, acked, 1, "")

    never_held = [change("4", 1, 1, added=True), delete("4", 2, 2)]
    went = [change("5", 1, -10), change("5", 2, 1, added=True), delete("5", 3, 2)]
    ledger = [*LEDGER, *never_held, *went]
    # row 5 held at v1, then gone: nothing says which version went
    gone = Observation("p", "widgets", "5", GONE, "delete", DDL_NS + 3 * S, "poll-9")
    observations = [shown(c) for c in (*LEDGER, went[0]) if c.status == COMMITTED] + [gone]

    as_state = judge_schema_change(False, DDL, Evidence(ledger, observations))
    as_log = judge_schema_change(True, DDL, Evidence(ledger, observations))

    assert (as_state.lost_near_ddl, as_state.stripped, as_state.carried) == (0, 0, 3)
    assert as_log.lost_near_ddl == 4  # both rows' changes after the DDL, never shown
