"""Which entries share a load: none in sequential runs; in shared runs every pattern without an
application of its own, one entry per pattern in a group."""

from harness.isolation import account_owner, failures_of, groups, usage_of
from harness.scenario import Entry


def _entries(*pairs: tuple[str, str]) -> list[Entry]:
    return [Entry(name=name, pattern=pattern, variables={}) for name, pattern in pairs]


def _names(grouped: list[list[Entry]]) -> list[list[str]]:
    return [[entry.name for entry in group] for group in grouped]


ENTRIES = _entries(
    ("direct", "direct"),
    ("dms_a", "dms_a"),
    ("dms_b", "dms_b"),
    ("dms_a_naive", "dms_a"),
    ("gateway", "gateway"),
    ("dms_b_naive", "dms_b"),
    ("dms_a_third", "dms_a"),
)


def _has_application(pattern: str) -> bool:
    return pattern in {"direct", "gateway"}


def test_sequential_runs_every_entry_alone_in_order() -> None:
    grouped = groups(ENTRIES, "sequential", _has_application)

    assert _names(grouped) == [[e.name] for e in ENTRIES]


def test_shared_groups_patterns_without_applications_one_variant_each() -> None:
    grouped = groups(ENTRIES, "shared", _has_application)

    assert _names(grouped) == [
        ["direct"],
        ["dms_a", "dms_b"],
        ["dms_a_naive", "dms_b_naive"],
        ["gateway"],
        ["dms_a_third"],
    ]


def test_shared_keeps_every_entry_once() -> None:
    grouped = groups(ENTRIES, "shared", _has_application)

    assert sorted(e.name for g in grouped for e in g) == sorted(e.name for e in ENTRIES)


def test_only_the_first_deployment_creates_a_once_per_account_resource() -> None:
    variables = [
        {"create_dms_vpc_role": False},
        {"other": 1},
        {"create_dms_vpc_role": True},
        {"create_dms_vpc_role": True},
    ]

    extra, owner = account_owner(variables)

    assert owner == 2
    assert extra == [{}, {}, {}, {"create_dms_vpc_role": False}]


def test_no_owner_when_the_account_already_holds_the_resource() -> None:
    assert account_owner([{"create_dms_vpc_role": False}, {}]) == ([{}, {}], None)


def test_a_failure_is_its_own_deployments_or_when_it_names_none_everyones() -> None:
    failures = {
        "DMS task arn:aws:dms:task:AAAA1111": "stopped",
        "Lambda mapping f-bbbb2222 <- stream": "broken",
        "Kafka broker": "gone",
    }
    mine, others = {"arn:aws:dms:task:AAAA1111"}, [{"f-bbbb2222"}]

    assert failures_of(failures, mine, others) == {
        "DMS task arn:aws:dms:task:AAAA1111": "stopped",
        "Kafka broker": "gone",
    }


def test_only_usage_no_other_deployment_incurs_is_attributed() -> None:
    used = {"dynamodb.write_unit": 40.0, "kinesis.put_unit": 9.0, "s3.put_request": 3.0}

    owned = usage_of(used, {"dynamodb.write_unit", "kinesis.put_unit"}, {"dynamodb.write_unit"})

    assert owned == {"kinesis.put_unit": 9.0}
