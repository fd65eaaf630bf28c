"""`cdcbench publish`: runs' reports as one static site, to a folder or to S3.

The site holds each run's `index.html` and `results.json` under `<run id>/`, a manifest of
every run published there (`runs.json`, merged with what the site already lists, so runs
published one by one accumulate) and an index page of them, newest first. An S3 destination
(`s3://bucket/prefix`) is written through boto3 with the environment's credentials and
endpoint (`AWS_ENDPOINT_URL` for an emulator), so it works on any target.
"""

import json
import shutil
import tempfile
from pathlib import Path

from pydantic import BaseModel, ValidationError

from harness.errors import UserError
from harness.report.html import render_runs_index
from harness.report.results import Results, read_results
from harness.run_files import REPORT, RESULTS

MANIFEST = "runs.json"
_CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".json": "application/json"}


class PublishedRun(BaseModel):
    run_id: str
    started_at: str
    scenario: str
    status: str
    patterns: dict[str, str]
    """Pattern -> its verdict (valid, invalid or unknown)."""


def publish(run_dirs: list[Path], destination: str) -> str:
    """Publish the runs to `destination` (a folder or s3://bucket/prefix); the index's
    address."""
    runs = [(d, read_results(d)) for d in run_dirs]
    for run_dir, _ in runs:
        if not (run_dir / REPORT).exists():
            raise UserError(f"{run_dir} has no {REPORT}: rebuild it with `cdcbench report`")
    if destination.startswith("s3://"):
        return _to_s3(runs, destination)
    site = Path(destination)
    manifest = site / MANIFEST
    listed = _read_manifest(manifest.read_text(), manifest) if manifest.exists() else []
    _write_site(runs, site, listed)
    return str(site / REPORT)


def _write_site(runs: list[tuple[Path, Results]], site: Path, listed: list[PublishedRun]) -> None:
    site.mkdir(parents=True, exist_ok=True)
    for run_dir, results in runs:
        (site / results.run_id).mkdir(exist_ok=True)
        for name in (REPORT, RESULTS):
            shutil.copyfile(run_dir / name, site / results.run_id / name)
    fresh = {r.run_id: _entry(r) for _, r in runs}
    merged = [run for run in listed if run.run_id not in fresh] + list(fresh.values())
    merged.sort(key=lambda run: run.started_at, reverse=True)
    manifest = [run.model_dump() for run in merged]
    (site / MANIFEST).write_text(json.dumps(manifest, indent=2))
    (site / REPORT).write_text(render_runs_index(manifest))


def _entry(results: Results) -> PublishedRun:
    verdicts = {True: "valid", False: "invalid", "unknown": "unknown"}
    return PublishedRun(
        run_id=results.run_id,
        started_at=results.started_at,
        scenario=str(results.scenario.get("name", "")),
        status=results.status,
        patterns={name: verdicts[p.valid] for name, p in results.patterns.items()},
    )


def _read_manifest(text: str, where: object) -> list[PublishedRun]:
    try:
        return [PublishedRun.model_validate(run) for run in json.loads(text)]
    except (ValueError, TypeError, ValidationError):
        raise UserError(
            f"{where} is not a cdcbench site manifest: publish to an empty destination"
        ) from None


def _to_s3(runs: list[tuple[Path, Results]], destination: str) -> str:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, prefix = destination.removeprefix("s3://").partition("/")
    if not bucket:
        raise UserError(f"{destination} names no bucket: use s3://bucket/prefix")
    prefix = prefix.strip("/")
    key = f"{prefix}/" if prefix else ""
    s3 = boto3.client("s3")
    try:
        try:
            body = s3.get_object(Bucket=bucket, Key=f"{key}{MANIFEST}")["Body"].read()
            listed = _read_manifest(body.decode(), f"{destination}/{MANIFEST}")
        except s3.exceptions.NoSuchKey:
            listed = []
        with tempfile.TemporaryDirectory(prefix="cdcbench-site-") as site:
            _write_site(runs, Path(site), listed)
            for path in sorted(Path(site).rglob("*")):
                if path.is_file():
                    s3.upload_file(
                        str(path),
                        bucket,
                        key + path.relative_to(site).as_posix(),
                        ExtraArgs={"ContentType": _content_type(path)},
                    )
    except (BotoCoreError, ClientError) as exc:
        raise UserError(f"cannot publish to {destination}: {exc}") from None
    return f"{destination.rstrip('/')}/{REPORT}"


def _content_type(path: Path) -> str:
    return _CONTENT_TYPES.get(path.suffix, "application/octet-stream")
