"""A fault's recovery figures and verdict from a run's lag windows and anomalies."""

import time
from pathlib import Path

import pytest

from harness.check.lag import LagReport, LagWindow, Percentiles
from harness.check.protocol import Convergence
from harness.check.result import CheckResult
from harness.load.ledger import ABORTED, COMMITTED, Change, Ledger
from harness.nemesis import (
    FaultExpectation,
    FaultRecord,
    FaultSpec,
    Nemesis,
    as_expected,
    describe_fault,
    held_up_s,
    judge_faults,
)
from harness.nemesis.evidence import past_limit
from harness.nemesis.faults import KINDS
from harness.nemesis.outcome import LostEvidence
from harness.report.results import PatternResult, ProjectionResult
from harness.settings import Settings
from harness.targets.aws import AwsTarget
from harness.targets.local import LocalTarget
from harness.targets.localstack import LocalStackTarget
from harness.targets.routing import Routing

S = 1_000_000_000
ORIGIN = 1_000 * S


def _projection(
    p99_by_s: dict[int, float],
    counts: dict[str, int],
    committed_s: dict[str, list[float]] | None = None,
    convergence: Convergence | None = None,
    floor_ms: float = 100.0,
) -> ProjectionResult:
    committed = committed_s or {}
    windows = [
        LagWindow(start_s=s, count=10, p50=p99 / 2, p99=p99, max=p99 * 1.1)
        for s, p99 in sorted(p99_by_s.items())
    ]
    empty = Percentiles(count=0)
    return ProjectionResult(
        kind="state",
        observer="dynamodb_table",
        floor_ms=floor_ms,
        observed=100,
        lag=LagReport(
            from_commit_ms=empty, from_intent_ms=empty, over_time=windows, seen=1, unseen=0,
            superseded=0,
        ),
        convergence=convergence,
        check=CheckResult(
            valid=not counts,
            counts=counts,
            committed_ns={k: [ORIGIN + int(t * S) for t in ts] for k, ts in committed.items()},
        ),
    )  # fmt: skip


def _stop(at_s: float = 20, duration_s: float = 10) -> FaultRecord:
    return FaultRecord(
        kind="dms_task_stop",
        at_s=at_s,
        duration_s=duration_s,
        targets=["arn:task"],
        started_ns=ORIGIN + int(at_s * S),
        ended_ns=ORIGIN + int((at_s + duration_s) * S),
    )


def _denied() -> FaultRecord:
    return _stop().model_copy(update={"kind": "queue_sends_denied", "targets": ["https://q"]})


def _lags() -> dict[int, float]:
    """100 ms before the stop (20-30 s), a backlog growing from the stop, drained by 33 s."""
    lags = {s: 100.0 for s in range(40)}
    lags |= {s: (30 - s) * 1000 + 1000 for s in range(20, 30)}
    lags |= {30: 1_900.0, 31: 1_600.0, 32: 300.0}
    return lags


def test_recovery_is_read_from_the_lag_windows_around_the_fault() -> None:
    fault = _stop()

    judge_faults([fault], {"table": _projection(_lags(), {})}, ORIGIN, 1.0)

    recovery = fault.recovery["table"]
    assert recovery.before_ms == 100.0
    assert recovery.detect_s == 0.0  # the first change made after the stop waits for it
    assert recovery.recover_s == 2.0  # over 1.5 x 100 + 1000 ms up to 31 s; ended at 30
    assert recovery.peak_ms == 11_000.0 * 1.1
    assert fault.met is True and fault.reasons == []
    assert "as expected" in describe_fault(fault) and "back 2.0 s after" in describe_fault(fault)


def test_a_fault_no_lag_shows_raises_no_alarm() -> None:
    fault = _stop()

    judge_faults([fault], {"table": _projection({s: 100.0 for s in range(40)}, {})}, ORIGIN, 1.0)

    assert fault.recovery["table"].detect_s is None
    assert fault.recovery["table"].recover_s == 0.0
    assert fault.met is True


