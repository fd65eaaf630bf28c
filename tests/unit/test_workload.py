"""Workload: plans (op, key, abort, values) over a key space; the database assigns versions."""

import dataclasses
import string
from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from harness.load.workload import KeySpace, Plan, Workload
from harness.scenario import WorkloadSpec

SEED = 20240611
N = 20_000
MIX = {"insert": 40.0, "update": 40.0, "delete": 5.0, "order": 15.0}
ORDER_STATUSES = {"new", "paid", "shipped", None}


def spec(**fields: Any) -> WorkloadSpec:
    return WorkloadSpec.model_validate(fields)


def keyspace(newest: int) -> KeySpace:
    keys = KeySpace()
    if newest:
        keys.saw(newest)
    return keys


def plans(workload_spec: WorkloadSpec, newest: int, n: int = N, seed: int = SEED) -> list[Plan]:
    workload = Workload(workload_spec, keyspace(newest), seed=seed)
    return [workload.plan() for _ in range(n)]


def keyed(workload_spec: WorkloadSpec, newest: int, n: int = N) -> list[int]:
    """Keys of the non-insert plans."""
    found = [p.key for p in plans(workload_spec, newest, n) if p.op != "insert"]
    assert all(isinstance(k, int) for k in found)
    return [k for k in found if k is not None]


def test_a_plan_has_no_version_the_database_assigns_it() -> None:
    assert [f.name for f in dataclasses.fields(Plan)] == ["op", "key", "abort", "values", "hold_s"]


def test_a_share_of_transactions_is_held_open_for_the_given_time() -> None:
    assert {p.hold_s for p in plans(spec(mix=MIX), 50, 2_000)} == {0.0}
    held = [p.hold_s for p in plans(spec(mix=MIX, hold_open_ratio=0.1, hold_open_s=2.5), 50)]
    assert set(held) == {0.0, 2.5}
    assert 0.09 < held.count(2.5) / len(held) < 0.11


def test_empty_key_space_plans_only_inserts() -> None:
    heavy = spec(mix={"insert": 1, "update": 50, "delete": 50, "order": 50})
    made = plans(heavy, newest=0, n=2_000)
    assert {p.op for p in made} == {"insert"}
    assert all(p.key is None for p in made)
    assert all(set(p.values) == {"name", "price", "produced_at", "attrs", "notes"} for p in made)


def test_key_space_remembers_the_newest_id_seen() -> None:
    keys = KeySpace()
    assert keys.newest == 0
    for key in (3, 7, 5, 1):
        keys.saw(key)
    assert keys.newest == 7


def test_same_seed_same_plans() -> None:
    assert plans(spec(mix=MIX), 50, 500) == plans(spec(mix=MIX), 50, 500)
    assert plans(spec(mix=MIX), 50, 500) != plans(spec(mix=MIX), 50, 500, seed=SEED + 1)


@pytest.mark.parametrize("keys", ["uniform", "zipf"])
def test_updates_deletes_and_orders_pick_existing_ids(keys: str) -> None:
    made = plans(spec(mix=MIX, keys=keys), newest=37)
    for plan in made:
        if plan.op == "insert":
            assert plan.key is None
        else:
            assert plan.key is not None and 1 <= plan.key <= 37
    assert {p.op for p in made} == set(MIX)


def test_uniform_picks_cover_the_range_evenly() -> None:
    picks = keyed(spec(mix={"insert": 1, "update": 99}, keys="uniform"), newest=20)
    counts = Counter(picks)
    assert set(counts) == set(range(1, 21))
    expected = len(picks) / 20
    assert all(0.85 * expected <= c <= 1.15 * expected for c in counts.values()), counts


