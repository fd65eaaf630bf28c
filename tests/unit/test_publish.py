"""`cdcbench publish`: runs' reports as one static site in a folder or on S3 (through boto3,
here against moto's server), accumulating the runs published there."""

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from harness.process import free_port
from harness.report.html import write_html
from harness.report.results import PatternResult, Results
from tests.helpers import run_cli


def _run(root: Path, run_id: str, started_at: str, valid: bool = True) -> Path:
    pattern = PatternResult(summary="p", status="completed", valid=valid)
    results = Results(
        run_id=run_id, started_at=started_at, scenario={"name": "s"}, patterns={"direct": pattern}
    )
    run_dir = root / run_id
    run_dir.mkdir()
    results.write(run_dir)
    write_html(results, run_dir)
    return run_dir


def test_runs_published_one_by_one_accumulate_newest_first(tmp_path: Path) -> None:
    site = tmp_path / "site"
    older, newer = _run(tmp_path, "r1", "2026-01-01"), _run(tmp_path, "r2", "2026-02-01", False)

    assert run_cli("publish", str(older), "--to", str(site)).returncode == 0
    proc = run_cli("publish", str(newer), str(older), "--to", str(site))

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"Published 2 runs: {site / 'index.html'}"
    manifest = json.loads((site / "runs.json").read_text())
    assert [(r["run_id"], r["patterns"]) for r in manifest] == [
        ("r2", {"direct": "invalid"}),
        ("r1", {"direct": "valid"}),
    ]
    assert (site / "r1" / "index.html").read_text() == (older / "index.html").read_text()
    assert json.loads((site / "r2" / "results.json").read_text())["run_id"] == "r2"
    index = (site / "index.html").read_text()
    assert index.index('href="r2/index.html"') < index.index('href="r1/index.html"')


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(port=free_port())
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_a_site_on_s3_is_written_through_boto3(tmp_path: Path, s3_endpoint: str) -> None:
    env = {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket="reports")
    first, second = _run(tmp_path, "r1", "2026-01-01"), _run(tmp_path, "r2", "2026-02-01")

    assert run_cli("publish", str(first), "--to", "s3://reports/ci/", env=env).returncode == 0
    proc = run_cli("publish", str(second), "--to", "s3://reports/ci", env=env)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Published 1 runs: s3://reports/ci/index.html"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="reports")["Contents"]}
    assert keys == {
        "ci/index.html",
        "ci/runs.json",
        *(f"ci/{r}/{f}" for r in ("r1", "r2") for f in ("index.html", "results.json")),
    }
    index = s3.get_object(Bucket="reports", Key="ci/index.html")
    assert index["ContentType"] == "text/html; charset=utf-8"
    assert b'href="r1/index.html"' in index["Body"].read()

    missing = run_cli("publish", str(first), "--to", "s3://no-such-bucket/x", env=env)
    assert missing.returncode == 2
    [line] = missing.stderr.splitlines()
    assert line.startswith("cdcbench: error: cannot publish to s3://no-such-bucket/x: ")


@pytest.mark.parametrize(
    ("make", "says"),
    [
        ("not_a_run", "is not a run directory"),
        ("bad_manifest", "is not a cdcbench site manifest"),
        ("no_report", "has no index.html"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, make: str, says: str) -> None:
    site = tmp_path / "site"
    site.mkdir()
    run_dir = _run(tmp_path, "r1", "2026-01-01")
    if make == "not_a_run":
        run_dir = tmp_path / "site"
    elif make == "bad_manifest":
        (site / "runs.json").write_text('{"runs": 1}')
    else:
        (run_dir / "index.html").unlink()

    proc = run_cli("publish", str(run_dir), "--to", str(site))

    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith("cdcbench: error: ") and says in line, line
