"""`s3.sorted_listing`: ListObjectsV2 answers as moto as released does (prefixes, StartAfter,
continuation tokens, MaxKeys, deleted keys, versions), and without the fix each listing reads
every key of the bucket while with it a listing reads what it returns."""

from __future__ import annotations

import random
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.moto_fix_support import applied, fixed_upstream


def _fill(s3: Any, bucket: str, names: list[str]) -> None:
    s3.create_bucket(Bucket=bucket)
    for name in names:
        s3.put_object(Bucket=bucket, Key=name, Body=name.encode())


def _listings(s3: Any, bucket: str, requests: list[dict[str, Any]]) -> list[list[Any]]:
    """Every page of each request: its keys, truncation and key count."""
    answers = []
    for request in requests:
        pages: list[Any] = []
        request = {"Bucket": bucket, **request}
        while True:
            page = s3.list_objects_v2(**request)
            keys = [(o["Key"], o["Size"], o["ETag"]) for o in page.get("Contents", [])]
            pages.append((keys, page["IsTruncated"], page["KeyCount"], page.get("Prefix")))
            if not page["IsTruncated"]:
                break
            request["ContinuationToken"] = page["NextContinuationToken"]
        answers.append(pages)
    return answers


def _answers() -> list[list[Any]]:
    rng = random.Random(7)
    folders = ["topic+0+", "topic+1+", "cdc/2026/", "LOAD", "a/b/"]
    names = [f"{rng.choice(folders)}{rng.randrange(10**6):07d}.json" for _ in range(300)]
    requests: list[dict[str, Any]] = [{}, {"MaxKeys": 7}, {"MaxKeys": 0}, {"Prefix": "zz"}]
    for folder in folders:
        requests += [{"Prefix": folder}, {"Prefix": folder, "MaxKeys": 13}]
        after = sorted(n for n in names if n.startswith(folder))[5]
        requests += [{"Prefix": folder, "StartAfter": after}, {"StartAfter": after, "MaxKeys": 9}]
    requests += [{"Delimiter": "/"}, {"Prefix": "a/", "Delimiter": "/"}]
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        _fill(s3, "store", names)
        for name in names[::10]:
            s3.delete_object(Bucket="store", Key=name)
        s3.put_object(Bucket="store", Key=names[1], Body=b"a newer version")
        s3.create_bucket(Bucket="versioned")
        s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
        for name in names[:40]:
            s3.put_object(Bucket="versioned", Key=name, Body=b"v1")
        for name in names[:40:3]:
            s3.delete_object(Bucket="versioned", Key=name)  # a delete marker stands
        return _listings(s3, "store", requests) + _listings(s3, "versioned", [{}, {"MaxKeys": 5}])


def test_listings_answer_as_moto_does() -> None:
    released = _answers()
    with applied("s3.sorted_listing"):
        fixed = _answers()

    assert fixed == released
    assert sum(len(keys) for pages in released for keys, *_ in pages) > 1_000


def test_a_listing_after_the_newest_key_does_not_read_the_bucket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from moto.s3.utils import _VersionedKeyStore

    read: list[str] = []
    getitem = _VersionedKeyStore.__getitem__

    def counted(self: Any, key: str) -> Any:
        read.append(key)
        return getitem(self, key)

    monkeypatch.setattr(_VersionedKeyStore, "__getitem__", counted)

    def reads() -> int:
        with mock_aws():
            s3 = boto3.client("s3", region_name="us-east-1")
            names = [f"topic+0+{n:07d}.json" for n in range(200)]
            _fill(s3, "store", names)
            read.clear()
            page = s3.list_objects_v2(Bucket="store", Prefix="topic+0+", StartAfter=names[-3])
            assert [o["Key"] for o in page["Contents"]] == names[-2:]
            return len(read)

    assert reads() >= 200, fixed_upstream("s3.sorted_listing")  # every key, every listing
    with applied("s3.sorted_listing"):
        assert reads() <= 4