def test_zipf_picks_concentrate_on_the_newest_ids() -> None:
    n = 1_000
    zipf = keyed(spec(mix={"insert": 1, "update": 99}, keys="zipf", zipf_s=1.1), newest=n)
    uniform = keyed(spec(mix={"insert": 1, "update": 99}, keys="uniform"), newest=n)
    assert min(zipf) >= 1 and max(zipf) <= n
    assert max(zipf) == n  # the newest id is the hottest

    def top_share(picks: list[int]) -> float:
        return sum(k > n - n // 100 for k in picks) / len(picks)

    assert top_share(uniform) < 0.02
    assert top_share(zipf) > 0.25
    assert top_share(zipf) > 10 * top_share(uniform)
    counts = Counter(zipf)
    assert counts[n] > counts[n - 1] > counts[n - 10] > counts[n - 100]


def test_higher_zipf_exponent_is_more_skewed() -> None:
    n = 1_000

    def newest_share(s: float) -> float:
        picks = keyed(spec(mix={"insert": 1, "update": 99}, keys="zipf", zipf_s=s), newest=n)
        return picks.count(n) / len(picks)

    assert newest_share(0.5) < newest_share(1.1) < newest_share(2.0)


@pytest.mark.parametrize("s", [0.5, 1.0, 1.1, 2.0])
def test_zipf_stays_in_range_for_tiny_key_spaces(s: float) -> None:
    assert set(keyed(spec(mix={"insert": 1, "update": 99}, keys="zipf", zipf_s=s), 1, 500)) == {1}
    for n in (2, 3, 10):
        picks = keyed(spec(mix={"insert": 1, "update": 99}, keys="zipf", zipf_s=s), n, 2_000)
        assert all(1 <= k <= n for k in picks)


@pytest.mark.parametrize("s", [0.5, 1.1, 2.0])
def test_zipf_can_pick_every_id_including_the_oldest(s: float) -> None:
    """Skewed, but no existing id is unreachable: with 5 ids and 20000 picks, the least
    likely (the oldest, rank 5: P ~ 5^-s / sum k^-s, over 2.5% for s <= 2) shows up."""
    picks = keyed(spec(mix={"insert": 1, "update": 99}, keys="zipf", zipf_s=s), newest=5)
    assert set(picks) == {1, 2, 3, 4, 5}, Counter(picks)


def test_op_mix_follows_the_weights() -> None:
    made = plans(spec(mix=MIX), newest=100)
    counts = Counter(p.op for p in made)
    total = sum(MIX.values())
    for op, weight in MIX.items():
        assert abs(counts[op] / N - weight / total) < 0.02, counts


def test_zero_weight_ops_never_happen() -> None:
    made = plans(spec(mix={"insert": 1, "update": 1, "delete": 0}), newest=10, n=2_000)
    assert {p.op for p in made} == {"insert", "update"}


@pytest.mark.parametrize("ratio", [0.0, 0.1, 0.5])
def test_abort_share_is_near_the_abort_ratio(ratio: float) -> None:
    made = plans(spec(mix=MIX, abort_ratio=ratio), newest=100)
    share = sum(p.abort for p in made) / N
    assert abs(share - ratio) < 0.015
    if ratio:  # every kind of operation gets aborted sometimes
        assert {p.op for p in made if p.abort} == set(MIX)


def widget_values(**fields: Any) -> list[dict[str, Any]]:
    made = plans(spec(mix={"insert": 1, "update": 1}, **fields), newest=10, n=4_000)
    return [p.values for p in made]


def test_widget_values_stress_replication_fidelity() -> None:
    values = widget_values()
    assert all(set(v) == {"name", "price", "produced_at", "attrs", "notes"} for v in values)
    prices = [v["price"] for v in values]
    produced = [v["produced_at"] for v in values]
    assert 0.05 < prices.count(None) / len(values) < 0.15
    assert 0.15 < produced.count(None) / len(values) < 0.25
    assert all(v["notes"] is None for v in values)  # lob_ratio 0
    for price in prices:
        if price is not None:
            assert isinstance(price, Decimal)
            assert price > 0 and price < Decimal(10) ** 15  # fits numeric(19, 4)
            exponent = price.as_tuple().exponent
            assert isinstance(exponent, int) and exponent >= -4
    assert any(p is not None and p != p.quantize(Decimal(1)) for p in prices)
    for at in produced:
        if at is not None:
            assert isinstance(at, datetime)
            assert at.tzinfo is not None and at.utcoffset() is not None
    names = [v["name"] for v in values]
    assert all(isinstance(n, str) and n for n in names)
    assert any(not n.isascii() for n in names)
    assert any(ord(ch) > 0xFFFF for n in names for ch in n)  # beyond the BMP (emoji)
    assert any("'" in n and '"' in n for n in names)
    assert len(set(names)) > len(names) // 2
    assert all(isinstance(v["attrs"], dict) for v in values)


@pytest.mark.parametrize("size", [1, 64, 1_000, 12_345])
def test_lob_ratio_one_gives_notes_of_exactly_lob_bytes_characters(size: int) -> None:
    values = widget_values(lob_ratio=1.0, lob_bytes=size)
    assert all(isinstance(v["notes"], str) and len(v["notes"]) == size for v in values)
    allowed = set(string.ascii_letters + "äöü€ ")
    assert all(set(v["notes"]) <= allowed for v in values[:50])


def test_lob_ratio_half_gives_large_notes_to_about_half() -> None:
    values = widget_values(lob_ratio=0.5, lob_bytes=100)
    large = sum(v["notes"] is not None for v in values) / len(values)
    assert 0.45 < large < 0.55
    assert all(v["notes"] is None or len(v["notes"]) == 100 for v in values)


def test_a_lob_burst_gives_every_widget_written_large_notes() -> None:
    """While a burst is under way every widget written carries notes of lob_bytes, whatever
    lob_ratio says; without it, lob_ratio 0 gives none."""
    workload_spec = spec(mix={"insert": 1, "update": 1, "delete": 1}, lob_bytes=500)
    bursting = Workload(workload_spec, keyspace(10), seed=SEED)
    written = [p for p in (bursting.plan(bursting=True) for _ in range(300)) if p.op != "delete"]
    assert written and all(len(p.values["notes"]) == 500 for p in written)
    assert all(p.values.get("notes") is None for p in plans(workload_spec, newest=10, n=300))


def test_order_values() -> None:
    made = [p for p in plans(spec(mix={"insert": 1, "order": 99}), newest=10) if p.op == "order"]
    assert len(made) > N * 0.9
    statuses = set()
    for plan in made:
        v = plan.values
        assert set(v) == {"quantity", "amount", "status", "meta"}
        assert isinstance(v["quantity"], int) and 1 <= v["quantity"] <= 1_000
        assert isinstance(v["amount"], Decimal) and v["amount"] > 0
        exponent = v["amount"].as_tuple().exponent
        assert isinstance(exponent, int) and exponent >= -4
        assert v["status"] in ORDER_STATUSES
        assert isinstance(v["meta"], dict) and "channel" in v["meta"]
        statuses.add(v["status"])
    assert statuses == ORDER_STATUSES  # NULL status included


def test_delete_plans_have_no_values() -> None:
    made = [p for p in plans(spec(mix={"insert": 1, "delete": 9}), newest=10) if p.op == "delete"]
    assert made
    assert all(p.values == {} for p in made)


def test_inserts_and_updates_carry_fresh_widget_values() -> None:
    made = plans(spec(mix={"insert": 1, "update": 1}), newest=10, n=200)
    assert {p.op for p in made} == {"insert", "update"}
    names = Counter(p.values["name"] for p in made)
    assert names.most_common(1)[0][1] <= 3


def test_key_picks_use_the_workload_rng_only() -> None:
    """Two workloads sharing one key space do not disturb each other's sequences."""
    shared = keyspace(50)
    a, b = Workload(spec(mix=MIX), shared, seed=1), Workload(spec(mix=MIX), shared, seed=1)
    interleaved = []
    for _ in range(100):
        interleaved.append(a.plan())
        b.plan()
    alone = Workload(spec(mix=MIX), keyspace(50), seed=1)
    assert interleaved == [alone.plan() for _ in range(100)]


@pytest.mark.parametrize(
    ("kind", "python_type"),
    [("text", str), ("int", int), ("numeric", Decimal), ("timestamptz", datetime), ("json", dict)],
)
def test_an_added_column_is_written_by_every_later_insert_and_update(
    kind: str, python_type: type
) -> None:
    workload = Workload(spec(mix=MIX), keyspace(50), seed=SEED)
    assert all("extra" not in workload.plan().values for _ in range(200))

    workload.add_column("widgets", "extra", kind)
    later = [workload.plan() for _ in range(2_000)]

    writes = [p for p in later if p.op in ("insert", "update")]
    assert writes and all(isinstance(p.values["extra"], python_type) for p in writes)
    assert all("extra" not in p.values for p in later if p.op in ("order", "delete"))


def test_a_column_added_to_orders_is_written_by_every_later_order() -> None:
    workload = Workload(spec(mix=MIX), keyspace(50), seed=SEED)
    workload.add_column("orders", "carrier", "text")
    later = [workload.plan() for _ in range(2_000)]

    assert all(isinstance(p.values["carrier"], str) for p in later if p.op == "order")
    assert all("carrier" not in p.values for p in later if p.op != "order")


def test_a_falsy_share_of_rows_hold_zeros_and_empty_strings() -> None:
    found = plans(spec(mix=MIX, falsy_ratio=0.25), newest=100, n=4_000)
    widgets = [p.values for p in found if p.op in ("insert", "update")]
    orders = [p.values for p in found if p.op == "order"]

    falsy_widgets = [v for v in widgets if v["price"] == 0 and v["notes"] == ""]
    falsy_orders = [v for v in orders if (v["quantity"], v["amount"], v["status"]) == (0, 0, "")]
    assert len(falsy_widgets) / len(widgets) == pytest.approx(0.25, abs=0.04)
    assert len(falsy_orders) / len(orders) == pytest.approx(0.25, abs=0.06)
    # by default, no row holds them
    default = plans(spec(mix=MIX), newest=100, n=4_000)
    assert not any(p.values.get("notes") == "" or p.values.get("quantity") == 0 for p in default)