def test_anomalies_the_kind_allows_keep_the_outcome_and_others_break_it() -> None:
    allowed, lost = _stop(), _stop()
    duplicates = PatternResult(
        summary="p", valid=False, faults=[allowed],
        projections={"log": _projection(_lags(), {"duplicate": 3})},
    )  # fmt: skip
    missing = PatternResult(
        summary="p", valid=False, faults=[lost],
        projections={"log": _projection(_lags(), {"missing": 2, "duplicate": 1})},
    )  # fmt: skip

    judge_faults([allowed], duplicates.projections, ORIGIN, 1.0)
    judge_faults([lost], missing.projections, ORIGIN, 1.0)

    assert allowed.met is True and as_expected(duplicates)
    assert allowed.recovery["log"].anomalies == {"duplicate": 3}
    assert lost.met is False and not as_expected(missing)
    assert lost.reasons == ["log: 2 missing"]


def test_a_change_made_during_the_fault_seen_past_its_bound_breaks_the_outcome() -> None:
    fault = _stop(duration_s=10)
    lags = _lags() | {25: 25_000.0}  # beyond 10 s + 10 s of slack + the 0.1 s floor

    judge_faults([fault], {"table": _projection(lags, {})}, ORIGIN, 1.0)

    assert fault.met is False
    assert fault.reasons == [
        "table: a change made during the fault was seen 27500 ms after its commit (bound 20100 ms)"
    ]


def test_a_pattern_s_own_expectation_replaces_the_kind_s(tmp_path: Path) -> None:
    """e.g. a queue's visibility timeout delays every retried batch: the pattern allows the
    lag (and here the loss) its configuration makes expected."""
    own = FaultExpectation(says="late and lossy", allowed=["missing"], slack_s=60)
    task = {"replication_task_arn": "arn:task"}
    state = {
        "resources": [
            {
                "mode": "managed",
                "type": "aws_dms_replication_task",
                "instances": [{"attributes": task}],
            }
        ]
    }
    specs = [FaultSpec(kind="dms_task_stop", at_s=20, duration_s=10)]
    target = AwsTarget(Settings(), tmp_path)
    with Nemesis(specs, state, target, {"dms_task_stop": own}) as nemesis:
        [fault] = nemesis.records  # recorded, not begun: never applied
    assert (fault.expected, fault.allowed, fault.slack_s) == ("late and lossy", ["missing"], 60)
    fault.started_ns, fault.ended_ns = _stop().started_ns, _stop().ended_ns
    lags = _lags() | {25: 25_000.0}  # past the kind's bound (21 s), within this one's (71 s)

    judge_faults([fault], {"table": _projection(lags, {"missing": 2})}, ORIGIN, 1.0)

    assert fault.met is True, fault.reasons


def test_an_unconverged_projection_leaves_the_outcome_unjudged_and_a_failed_fault_unjudged() -> (
    None
):
    unconverged, failed = _stop(), _stop()
    failed.error = "start failed: TimeoutError"

    judge_faults([unconverged], {"t": _projection(_lags(), {"unconverged": 1})}, ORIGIN, 1.0)
    judge_faults([failed], {"t": _projection(_lags(), {})}, ORIGIN, 1.0)

    assert unconverged.met is None
    assert failed.met is None and failed.recovery == {}
    assert describe_fault(failed) == "start failed: TimeoutError"


