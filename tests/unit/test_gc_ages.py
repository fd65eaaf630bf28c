"""`cdcbench gc`'s ages: a run's start time read from its id, `--older-than` values, and
which runs are old enough; and how a leftover's ARN names its type."""

from datetime import UTC, datetime, timedelta

import pytest

from harness.gc import Leftover, leftover, parse_age, run_started, select_older, split_arn

NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("run_id", "started"),
    [
        ("20261203-150000-smoke-ab12", datetime(2026, 12, 3, 15, 0, tzinfo=UTC)),
        ("20260101-000001-a-b-c-0f0f", datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC)),
        ("20261203-150000", datetime(2026, 12, 3, 15, 0, tzinfo=UTC)),
        ("smoke-20261203-150000", None),
        ("20261303-150000-smoke-ab12", None),  # month 13
        ("20261203-1500-smoke-ab12", None),
        ("20261203-1500001-smoke", None),
        ("", None),
    ],
)
def test_run_started_reads_the_utc_time_a_run_id_begins_with(
    run_id: str, started: datetime | None
) -> None:
    assert run_started(run_id) == started


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        (" 12 h ", timedelta(hours=12)),
        ("0m", timedelta(0)),
    ],
)
def test_parse_age_reads_minutes_hours_and_days(text: str, age: timedelta) -> None:
    assert parse_age(text) == age


@pytest.mark.parametrize("text", ["", "2", "h", "2x", "-1h", "1.5h", "2hours", "1h30m"])
def test_parse_age_rejects_anything_else_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"invalid age .*e\.g\. 30m, 2h or 1d"):
        parse_age(text)


def _of_run(run_id: str) -> Leftover:
    return leftover(
        "arn:aws:sqs:us-east-1:123456789012:q",
        {"cdcbench:run-id": run_id, "cdcbench:pattern": "direct"},
    )


def test_select_older_keeps_runs_at_least_that_old_and_drops_undated_ones() -> None:
    old = _of_run("20261203-120000-smoke-ab12")  # 3 h
    exactly = _of_run("20261203-130000-smoke-ab12")  # 2 h
    young = _of_run("20261203-145000-smoke-ab12")  # 10 min
    future = _of_run("20261203-160000-smoke-ab12")
    undated = _of_run("manual-run")

    chosen = select_older([old, exactly, young, future, undated], timedelta(hours=2), NOW)

    assert chosen == [old, exactly]
    assert select_older([young, undated], timedelta(0), NOW) == [young]


def test_a_leftover_carries_its_run_pattern_and_start() -> None:
    item = _of_run("20261203-120000-smoke-ab12")

    assert (item.service, item.resource_type, item.resource_id) == ("sqs", "queue", "q")
    assert (item.run_id, item.pattern) == ("20261203-120000-smoke-ab12", "direct")
    assert item.started == datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    assert leftover(item.arn, {"cdcbench:run-id": "x"}).pattern is None


@pytest.mark.parametrize(
    ("arn", "parts"),
    [
        ("arn:aws:s3:::cdcbench-x-archive", ("s3", "bucket", "cdcbench-x-archive")),
        ("arn:aws:lambda:us-east-1:1:function:fn", ("lambda", "function", "fn")),
        ("arn:aws:dynamodb:us-east-1:1:table/t", ("dynamodb", "table", "t")),
        (
            "arn:aws:logs:us-east-1:1:log-group:/aws/lambda/fn",
            ("logs", "log-group", "/aws/lambda/fn"),
        ),
        ("arn:aws:dms:us-east-1:1:subgrp:g", ("dms", "subgrp", "g")),
        ("arn:aws:kafka:us-east-1:1:cluster/c/uuid-1", ("kafka", "cluster", "c/uuid-1")),
        (
            "arn:aws:kafkaconnect:us-east-1:1:custom-plugin/p/uuid-1",
            ("kafkaconnect", "custom-plugin", "p/uuid-1"),
        ),
        ("arn:aws:scheduler:us-east-1:1:schedule/g/s", ("scheduler", "schedule", "g/s")),
        ("arn:aws:ec2:us-east-1:1:security-group/sg-1", ("ec2", "security-group", "sg-1")),
        ("arn:aws:iam::1:role/service/r", ("iam", "role", "service/r")),
    ],
)
def test_split_arn_names_service_type_and_resource(arn: str, parts: tuple[str, str, str]) -> None:
    assert split_arn(arn) == parts


def test_split_arn_refuses_what_is_no_arn() -> None:
    with pytest.raises(ValueError, match="not an ARN"):
        split_arn("cdcbench-x-queue")
