"""Workload: simulate many plans with settle() and check the invariants the checkers rely on."""

from collections import Counter
from dataclasses import dataclass, field

import pytest

from harness.load.schema import TABLE
from harness.load.workload import PlannedChange, Workload
from harness.scenario import WorkloadSpec

N = 5000
SEED = 20240611
MIX = {"insert": 50.0, "update": 40.0, "delete": 10.0}
ABORT_RATIO = 0.1


@dataclass
class Model:
    """What the source holds after each settled plan, tracked independently of Workload."""

    versions: dict[int, int] = field(default_factory=dict)
    live: set[int] = field(default_factory=set)
    deleted: set[int] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)

    def apply(self, plan: PlannedChange) -> None:
        previous = self.versions.get(plan.key)
        if plan.version != (previous or 0) + 1:
            self.violations.append(f"key {plan.key}: version {plan.version} after {previous}")
        if plan.op == "insert" and previous is not None:
            self.violations.append(f"insert of already used key {plan.key}")
        if plan.op != "insert" and plan.key not in self.live:
            self.violations.append(f"{plan.op} of key {plan.key} that is not live")
        if plan.key in self.deleted:
            self.violations.append(f"{plan.op} of deleted key {plan.key}")
        if plan.abort:
            return
        self.versions[plan.key] = plan.version
        if plan.op == "insert":
            self.live.add(plan.key)
        elif plan.op == "delete":
            self.live.remove(plan.key)
            self.deleted.add(plan.key)


def simulate(spec: WorkloadSpec, n: int, seed: int = SEED) -> tuple[list[PlannedChange], Model]:
    workload = Workload(spec, seed=seed)
    model = Model()
    plans = []
    for _ in range(n):
        planned = workload.plan()
        model.apply(planned)
        workload.settle(planned, committed=not planned.abort)
        plans.append(planned)
    return plans, model


@pytest.fixture(scope="module")
def simulated() -> tuple[list[PlannedChange], Model]:
    return simulate(WorkloadSpec(mix=MIX, abort_ratio=ABORT_RATIO), N)


def test_simulation_exercises_every_operation_and_aborts(
    simulated: tuple[list[PlannedChange], Model],
) -> None:
    plans, model = simulated
    ops = Counter(p.op for p in plans)
    aborted_ops = Counter(p.op for p in plans if p.abort)

    assert set(ops) == {"insert", "update", "delete"}
    assert set(aborted_ops) == {"insert", "update", "delete"}
    assert model.deleted


def test_committed_versions_per_key_are_consecutive_across_aborts_and_deletes(
    simulated: tuple[list[PlannedChange], Model],
) -> None:
    plans, _ = simulated
    last: dict[int, int] = {}
    for plan in plans:
        assert plan.version == last.get(plan.key, 0) + 1, plan
        if not plan.abort:
            last[plan.key] = plan.version


def test_inserts_use_fresh_keys_at_version_one(
    simulated: tuple[list[PlannedChange], Model],
) -> None:
    plans, _ = simulated
    inserts = [p for p in plans if p.op == "insert"]

    assert all(p.version == 1 for p in inserts)
    assert len({p.key for p in inserts}) == len(inserts)


def test_aborted_change_gives_its_version_back(
    simulated: tuple[list[PlannedChange], Model],
) -> None:
    plans, _ = simulated
    after_abort = {}
    for plan in plans:
        if plan.op != "insert" and plan.key in after_abort:
            # The next change to a key whose update was rolled back takes that same version,
            # so a delete's tombstone is always the deleted row's version + 1.
            assert plan.version == after_abort.pop(plan.key)
        if plan.abort and plan.op == "update":
            after_abort[plan.key] = plan.version

    assert any(p.abort and p.op == "update" for p in plans)


def test_updates_and_deletes_only_target_live_keys_and_deleted_keys_stay_dead(
    simulated: tuple[list[PlannedChange], Model],
) -> None:
    _, model = simulated

    assert model.violations == []


def test_abort_share_is_near_abort_ratio(simulated: tuple[list[PlannedChange], Model]) -> None:
    plans, _ = simulated
    share = sum(p.abort for p in plans) / len(plans)

    # Binomial sd = sqrt(0.1 * 0.9 / 5000) ~ 0.0042; allow ~5 sd.
    assert share == pytest.approx(ABORT_RATIO, abs=0.02)


def test_no_aborts_when_abort_ratio_is_zero() -> None:
    plans, _ = simulate(WorkloadSpec(mix=MIX, abort_ratio=0.0), 1000)

    assert not any(p.abort for p in plans)


def test_op_mix_follows_weights(simulated: tuple[list[PlannedChange], Model]) -> None:
    plans, _ = simulated
    ops = Counter(p.op for p in plans)
    total = sum(MIX.values())

    # Binomial sd <= sqrt(0.25 / 5000) ~ 0.007; allow ~5 sd.
    for op, weight in MIX.items():
        assert ops[op] / len(plans) == pytest.approx(weight / total, abs=0.035), op


def test_row_images_for_inserts_and_updates_none_for_deletes(
    simulated: tuple[list[PlannedChange], Model],
) -> None:
    plans, _ = simulated
    for plan in plans:
        assert plan.table == TABLE
        if plan.op == "delete":
            assert plan.row is None
        else:
            assert plan.row is not None
            assert plan.row["id"] == plan.key
            assert plan.row["version"] == plan.version


def test_same_seed_gives_same_plans() -> None:
    spec = WorkloadSpec(mix=MIX, abort_ratio=ABORT_RATIO)

    def shape(plans: list[PlannedChange]) -> list[tuple[str, int, int, bool]]:
        return [(p.op, p.key, p.version, p.abort) for p in plans]

    first, _ = simulate(spec, 300, seed=1)
    again, _ = simulate(spec, 300, seed=1)

    assert shape(first) == shape(again)


def test_updates_and_deletes_need_a_live_key_so_insert_comes_first() -> None:
    # Insert weight is the smallest valid one: updates and deletes are chosen whenever
    # a live key exists, and an insert is made whenever none does.
    spec = WorkloadSpec(mix={"insert": 1e-9, "update": 1.0, "delete": 1.0}, abort_ratio=0.2)
    plans, model = simulate(spec, 400)

    assert plans[0].op == "insert"
    assert plans[0].key == 1
    assert model.violations == []
    live: set[int] = set()
    for plan in plans:
        assert (plan.op == "insert") == (not live), plan
        if not plan.abort and plan.op == "insert":
            live.add(plan.key)
        elif not plan.abort and plan.op == "delete":
            live.discard(plan.key)
    assert {p.op for p in plans} == {"insert", "update", "delete"}