def test_a_fault_with_nothing_to_act_on_is_recorded_as_not_applicable(tmp_path: Path) -> None:
    """The direct floor's deployment holds no DMS task; the aws target's source is the
    user's own database, which the harness does not restart."""
    state = {"resources": [{"mode": "managed", "type": "aws_dynamodb_table", "instances": []}]}
    specs = [
        FaultSpec(kind="dms_task_stop", at_s=1, duration_s=1),
        FaultSpec(kind="source_restart", at_s=1, duration_s=1),
    ]

    with Nemesis(specs, state, AwsTarget(Settings(), tmp_path)) as nemesis:
        nemesis.begin()

    stop, restart = nemesis.records
    assert stop.error == "not applicable: the deployment has nothing dms_task_stop acts on"
    assert restart.error == (
        "not applicable: the aws target's source is yours (a database it did not start), so "
        "it is not restarted"
    )
    assert all(r.started_ns is None for r in nemesis.records)
    judge_faults(nemesis.records, {"t": _projection(_lags(), {})}, ORIGIN, 1.0)
    assert stop.met is None and restart.met is None


def test_a_fault_s_recovery_ends_where_the_next_fault_starts() -> None:
    """The lag of a second fault at 34 s is not the first one's (which ended at 30 s and
    was over at 32 s), nor is the first one's lag the second's lag before it."""
    first, second = _stop(at_s=20, duration_s=10), _stop(at_s=34, duration_s=4)
    lags = _lags() | {s: 5_000.0 for s in range(34, 38)}

    judge_faults([first, second], {"t": _projection(lags, {})}, ORIGIN, 1.0)

    assert first.recovery["t"].recover_s == 2.0
    assert first.recovery["t"].peak_ms == pytest.approx(12_100.0)
    assert second.recovery["t"].peak_ms == pytest.approx(5_500.0)
    assert second.recovery["t"].before_ms == 300.0  # from 32 s, not the first one's lag
    assert second.recovery["t"].detect_s == 0.0


def test_a_fault_that_comes_before_the_previous_one_s_lag_is_back_keeps_its_level() -> None:
    """The first fault's backlog lasts until the second starts (at 31 s): the second is
    judged against the level measured before the first."""
    first, second = _stop(at_s=20, duration_s=10), _stop(at_s=31, duration_s=4)
    lags = _lags() | {s: 5_000.0 for s in range(31, 35)}

    judge_faults([first, second], {"t": _projection(lags, {})}, ORIGIN, 1.0)

    # the changes of 30 s were held up by the second fault too (committed within their
    # usual lag and a window of it): the first one's lag ends before them
    assert first.recovery["t"].recover_s == 0.0
    assert second.recovery["t"].before_ms == 100.0  # the first one's level
    assert second.recovery["t"].detect_s == 0.0 and second.recovery["t"].recover_s == 0.0


def test_the_changes_a_fault_held_up_just_before_it_are_not_its_lag_before() -> None:
    """A projection whose usual lag is 2 s: the changes of the 2 s before the fault waited
    for it, and their lag is the fault's, not the level before it."""
    lags = {s: 2_000.0 for s in range(40)} | {18: 9_000.0, 19: 8_000.0}
    fault = _stop(at_s=20, duration_s=5)

    judge_faults([fault], {"t": _projection(lags, {})}, ORIGIN, 1.0)

    assert fault.recovery["t"].before_ms == 2_000.0
    assert fault.recovery["t"].detect_s == 0.0  # the held-up changes raise the alarm


def test_the_wait_for_convergence_is_held_for_the_lag_a_fault_may_still_add() -> None:
    """Until a fault's end plus its slack (the pattern's own, where it has one)."""
    now = time.time_ns()
    kinds, own, failed = _stop(), _stop(), _stop()
    for fault in (kinds, own, failed):
        fault.ended_ns = now
    own.slack_s = 190.0
    failed.error = "start failed: TimeoutError"

    assert 9 < held_up_s([kinds]) <= 10  # dms_task_stop's own slack
    assert 189 < held_up_s([kinds, own]) <= 190
    assert held_up_s([failed]) == 0.0 and held_up_s([]) == 0.0


