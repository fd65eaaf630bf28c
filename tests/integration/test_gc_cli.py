"""`cdcbench gc` from the command line, with moto as the AWS the standard chain reaches:
it lists a stale run's tagged leftovers, asks unless `--yes`, deletes them, and leaves a
younger run's; a bad `--older-than` is one line. `cdcbench destroy` of a killed run on `aws`
deletes that run's tagged resources only."""

import contextlib
import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from harness.report.results import Results
from tests.conftest import BareCloud
from tests.helpers import run_cli

pytestmark = pytest.mark.slow


def _run_id(age: timedelta) -> str:
    return f"{datetime.now(UTC) - age:%Y%m%d-%H%M%S}-gccli-{secrets.token_hex(2)}"


def _queue(bare_cloud: BareCloud, run_id: str) -> str:
    sqs = bare_cloud.aws.client("sqs")
    url = sqs.create_queue(QueueName=f"cdcbench-{run_id}-q", tags={"cdcbench:run-id": run_id})
    return str(url["QueueUrl"])


def _env(bare_cloud: BareCloud) -> dict[str, str]:
    assert bare_cloud.aws.endpoint_url
    return {
        "AWS_ENDPOINT_URL": bare_cloud.aws.endpoint_url,
        "AWS_REGION": "us-east-1",
        **bare_cloud.aws.credentials,
    }


def test_gc_lists_asks_and_deletes_only_stale_runs(bare_cloud: BareCloud) -> None:
    stale, young = _run_id(timedelta(hours=5)), _run_id(timedelta(minutes=5))
    stale_queue, young_queue = _queue(bare_cloud, stale), _queue(bare_cloud, young)
    sqs = bare_cloud.aws.client("sqs")
    try:
        asked = run_cli("gc", "--older-than", "2h", env=_env(bare_cloud))
        assert asked.returncode == 2 and "pass --yes" in asked.stderr, asked.stderr
        assert stale in asked.stdout and young not in asked.stdout
        assert stale_queue in sqs.list_queues()["QueueUrls"]  # nothing deleted unasked

        done = run_cli("gc", "--older-than", "2h", "--yes", env=_env(bare_cloud))

        assert done.returncode == 0, done.stdout + done.stderr
        assert "Deleted 1 of 1 resources." in done.stdout
        queues = sqs.list_queues().get("QueueUrls", [])
        assert stale_queue not in queues and young_queue in queues
    finally:
        for url in (stale_queue, young_queue):
            with contextlib.suppress(sqs.exceptions.QueueDoesNotExist):
                sqs.delete_queue(QueueUrl=url)


def test_a_bad_age_is_one_line(bare_cloud: BareCloud) -> None:
    proc = run_cli("gc", "--older-than", "two hours", env=_env(bare_cloud))

    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--older-than" in proc.stderr, proc.stderr


def test_destroy_deletes_a_killed_aws_run_s_resources_only(
    bare_cloud: BareCloud, tmp_path: Path
) -> None:
    killed, other = _run_id(timedelta(minutes=1)), _run_id(timedelta(minutes=1))
    killed_queue, other_queue = _queue(bare_cloud, killed), _queue(bare_cloud, other)
    run_dir = tmp_path / killed
    run_dir.mkdir()
    Results(  # as a run on aws left it when killed during its load
        run_id=killed,
        started_at=datetime.now(UTC).isoformat(),
        scenario={"name": "killed", "load": {"duration_s": 60, "rate_per_s": 10}},
        target={"name": "aws", "region": "us-east-1"},
        pid=2**22 + 1,  # no such process
    ).write(run_dir)
    sqs = bare_cloud.aws.client("sqs")
    try:
        done = run_cli("destroy", str(run_dir), env=_env(bare_cloud))

        assert done.returncode == 0, done.stdout + done.stderr
        assert f"1 resource(s) tagged cdcbench:run-id={killed}" in done.stdout
        assert "Nothing of the run is left." in done.stdout
        queues = sqs.list_queues().get("QueueUrls", [])
        assert killed_queue not in queues and other_queue in queues
        assert json.loads((run_dir / "results.json").read_text())["status"] == "partial"
    finally:
        for url in (killed_queue, other_queue):
            with contextlib.suppress(sqs.exceptions.QueueDoesNotExist):
                sqs.delete_queue(QueueUrl=url)
