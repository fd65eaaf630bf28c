"""Ledgers written on other hosts, carried through S3.

A Locust worker on another host (ECS Fargate: terraform/modules/locust_workers) writes its
ledger file(s), their clock files and whatever its application records into a folder of
its own. When it stops it puts every file of that folder under
`s3://<bucket>/<prefix><writer>/` and then a manifest, `_manifest.json` (each file's name
and size): a writer with a manifest has uploaded everything. Only `s3:PutObject` is needed
on the worker's side (large files go up in parts, which that permission covers too).

The harness waits for the manifests of the workers that ran its load (`await_ledgers`) and
merges their files into the pattern's ledger folder (`download_ledgers`), where
`read_ledger` and `writer_offsets` see each worker as one more writer, with the clock
offset it measured against the source database beside its ledger file. Two writers'
files of the same name (two hosts alike in name and process id) are refused, never
overwritten.
"""

import json
import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.aws import HARNESS_AGENT, AwsAccess
from harness.errors import UserError

MANIFEST = "_manifest.json"
"""Put last by each writer: the names and sizes of the files it uploaded."""
_POLL_S = 1.0


@dataclass(frozen=True)
class LedgerBucket:
    """Where the workers of one load put their ledgers, and how the harness reaches it."""

    aws: AwsAccess
    bucket: str
    prefix: str
    """Key prefix of the run's ledgers (ends in a slash, e.g. `ledger/<run id>/`), as the
    workers see it in CDCBENCH_LEDGER_PREFIX."""

    def url(self, writer: str = "") -> str:
        return f"s3://{self.bucket}/{self.prefix}{writer}"


def upload_ledger(
    folder: Path, bucket: str, prefix: str, writer: str, s3: Any | None = None
) -> list[str]:
    """Put every file of `folder` (one writer's own) under `<prefix><writer>/`, then the
    manifest; the keys put, manifest last. `s3`: a boto3 S3 client, by default the process
    environment's (`AwsAccess.from_env`: the standard chain, AWS_ENDPOINT_URL honoured),
    marked as the harness's own (not the pattern's usage)."""
    if not writer or "/" in writer:
        raise ValueError(f"writer must be a non-empty name without slashes, not {writer!r}")
    files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
    if any(p.name == MANIFEST for p in files):
        raise ValueError(f"{folder / MANIFEST}: that name is the upload's manifest")
    if s3 is None:
        s3 = replace(AwsAccess.from_env(os.environ), agent=HARNESS_AGENT).client("s3")
    client = s3
    base = f"{prefix}{writer}/"
    keys = []
    sizes: dict[str, int] = {}
    for path in files:
        sizes[path.name] = path.stat().st_size
        client.upload_file(str(path), bucket, base + path.name)
        keys.append(base + path.name)
    manifest = json.dumps({"writer": writer, "files": sizes}, indent=1).encode()
    client.put_object(
        Bucket=bucket, Key=base + MANIFEST, Body=manifest, ContentType="application/json"
    )
    keys.append(base + MANIFEST)
    return keys


def uploaded_writers(aws: AwsAccess | Any, bucket: str, prefix: str) -> set[str]:
    """The writers under `prefix` whose upload is complete (their manifest is there)."""
    return {
        writer
        for writer, names in _listing(_client(aws), bucket, prefix).items()
        if MANIFEST in names
    }


def await_ledgers(
    aws: AwsAccess | Any,
    bucket: str,
    prefix: str,
    writers: Collection[str],
    timeout_s: float,
    update: Callable[[int], None] | None = None,
) -> None:
    """Wait until every one of `writers` has uploaded its ledgers; `update(n)` is told how
    many have. A UserError names those that did not within `timeout_s`."""
    client, wanted = _client(aws), set(writers)
    deadline = time.monotonic() + timeout_s
    while True:
        done = wanted & uploaded_writers(client, bucket, prefix)
        if update is not None:
            update(len(done))
        if done == wanted:
            return
        if time.monotonic() >= deadline:
            late = sorted(wanted - done)
            raise UserError(
                f"the ledgers of {len(late)} of {len(wanted)} Locust workers ({', '.join(late)}) "
                f"did not arrive in s3://{bucket}/{prefix} within {timeout_s:g} s: check those "
                "workers' logs (an upload error, or killed before they stopped) and that they "
                "may put objects there"
            )
        time.sleep(_POLL_S)


def download_ledgers(
    aws: AwsAccess | Any,
    bucket: str,
    prefix: str,
    folder: Path,
    writers: Collection[str] | None = None,
) -> list[Path]:
    """Merge the uploads under `prefix` (only those of `writers`, if given) into `folder`;
    the files written there. `aws`: an AwsAccess, or a boto3 S3 client. A UserError if an
    upload is incomplete (a writer without its manifest, or with files missing) or if two
    files would take one name (nothing is downloaded then)."""
    client = _client(aws)
    listing = _listing(client, bucket, prefix)
    chosen = sorted(listing) if writers is None else sorted(set(writers))
    plan: dict[str, tuple[str, str]] = {}
    """name in `folder` -> (writer, key)"""
    for writer in chosen:
        names = listing.get(writer, {})
        if MANIFEST not in names:
            raise UserError(
                f"s3://{bucket}/{prefix}{writer}/ holds no complete upload (no {MANIFEST}): "
                "that Locust worker did not finish putting its ledger there; check its log"
            )
        body = client.get_object(Bucket=bucket, Key=f"{prefix}{writer}/{MANIFEST}")["Body"]
        expected: dict[str, int] = json.loads(body.read())["files"]
        for name, size in sorted(expected.items()):
            if names.get(name) != size:
                raise UserError(
                    f"s3://{bucket}/{prefix}{writer}/{name}: missing or not {size} bytes as "
                    "its manifest says: the upload was overwritten or cut short"
                )
            if name in plan:
                raise UserError(
                    f"{name} of Locust worker {writer} collides with the file of that name "
                    f"from worker {plan[name][0]}: give the workers distinct host names"
                )
            if (folder / name).exists():
                raise UserError(
                    f"{name} of Locust worker {writer} is in {folder} already: merge the "
                    "workers' ledgers into a folder of the run's own, once"
                )
            plan[name] = (writer, f"{prefix}{writer}/{name}")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (_, key) in sorted(plan.items()):
        client.download_file(bucket, key, str(folder / name))
        written.append(folder / name)
    return written


def _listing(client: Any, bucket: str, prefix: str) -> dict[str, dict[str, int]]:
    """writer -> {file name: size} of the objects `<prefix><writer>/<name>`."""
    found: dict[str, dict[str, int]] = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            writer, _, name = str(obj["Key"])[len(prefix) :].partition("/")
            if writer and name and "/" not in name:
                found.setdefault(writer, {})[name] = int(obj["Size"])
    return found


def _client(aws: AwsAccess | Any) -> Any:
    return aws.client("s3") if isinstance(aws, AwsAccess) else aws