def test_each_anomaly_counts_under_the_fault_whose_span_holds_its_commit() -> None:
    """The first fault (20-30 s, over at 32 s) holds what was committed before 32 s, the
    second (34-38 s) the rest; an extra entity, which no commit places, counts under both."""
    first, second = _stop(at_s=20, duration_s=10), _stop(at_s=34, duration_s=4)
    lags = _lags() | {s: 5_000.0 for s in range(34, 38)}
    counts = {"duplicate": 3, "missing": 1, "extra": 1}
    committed = {"duplicate": [5.0, 31.5, 36.0], "missing": [39.0]}

    judge_faults([first, second], {"t": _projection(lags, counts, committed)}, ORIGIN, 1.0)

    assert first.recovery["t"].anomalies == {"duplicate": 2, "extra": 1}
    assert second.recovery["t"].anomalies == {"duplicate": 1, "missing": 1, "extra": 1}
    assert first.reasons == ["t: 1 extra"]
    assert second.reasons == ["t: 1 missing", "t: 1 extra"]


def test_the_changes_the_next_fault_holds_up_are_not_this_one_s_lag() -> None:
    """A projection whose usual lag is 1.5 s: the changes committed within that and a
    window of the next fault (at 40 s) wait for it, and the first fault's recovery ends
    before them."""
    first, second = _stop(at_s=20, duration_s=5), _stop(at_s=40, duration_s=5)
    lags = {s: 1_500.0 for s in range(50)} | {s: 9_000.0 for s in range(20, 25)} | {38: 5_000.0}

    judge_faults([first, second], {"t": _projection(lags, {})}, ORIGIN, 1.0)

    assert first.recovery["t"].recover_s == 0.0
    assert first.recovery["t"].peak_ms == pytest.approx(9_900.0)
    assert second.recovery["t"].detect_s == 0.0  # its held-up changes raise its alarm


def test_a_dual_write_loses_exactly_the_changes_it_never_sent() -> None:
    """Under queue_sends_denied the changes whose event was never sent are lost (missing, or
    a gap before a later version), exactly those; a projection that settled is judged."""
    counts = {"missing": 2, "gap": 1, "unconverged": 1}
    committed = {"missing": [22.0, 24.0], "gap": [26.0]}
    times = [ORIGIN + s * S for s in (22, 24, 26)]
    unsent = LostEvidence({"never_sent": {"events": times}})
    fewer = LostEvidence({"never_sent": {"events": times[:2]}})
    exact, more, lagging = _denied(), _denied(), _denied()
    settled = Convergence(converged=False, seconds=60.0, settled=True)

    judge_faults(
        [exact], {"events": _projection(_lags(), counts, committed, settled)}, ORIGIN, 1.0, unsent
    )
    judge_faults(
        [more], {"events": _projection(_lags(), counts, committed, settled)}, ORIGIN, 1.0, fewer
    )
    judge_faults(
        [lagging], {"events": _projection(_lags(), counts, committed)}, ORIGIN, 1.0, unsent
    )

    assert exact.met is True and exact.reasons == []
    assert more.met is False and more.reasons == ["events: 3 changes lost, 2 never sent"]
    assert lagging.met is None  # neither converged nor settled: what it lacks may still come


def test_a_late_cdc_file_loses_exactly_its_changes_downstream_of_the_store() -> None:
    """The store shows the late file's changes out of order (allowed) and loses none; the
    read model fed from it loses the entities whose last change only the late file carried
    (stale or missing), exactly those. Its lag is bounded without the changes the late file
    carried: one it lost shows when a later version of its row comes, whenever that is."""
    fault = _stop().model_copy(update={"kind": "late_cdc_file", "targets": ["arn:s3"]})
    store = _projection(_lags(), {"out_of_order": 4}, {"out_of_order": [22.0] * 4})
    superseded = _lags() | {22: 90_000.0}  # a lost change, shown by a version 90 s later
    counts = {"stale": 1, "missing": 1}
    model = _projection(superseded, counts, {"stale": [21.0], "missing": [23.0]})
    without = _projection(_lags(), {}).lag
    assert without is not None
    windows = {"read_model": without.over_time}
    named = LostEvidence(
        {"late_files": {"read_model": [ORIGIN + s * S for s in (21, 23)]}}, windows
    )
    short = LostEvidence({"late_files": {"read_model": [ORIGIN + 21 * S]}})
    lost_upstream = fault.model_copy()

    judge_faults([fault], {"event_store": store, "read_model": model}, ORIGIN, 1.0, named)
    judge_faults([lost_upstream], {"event_store": model, "read_model": model}, ORIGIN, 1.0, short)

    assert fault.met is True and fault.reasons == []
    assert lost_upstream.met is False
    assert lost_upstream.reasons == [
        "event_store: 2 changes lost, 0 carried only by late files",
        "event_store: a change made during the fault was seen 99000 ms after its commit "
        "(bound 30100 ms)",
        "read_model: 2 changes lost, 1 carried only by late files",
        "read_model: a change made during the fault was seen 99000 ms after its commit "
        "(bound 30100 ms)",
    ]


