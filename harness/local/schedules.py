"""EventBridge schedule rules, run locally: every ENABLED rule on the default bus with a
`ScheduleExpression` fires on schedule and invokes its Lambda targets asynchronously.

The rules are re-read about every second. A rate rule first fires one period after the
engine first sees it (AWS fires within the first period after creation; the delay is a
constructor parameter), then every period; a cron rule fires at the start of each
matching UTC minute (AWS fires at some second within that minute). Missed firings are not
made up. Each Lambda target gets AWS's Scheduled Event payload, or its constant `Input`,
or the part of the event its `InputPath` (`$` or `$.a.b`) selects. A rule whose expression
AWS would refuse, or whose targets cannot be delivered here (other services,
InputTransformer), is listed in `failures` with one line.

The expressions are parsed here: croniter, the well-kept Python cron library, reads a
sixth field as seconds (a year only as a seventh), numbers weekdays 0-6 from Sunday where
AWS numbers them 1-7, and knows nothing of AWS's rule that exactly one of day-of-month
and day-of-week is `?`, so each AWS field would need rewriting before it could be used;
the AWS-specific parsers on PyPI are small single-maintainer projects.
"""

from __future__ import annotations

import calendar
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from harness.aws import AwsAccess
from harness.local.control_loop import ControlLoop

log = logging.getLogger("harness.local.schedules")

