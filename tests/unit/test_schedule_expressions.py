"""EventBridge schedule expressions: what AWS accepts, and when each one fires (UTC)."""

import json
from datetime import UTC, datetime

import pytest

from harness.local.schedules import (
    Rate,
    ScheduleError,
    next_fire,
    parse,
    scheduled_event,
    target_input,
)


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def _fires(expression: str, after: str) -> str | None:
    fired = next_fire(parse(expression), _at(after), anchor=0.0)
    return None if fired is None else datetime.fromtimestamp(fired, UTC).isoformat()[:16]


@pytest.mark.parametrize(
    ("expression", "period_s"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(2 days)", 172800),
    ],
)
def test_rates(expression: str, period_s: int) -> None:
    assert parse(expression) == Rate(period_s)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("rate(1 minutes)", "rate(1 minutes): write rate(1 minute)"),
        ("rate(5 hour)", "rate(5 hour): write rate(5 hours)"),
        ("rate(0 minutes)", "rate(0 minutes): the rate must be a positive number"),
        ("rate(30 seconds)", "'rate(30 seconds)' is neither rate(value unit) nor cron(6 fields)"),
        ("cron(0 10 * * *)", "cron(0 10 * * *): cron takes 6 fields (minutes hours"),
        ("cron(0 10 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 10 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(60 * * * ? *)", "minutes '60' is not a value from 0 to 59"),
        ("cron(0 17-8 * * ? *)", "hours range '17-8' runs backwards"),
        ("cron(0/0 * * * ? *)", "minutes '0/0': the step after '/' must be a positive number"),
        ("cron(0 0 ? * 2,3#1 *)", "day-of-week '2,3#1': '#' takes one day and a week 1-5"),
        ("cron(0 0 ? * 2#6 *)", "day-of-week '2#6': '#' takes one day and a week 1-5"),
        ("cron(0 0 ? * 1/2 *)", "day-of-week '1/2': '/' is not allowed in this field"),
        ("cron(0 0 ? * FUN *)", "day-of-week 'FUN' is not a value from 1 to 7"),
        ("cron(0 0 ? * 0 *)", "day-of-week '0' is not a value from 1 to 7"),
        ("cron(0 0 1 13 ? *)", "month '13' is not a value from 1 to 12"),
        ("cron(0 0 1 1 ? 2200)", "year '2200' is not a value from 1970 to 2199"),
        ("cron(0 0 1-5W * ? *)", "day-of-month '1-5W': 'W' follows a single day"),
    ],
)
def test_what_aws_refuses_is_refused_in_one_line(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError) as refused:
        parse(expression)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_rate_fires_at_its_anchor_then_every_period_strictly_after() -> None:
    rate = parse("rate(5 minutes)")
    assert next_fire(rate, after=100.0, anchor=400.0) == 400.0
    assert next_fire(rate, after=400.0, anchor=400.0) == 700.0
    assert next_fire(rate, after=1150.0, anchor=400.0) == 1300.0  # missed ones skipped


@pytest.mark.parametrize(
    ("expression", "after", "fires"),
    [
        # Thursday 2024-01-25 04:46:30 UTC unless stated otherwise.
        ("cron(0/15 * * * ? *)", "2024-01-25T04:46:30", "2024-01-25T05:00"),
        ("cron(0/15 * * * ? *)", "2024-01-25T05:00:00", "2024-01-25T05:15"),
        ("cron(*/20 * * * ? *)", "2024-01-25T04:46:30", "2024-01-25T05:00"),
        ("cron(15,45 * * * ? *)", "2024-01-25T04:46:30", "2024-01-25T05:15"),
        ("cron(10-30/10 * * * ? *)", "2024-01-25T04:46:30", "2024-01-25T05:10"),
        ("cron(0 10 * * ? *)", "2024-01-25T04:46:30", "2024-01-25T10:00"),
        ("cron(0 8 1 * ? *)", "2024-01-25T04:46:30", "2024-02-01T08:00"),
        ("cron(0 0 1 jan-mar ? *)", "2024-03-02T00:00:00", "2025-01-01T00:00"),
        ("cron(0 18 ? * MON-FRI *)", "2024-01-26T18:00:00", "2024-01-29T18:00"),
        ("cron(0 18 ? * 2-6 *)", "2024-01-26T18:00:00", "2024-01-29T18:00"),  # 1 is Sunday
        ("cron(0 12 ? * 1 *)", "2024-01-25T04:46:30", "2024-01-28T12:00"),
        ("cron(0/5 8-17 ? * MON-FRI *)", "2024-01-26T17:55:00", "2024-01-29T08:00"),
        ("cron(0 0 1 1 ? 2030)", "2024-01-25T04:46:30", "2030-01-01T00:00"),
        ("cron(0 0 L * ? *)", "2024-02-10T00:00:00", "2024-02-29T00:00"),
        ("cron(0 0 ? * 6L *)", "2024-01-01T00:00:00", "2024-01-26T00:00"),
        ("cron(0 0 ? * L *)", "2024-01-25T04:46:30", "2024-01-27T00:00"),
        ("cron(0 0 ? * 3#2 *)", "2024-02-01T00:00:00", "2024-02-13T00:00"),
        ("cron(0 9 15W * ? *)", "2024-06-01T00:00:00", "2024-06-14T09:00"),
        ("cron(0 9 1W * ? *)", "2024-05-31T12:00:00", "2024-06-03T09:00"),
        ("cron(0 9 LW * ? *)", "2024-06-01T00:00:00", "2024-06-28T09:00"),
        ("cron(0 0 1 1 ? 2020)", "2024-01-25T04:46:30", None),
        ("cron(0 0 30 2 ? *)", "2024-01-25T04:46:30", None),
    ],
)
def test_cron_fires_at_the_next_matching_minute(
    expression: str, after: str, fires: str | None
) -> None:
    assert _fires(expression, after) == fires


def test_the_scheduled_event_has_aws_shape() -> None:
    arn = "arn:aws:events:eu-west-1:123456789012:rule/nightly"
    event = scheduled_event(arn, _at("2024-01-25T05:00:00.400"))
    assert len(event.pop("id")) == 36
    assert event == {
        "version": "0",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2024-01-25T05:00:00Z",
        "region": "eu-west-1",
        "resources": [arn],
        "detail": {},
    }


def test_a_target_gets_the_event_its_input_or_the_part_its_input_path_selects() -> None:
    event = scheduled_event("arn:aws:events:us-east-1:123456789012:rule/r", 0.0)
    target = {"Id": "t", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:f"}
    assert json.loads(target_input(target, event)) == event
    assert target_input({**target, "Input": '{"job": 1}'}, event) == '{"job": 1}'
    assert target_input({**target, "InputPath": "$.detail"}, event) == "{}"
    assert target_input({**target, "InputPath": "$.resources"}, event) == json.dumps(
        event["resources"]
    )
    with pytest.raises(ValueError, match=r"InputPath '\$\.a\[0\]' is not emulated locally"):
        target_input({**target, "InputPath": "$.a[0]"}, event)
    transformer = {"InputPathsMap": {}, "InputTemplate": "x"}
    with pytest.raises(ValueError, match="InputTransformer is not emulated locally"):
        target_input({**target, "InputTransformer": transformer}, event)