@pytest.mark.parametrize("kind", ["lob_burst", "dms_task_stop"])
def test_only_the_rows_past_the_lob_limit_may_be_divergent_under_any_fault(kind: str) -> None:
    """A projection may show divergent the changes carrying a LOB past the pattern's limit
    under any fault (a row keeps its LOB after the burst that wrote it, so later changes to it
    carry it too), and no other: one more divergent change breaks the outcome."""
    fault = _stop().model_copy(update={"kind": kind})
    over = fault.model_copy()
    past = LostEvidence(past_lob_limit_ns=[ORIGIN + s * S for s in (21, 23)])
    truncated = _projection(_lags(), {"divergent": 2}, {"divergent": [21.0, 23.0]})
    more = _projection(_lags(), {"divergent": 3}, {"divergent": [21.0, 23.0, 25.0]})

    judge_faults([fault], {"tables": truncated, "bus": _projection(_lags(), {})}, ORIGIN, 1.0, past)
    judge_faults([over], {"tables": more}, ORIGIN, 1.0, past)

    assert fault.met is True and fault.reasons == []
    assert over.met is False
    assert over.reasons == ["tables: 1 divergent not carrying a LOB past the pattern's LOB limit"]


def test_the_changes_past_the_lob_limit_are_named_by_the_ledger(tmp_path: Path) -> None:
    """The ledger's `lob_bytes` says which committed changes carried a LOB past the limit
    (an aborted one is no change; a pattern without a limit truncates nothing)."""
    rows = [("1", 40_000, COMMITTED), ("2", 20_000, COMMITTED), ("3", 50_000, ABORTED)]
    changes = Ledger.of(
        Change("widgets", key, 1, "insert", status, 0, ORIGIN + n * S, n, "d", lob_bytes=size)
        for n, (key, size, status) in enumerate(rows)
    )
    assert past_limit(changes, 32) == [ORIGIN]
    assert past_limit(changes, None) == []


def test_the_aws_target_says_why_it_has_no_control_for_a_kind(tmp_path: Path) -> None:
    aws = AwsTarget(Settings(), tmp_path)
    local_only = ("source_restart", "kafka_down", "kafka_rebalance")
    kinds = (*local_only, "late_cdc_file", "network_delay")
    said = {name: KINDS[name].unavailable(aws) for name in kinds}

    assert all(said.values()), said
    assert "DMS uploads its CDC files itself" in str(said["late_cdc_file"])
    assert "the link between your data centre and AWS is yours" in str(said["network_delay"])
    assert KINDS["dms_task_stop"].unavailable(aws) is None


def test_the_network_delay_acts_on_what_reads_the_source_across_the_link() -> None:
    def endpoint(arn: str, kind: str) -> dict[str, object]:
        return {"attributes": {"endpoint_arn": arn, "endpoint_type": kind}}

    state = {
        "resources": [
            {
                "mode": "managed",
                "type": "aws_dms_endpoint",
                "instances": [endpoint("arn:src", "source"), endpoint("arn:tgt", "target")],
            },
            {"mode": "data", "type": "aws_dms_endpoint", "instances": [endpoint("x", "source")]},
        ]
    }

    assert KINDS["network_delay"].targets(state) == ["arn:src"]
    assert KINDS["network_delay"].targets({"resources": []}) == []


