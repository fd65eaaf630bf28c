"""checkov scans every Terraform module and pattern root: nothing fails, and every check
skipped is skipped inline with its reason."""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.slow

CHECKOV = REPO / ".tools" / "checkov" / "bin" / "checkov"


def scan(*args: str) -> dict[str, Any]:
    assert CHECKOV.exists(), f"checkov is not installed at {CHECKOV}: run `make install`"
    proc = subprocess.run(
        [str(CHECKOV), "--config-file", str(REPO / ".checkov.yaml"), "-o", "json", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.stdout.strip(), proc.stderr[-2000:]
    return dict(json.loads(proc.stdout))


def test_every_module_passes_or_says_why_a_check_does_not_apply() -> None:
    report = scan()

    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
        for c in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    unexplained = [
        f"{c['check_id']} {c['resource']}"
        for c in report["results"]["skipped_checks"]
        if len(c["check_result"].get("suppress_comment", "").strip()) < 20
    ]
    assert unexplained == []


def test_the_scan_finds_an_unencrypted_public_bucket(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "aws_s3_bucket" "open" {\n  bucket = "open"\n}\n'
        'resource "aws_s3_bucket_acl" "open" {\n'
        "  bucket = aws_s3_bucket.open.id\n"
        '  acl    = "public-read"\n}\n'
    )

    report = scan("--directory", str(tmp_path))

    failed = {c["check_id"] for c in report["results"]["failed_checks"]}
    assert "CKV_AWS_20" in failed  # public-read ACL