POLL_S = 1.0
MIN_YEAR, MAX_YEAR = 1970, 2199
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"rate\((\d+) (minute|hour|day)(s?)\)")
_CRON = re.compile(r"cron\((.*)\)")
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    )
}
_WEEKDAYS = {d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
_LAMBDA_ARN = re.compile(r"arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+(:[\w$-]+)?")
_INPUT_PATH = re.compile(r"\$((?:\.[\w-]+)*)")


class ScheduleError(ValueError):
    """A schedule expression AWS would refuse; the message says why in one line."""


@dataclass(frozen=True)
class Rate:
    period_s: int


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: frozenset[int]
    day: Callable[[date], bool]
    """Whether a date matches the day-of-month or day-of-week field (the one not `?`)."""


Schedule = Rate | Cron


def _aws_weekday(day: date) -> int:
    """AWS's day-of-week number: 1 = Sunday ... 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _values(field: str, text: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    """The values a plain field (`,` `-` `*` `/`) selects."""

    def number(token: str) -> int:
        value = names.get(token.upper()) if not token.isdigit() else int(token)
        if value is None or not low <= value <= high:
            raise ScheduleError(f"{field} {token!r} is not a value from {low} to {high}")
        return value

    selected: set[int] = set()
    for item in text.split(","):
        span, _, step_text = item.partition("/")
        if step_text and not (step_text.isdigit() and int(step_text) > 0):
            raise ScheduleError(f"{field} {item!r}: the step after '/' must be a positive number")
        if span == "*":
            first, last = low, high
        elif "-" in span:
            start, _, end = span.partition("-")
            first, last = number(start), number(end)
            if first > last:
                raise ScheduleError(f"{field} range {span!r} runs backwards")
        else:
            first = number(span)
            last = high if step_text else first
        selected.update(range(first, last + 1, int(step_text or 1)))
    return selected


def _nearest_weekday(day: date, target: int) -> bool:
    """Whether `day` is the weekday nearest the month's day `target`, never crossing into
    another month."""
    last = _last_day(day)
    if target > last:
        return False
    wanted = day.replace(day=target)
    if wanted.weekday() == 5:  # Saturday: the Friday before (the Monday after the 1st)
        wanted += timedelta(days=-1 if target > 1 else 2)
    elif wanted.weekday() == 6:  # Sunday: the Monday after (the Friday before the last)
        wanted += timedelta(days=1 if target < last else -2)
    return day == wanted


def _last_weekday(day: date) -> bool:
    last = day.replace(day=_last_day(day))
    while last.weekday() > 4:
        last -= timedelta(days=1)
    return day == last


def _day_of_month(text: str) -> Callable[[date], bool]:
    if text == "L":
        return lambda day: day.day == _last_day(day)
    if text == "LW":
        return _last_weekday
    if text.endswith("W"):
        if not text[:-1].isdigit():
            raise ScheduleError(f"day-of-month {text!r}: 'W' follows a single day, e.g. 15W")
        target = min(_values("day-of-month", text[:-1], 1, 31, {}))
        return lambda day: _nearest_weekday(day, target)
    days = _values("day-of-month", text, 1, 31, {})
    return lambda day: day.day in days


def _day_of_week(text: str) -> Callable[[date], bool]:
    field = "day-of-week"
    if "/" in text:
        raise ScheduleError(f"{field} {text!r}: '/' is not allowed in this field")
    if "#" in text:
        weekday_text, _, nth = text.partition("#")
        if "," in text or "-" in weekday_text or nth not in {"1", "2", "3", "4", "5"}:
            raise ScheduleError(f"{field} {text!r}: '#' takes one day and a week 1-5, e.g. 3#2")
        weekday = min(_values(field, weekday_text, 1, 7, _WEEKDAYS))
        return lambda day: _aws_weekday(day) == weekday and (day.day - 1) // 7 + 1 == int(nth)
    if text == "L":
        text = "7"  # the last day of the week: Saturday
    elif text.endswith("L"):
        if "," in text or "-" in text:
            raise ScheduleError(f"{field} {text!r}: 'L' follows a single day, e.g. 6L")
        weekday = min(_values(field, text[:-1], 1, 7, _WEEKDAYS))
        return lambda day: _aws_weekday(day) == weekday and day.day + 7 > _last_day(day)
    weekdays = _values(field, text, 1, 7, _WEEKDAYS)
    return lambda day: _aws_weekday(day) in weekdays


def _cron(fields: list[str]) -> Cron:
    if len(fields) != 6:
        raise ScheduleError(
            "cron takes 6 fields (minutes hours day-of-month month day-of-week year), "
            f"got {len(fields)}"
        )
    minutes, hours, day_of_month, month, day_of_week, year = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ScheduleError("exactly one of day-of-month and day-of-week must be '?'")
    day = _day_of_week(day_of_week) if day_of_month == "?" else _day_of_month(day_of_month)
    return Cron(
        minutes=tuple(sorted(_values("minutes", minutes, 0, 59, {}))),
        hours=tuple(sorted(_values("hours", hours, 0, 23, {}))),
        months=frozenset(_values("month", month, 1, 12, _MONTHS)),
        years=frozenset(_values("year", year, MIN_YEAR, MAX_YEAR, {})),
        day=day,
    )


def parse(expression: str) -> Schedule:
    """The schedule an EventBridge `rate(...)` or `cron(...)` expression describes."""
    rate = _RATE.fullmatch(expression)
    if rate:
        value, unit, plural = int(rate[1]), rate[2], rate[3]
        if value == 0:
            raise ScheduleError(f"{expression}: the rate must be a positive number")
        if (value == 1) == bool(plural):
            wanted = unit if value == 1 else unit + "s"
            raise ScheduleError(f"{expression}: write rate({value} {wanted})")
        return Rate(value * _UNITS[unit])
    cron = _CRON.fullmatch(expression)
    if cron:
        try:
            return _cron(cron[1].split())
        except ScheduleError as exc:
            raise ScheduleError(f"{expression}: {exc}") from None
    raise ScheduleError(
        f"{expression!r} is neither rate(value unit) nor cron(6 fields): see the "
        "EventBridge schedule expression reference"
    )


def next_fire(schedule: Schedule, after: float, anchor: float) -> float | None:
    """The first firing strictly after `after` (epoch seconds); None if there is none.

    A rate schedule fires at `anchor` and every period from it; a cron schedule at the
    start of each matching UTC minute."""
    if isinstance(schedule, Rate):
        if after < anchor:
            return anchor
        return anchor + schedule.period_s * ((after - anchor) // schedule.period_s + 1)
    start = datetime.fromtimestamp((after // 60 + 1) * 60, UTC)
    day = start.date()
    while day.year <= MAX_YEAR:
        if day.year not in schedule.years:
            day = date(day.year + 1, 1, 1)
        elif day.month not in schedule.months:
            day = day.replace(day=_last_day(day)) + timedelta(days=1)
        else:
            if schedule.day(day):
                for hour in schedule.hours:
                    for minute in schedule.minutes:
                        at = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if at >= start:
                            return at.timestamp()
            day += timedelta(days=1)
    return None


def scheduled_event(rule_arn: str, at: float) -> dict[str, Any]:
    """AWS's Scheduled Event for a firing of `rule_arn` scheduled at `at`."""
    region, account = rule_arn.split(":")[3:5]
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


def target_input(target: dict[str, Any], event: dict[str, Any]) -> str:
    """What a target receives for `event`: its constant Input, the part its InputPath
    selects, or the whole event."""
    if target.get("InputTransformer"):
        raise ValueError("InputTransformer is not emulated locally: use Input or InputPath")
    if target.get("Input") is not None:
        return str(target["Input"])
    path = target.get("InputPath")
    if not path:
        return json.dumps(event)
    match = _INPUT_PATH.fullmatch(path)
    if not match:
        raise ValueError(f"InputPath {path!r} is not emulated locally: use $ or $.a.b")
    value: Any = event
    for key in match[1].split(".")[1:]:
        value = value.get(key) if isinstance(value, dict) else None
    return json.dumps(value)


@dataclass
class _Rule:
    name: str
    expression: str
    schedule: Schedule | None
    """None: the expression did not parse (the rule is in `failures`)."""
    next_at: float | None


class ScheduleEngine(ControlLoop):
    title = "schedule engine"
    serves = "events"
    subject = "schedule rule"
    """Failures: rule name -> one line: why the rule, or one of its targets, cannot fire."""

    def __init__(
        self,
        aws: AwsAccess,
        now: Callable[[], float] = time.time,
        poll_s: float = POLL_S,
        rate_first_fire_s: float | None = None,
    ) -> None:
        """`rate_first_fire_s`: how long after the engine first sees a rate rule it first
        fires (default: one period)."""
        super().__init__("schedules", poll_s)
        self.aws = aws
        self.now = now
        self.rate_first_fire_s = rate_first_fire_s
        self._rules: dict[str, _Rule] = {}
        self._events: Any = None
        self._functions: Any = None

    @property
    def scheduled(self) -> dict[str, float]:
        """Rule name -> when it fires next (epoch seconds), for the rules that will."""
        rules = list(self._rules.values())
        return {r.name: r.next_at for r in rules if r.next_at is not None}

    def connect(self) -> None:
        self._events = self.aws.client("events")
        self._functions = self.aws.client("lambda")

    def stopped(self) -> None:
        """Nothing runs between steps: invocations are handed to the Lambda API."""

    def wait_s(self) -> float:
        """Until the next firing, at most `poll_s`."""
        due = [r.next_at for r in self._rules.values() if r.next_at is not None]
        return min([self.poll_s, *(at - self.now() for at in due)])

    def step(self) -> None:
        try:
            self._step(self._events, self._functions)
        except (BotoCoreError, ClientError):  # the API may be briefly unreachable
            log.debug("schedule step failed", exc_info=True)
        except Exception:  # the engine must not die of one odd rule
            log.warning("schedule step failed", exc_info=True)

    def _fail(self, rule: str, line: str) -> None:
        if self._failures.get(rule) != line:
            log.warning("schedule rule %s: %s", rule, line)
            self._failures[rule] = line

    def _step(self, events: Any, functions: Any) -> None:
        pages = events.get_paginator("list_rules").paginate()
        listed = {
            r["Arn"]: r
            for page in pages
            for r in page["Rules"]
            if r.get("ScheduleExpression") and r.get("State") == "ENABLED"
        }
        for arn in set(self._rules) - set(listed):  # disabled or deleted: stops firing
            self._failures.pop(self._rules.pop(arn).name, None)
        now = self.now()
        for arn, listing in listed.items():
            rule = self._rules.get(arn)
            if rule is None or rule.expression != listing["ScheduleExpression"]:
                rule = self._rules[arn] = self._learn(listing, now)
            due = rule.next_at
            if rule.schedule is not None and due is not None and now >= due:
                self._fire(events, functions, arn, rule.name, due)
                rule.next_at = next_fire(rule.schedule, now, anchor=due)  # a rate keeps its phase

    def _learn(self, listing: dict[str, Any], now: float) -> _Rule:
        name, expression = listing["Name"], listing["ScheduleExpression"]
        self._failures.pop(name, None)
        try:
            schedule = parse(expression)
        except ScheduleError as exc:
            self._fail(name, str(exc))
            return _Rule(name, expression, None, None)
        first = self.rate_first_fire_s
        if isinstance(schedule, Rate):
            anchor = now + (schedule.period_s if first is None else first)
        else:
            anchor = now
        return _Rule(name, expression, schedule, next_fire(schedule, now, anchor))

    def _fire(self, events: Any, functions: Any, arn: str, name: str, at: float) -> None:
        """Invoke rule `name`'s targets for its firing scheduled at `at`."""
        event = scheduled_event(arn, at)
        pages = events.get_paginator("list_targets_by_rule").paginate(Rule=name)
        problems = []
        for target in (t for page in pages for t in page["Targets"]):
            where = f"target {target['Id']} ({target['Arn']})"
            if not _LAMBDA_ARN.fullmatch(target["Arn"]):
                problems.append(f"{where}: only Lambda targets are invoked locally")
                continue
            try:
                payload = target_input(target, event)
                functions.invoke(
                    FunctionName=target["Arn"], InvocationType="Event", Payload=payload
                )
            except (ValueError, ClientError) as exc:
                problems.append(f"{where}: {exc}")
        if problems:
            self._fail(name, problems[0])
        else:
            self._failures.pop(name, None)