def test_a_queue_s_sends_are_denied_only_where_its_policy_is_enforced(tmp_path: Path) -> None:
    """AWS enforces a queue policy's Deny; LocalStack serving SQS itself enforces none
    (without ENFORCE_IAM); served by the embedded cloud, moto's addition does."""
    kind = KINDS["queue_sends_denied"]
    localstack = LocalStackTarget(Settings(), tmp_path)

    localstack.routing = Routing(localstack=frozenset({"sqs"}), embedded={})
    refused = kind.unavailable(localstack)
    localstack.routing = Routing(localstack=frozenset(), embedded={"sqs": "not served"})

    assert kind.unavailable(AwsTarget(Settings(), tmp_path)) is None
    assert refused is not None and "ENFORCE_IAM=1" in refused
    assert kind.unavailable(localstack) is None
    assert LocalTarget(Settings(), tmp_path).cannot_deny("dynamodb:PutItem") is not None


def test_a_batching_projection_s_alarm_is_set_from_its_floor_at_least() -> None:
    """Its lag swings up to its floor (a 10 s buffer) with no fault: windows before the fault
    that miss the top of the swing do not make the alarm fire on the next one."""
    fault = _stop(at_s=20, duration_s=5)
    swings = {s: 1_000.0 + (s % 10) * 1_000.0 for s in range(60)}
    buffered = _projection(swings, {}, floor_ms=11_000.0)

    judge_faults([fault], {"archive": buffered}, ORIGIN, 1.0)

    assert fault.recovery["archive"].detect_s is None
    assert fault.recovery["archive"].recover_s == 0.0


class _SlowToMend:
    """A target whose source takes 0.3 s to come back (through its own controls)."""

    aws = None

    def __init__(self) -> None:
        self.mended_ns = 0

    def cannot_deny(self, action: str) -> str | None:
        return None

    def cannot_take_down(self, part: str) -> str | None:
        return None

    def take_down(self, part: str, down: bool, names: object = ()) -> None:
        if not down:
            time.sleep(0.3)
            self.mended_ns = time.time_ns()


def test_a_fault_is_recorded_until_its_end_has_taken_effect() -> None:
    """A change hit while the fault was being mended falls within its record."""
    target = _SlowToMend()
    spec = FaultSpec(kind="source_restart", at_s=0, duration_s=0.1)

    with Nemesis([spec], {}, target) as nemesis:  # type: ignore[arg-type]
        nemesis.begin()
        time.sleep(0.6)

    (record,) = nemesis.records
    assert record.error is None and record.started_ns is not None
    assert record.ended_ns is not None and record.ended_ns >= target.mended_ns > 0


def test_timeouts_allow_their_functions_longest_timeout_beyond_the_duration() -> None:
    """An invocation begun just before the fault's end hangs for its function's timeout."""

    def function(name: str, timeout: int) -> dict[str, object]:
        return {"attributes": {"function_name": name, "timeout": timeout}}

    state = {
        "resources": [
            {
                "mode": "managed",
                "type": "aws_lambda_function",
                "instances": [function("fanin", 60), function("projector", 30)],
            }
        ]
    }
    spec = FaultSpec(kind="lambda_timeouts", at_s=0, duration_s=10)

    (record,) = Nemesis([spec], state, _SlowToMend()).records  # type: ignore[arg-type]

    assert record.targets == ["fanin", "projector"]
    assert record.slack_s == 70.0  # 60 s and the kind's 10 s
    assert KINDS["lambda_timeouts"].slack_s(state, ["projector"]) == 40.0
    assert KINDS["lambda_errors"].slack_s(state, ["projector"]) is None  # the kind's own
