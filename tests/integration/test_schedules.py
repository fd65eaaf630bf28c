"""EventBridge schedule rules fire their Lambda targets: a real handler runs (it writes the
event it got to S3) with AWS's Scheduled Event, or its target's constant Input."""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from harness.local.lambda_runtime.functions import Functions
from harness.local.lambda_runtime.invoke_server import InvokeServer
from harness.local.schedules import ScheduleEngine
from tests.conftest import BareCloud
from tests.helpers import wait_for
from tests.lambda_support import create_function

pytestmark = [pytest.mark.slow, pytest.mark.serial]

HANDLER = """\
import json, os, uuid

import boto3


def handler(event, context):
    name = event.get("marker") or event["resources"][0].split("/")[-1]
    key = f"{name}/{uuid.uuid4()}"
    boto3.client("s3").put_object(Bucket=os.environ["BUCKET"], Key=key, Body=json.dumps(event))
"""
EVENT_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region"}
EVENT_KEYS |= {"resources", "detail"}


@dataclass(frozen=True)
class Host:
    """A function on the emulator whose handler writes every event it gets to `bucket`."""

    cloud: BareCloud
    function_arn: str
    bucket: str

    def events(self, name: str) -> list[dict[str, Any]]:
        """The events the handler got for rule `name` (or Input marker `name`)."""
        s3 = self.cloud.aws.client("s3")
        listed = s3.list_objects_v2(Bucket=self.bucket, Prefix=f"{name}/").get("Contents", [])
        bodies = [s3.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read() for o in listed]
        return [json.loads(body) for body in bodies]

    def rule(self, name: str, expression: str, state: str = "ENABLED", **target: Any) -> str:
        events = self.cloud.aws.client("events")
        arn = events.put_rule(Name=name, ScheduleExpression=expression, State=state)["RuleArn"]
        target = {"Id": "fn", "Arn": self.function_arn, **target}
        events.put_targets(Rule=name, Targets=[target])
        return str(arn)

    def drop(self, *names: str) -> None:
        events = self.cloud.aws.client("events")
        for name in names:
            targets = events.list_targets_by_rule(Rule=name)["Targets"]
            events.remove_targets(Rule=name, Ids=[t["Id"] for t in targets])
            events.delete_rule(Name=name)


@pytest.fixture(scope="module")
def host(bare_cloud: BareCloud, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    aws = bare_cloud.aws
    name = f"sched-{uuid.uuid4().hex[:8]}"
    aws.client("s3").create_bucket(Bucket=name)
    function_arn = create_function(aws, name, HANDLER, {"BUCKET": name}, timeout=30)
    functions = Functions(aws, Path(tmp_path_factory.mktemp("functions")))
    server = InvokeServer(aws, functions)
    server.start()
    try:
        yield Host(bare_cloud, function_arn, name)
    finally:
        server.stop()
        functions.close()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_rate_rule_invokes_its_lambda_targets_with_the_scheduled_event(host: Host) -> None:
    run = uuid.uuid4().hex[:8]
    fires = f"fires-{run}"
    arn = host.rule(fires, "rate(1 minute)")
    host.cloud.aws.client("events").put_targets(
        Rule=fires,
        Targets=[{"Id": "const", "Arn": host.function_arn, "Input": f'{{"marker": "in-{run}"}}'}],
    )
    host.rule(f"off-{run}", "rate(1 minute)", state="DISABLED")
    host.rule(f"bad-{run}", "rate(1 minutes)")
    queue = f"arn:aws:sqs:us-east-1:123456789012:q-{run}"
    host.rule(f"sqs-{run}", "rate(1 minute)", Arn=queue)

    engine = ScheduleEngine(host.cloud.aws, poll_s=0.2, rate_first_fire_s=2.0)
    seen = time.time()
    threads_before = {t for t in threading.enumerate() if t.name == "schedules"}
    engine.start()
    try:
        wait_for(
            lambda: bool(host.events(fires) and host.events(f"in-{run}")), "both targets to run"
        )
        # the same step fired the SQS rule (its target refused) after the bad rule was seen
        wait_for(
            lambda: sum(k.endswith(run) for k in engine.failures()) == 2,
            "the bad rule and the SQS target to be reported",
        )
        failures = {k: v for k, v in engine.failures().items() if k.endswith(run)}
    finally:
        stopping = time.monotonic()
        engine.stop()
        stopped_in = time.monotonic() - stopping
        host.drop(fires, f"off-{run}", f"bad-{run}", f"sqs-{run}")
    assert stopped_in < 1.0
    # another engine may run in this process (the session's local target): this one is gone
    assert {t for t in threading.enumerate() if t.name == "schedules"} == threads_before

    [event] = host.events(fires)
    assert set(event) == EVENT_KEYS
    assert len(event.pop("id")) == 36
    fired = datetime.strptime(event.pop("time"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert seen + 1 <= fired.timestamp() <= seen + 3  # about 2 s after the rule was seen
    assert event == {
        "version": "0",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "region": "us-east-1",
        "resources": [arn],
        "detail": {},
    }
    assert host.events(f"in-{run}") == [{"marker": f"in-{run}"}]
    assert host.events(f"off-{run}") == []
    assert failures == {
        f"schedule rule bad-{run}": "rate(1 minutes): write rate(1 minute)",
        f"schedule rule sqs-{run}": f"target fn ({queue}): only Lambda targets are invoked locally",
    }


def test_rules_fire_on_schedule_and_stop_when_disabled_or_deleted(host: Host) -> None:
    run = uuid.uuid4().hex[:8]
    every, gone, cron = f"every-{run}", f"gone-{run}", f"cron-{run}"
    day = 86400
    clock = [float(int(time.time()))]
    start = clock[0]
    for name in (every, gone):
        host.rule(name, "rate(1 day)")
    host.rule(cron, "cron(0/15 * * * ? *)")
    quarter = (start // 900 + 1) * 900
    engine = ScheduleEngine(host.cloud.aws, now=lambda: clock[0], poll_s=0.1)
    engine.start()
    events = host.cloud.aws.client("events")
    try:
        wait_for(lambda: {every, gone, cron} <= set(engine.scheduled), "the rules to be scheduled")
        assert [engine.scheduled[n] for n in (every, gone, cron)] == [start + day] * 2 + [quarter]

        clock[0] = quarter
        wait_for(lambda: bool(host.events(cron)), "the cron rule to fire")
        assert [e["time"] for e in host.events(cron)] == [_iso(quarter)]
        assert engine.scheduled[cron] == quarter + 900
        host.drop(cron)

        clock[0] = start + day
        wait_for(lambda: bool(host.events(every) and host.events(gone)), "the rate rules to fire")
        assert [e["time"] for e in host.events(every)] == [_iso(start + day)]
        assert engine.scheduled[every] == start + 2 * day

        events.disable_rule(Name=every)
        host.drop(gone)
        wait_for(lambda: not {every, gone, cron} & set(engine.scheduled), "the rules to be dropped")
        clock[0] = start + 3 * day
        time.sleep(1.0)  # ten polls: a firing would have been invoked by now
        counts = [len(host.events(name)) for name in (every, gone, cron)]
        assert counts == [1, 1, 1]

        events.enable_rule(Name=every)  # seen anew: first fires one period later
        wait_for(lambda: every in engine.scheduled, "the re-enabled rule")
        assert engine.scheduled[every] == start + 4 * day
    finally:
        engine.stop()
        host.drop(every)
