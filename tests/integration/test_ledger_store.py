"""Ledgers through S3 (harness.load.ledger_store) against moto: what a worker puts, the
harness merges into one ledger folder, refusing incomplete uploads and name collisions."""

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.errors import UserError
from harness.load.clock import ClockOffset, write_offset, writer_offsets
from harness.load.ledger import COMMITTED, Change, read_ledger
from harness.load.ledger_store import (
    MANIFEST,
    await_ledgers,
    download_ledgers,
    upload_ledger,
    uploaded_writers,
)
from harness.records import RecordWriter
from tests.conftest import BareCloud
from tests.helpers import unique

pytestmark = [pytest.mark.slow, pytest.mark.serial]

PREFIX = "ledger/run-1/"


@pytest.fixture
def s3(bare_cloud: BareCloud) -> Any:
    return bare_cloud.aws.client("s3")


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    name = unique("ledgers")
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=obj["Key"])
    s3.delete_bucket(Bucket=name)


def worker_folder(root: Path, host: str, pid: int, keys: range, offset_ns: int = 0) -> Path:
    """A worker's own ledger folder: one ledger file, its clock offset, an emits file."""
    folder = root / f"{host}_{pid}"
    folder.mkdir(parents=True)
    ledger = folder / f"ledger-{host}-{pid}-0.csv"
    with RecordWriter(ledger, Change) as writer:
        for key in keys:
            writer.append(
                Change("widgets", str(key), 1, "insert", COMMITTED, key, key + 5, key, "d")
            )
    write_offset(ledger, ClockOffset(host=host, pid=pid, offset_ns=offset_ns, bound_ns=500))
    (folder / f"emits-app-{host}-{pid}-0.csv").write_text("header\n")
    return folder


def test_workers_uploads_merge_into_one_ledger_with_each_writers_offset(
    tmp_path: Path, s3: Any, bucket: str
) -> None:
    first = worker_folder(tmp_path / "a", "far", 7, range(0, 5), offset_ns=3_000)
    second = worker_folder(tmp_path / "b", "farther", 7, range(5, 12), offset_ns=-9_000)

    keys = upload_ledger(first, bucket, PREFIX, "far_1", s3=s3)
    upload_ledger(second, bucket, PREFIX, "farther_2", s3=s3)

    assert keys == [
        f"{PREFIX}far_1/emits-app-far-7-0.csv",
        f"{PREFIX}far_1/ledger-far-7-0.clock.json",
        f"{PREFIX}far_1/ledger-far-7-0.csv",
        f"{PREFIX}far_1/{MANIFEST}",
    ]
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=keys[-1])["Body"].read())
    assert manifest["writer"] == "far_1"
    assert manifest["files"] == {p.name: p.stat().st_size for p in first.iterdir()}
    assert uploaded_writers(s3, bucket, PREFIX) == {"far_1", "farther_2"}

    merged = tmp_path / "merged"
    files = download_ledgers(s3, bucket, PREFIX, merged)

    assert [f.name for f in files] == sorted(
        [p.name for p in first.iterdir()] + [p.name for p in second.iterdir()]
    )
    for source in [*first.iterdir(), *second.iterdir()]:
        assert (merged / source.name).read_bytes() == source.read_bytes()
    assert not (merged / MANIFEST).exists()
    assert sorted(c.key for c in read_ledger(merged)) == sorted(str(k) for k in range(12))
    offsets = {(o.host, o.offset_ns) for o in writer_offsets(merged)}
    assert offsets == {("far", 3_000), ("farther", -9_000)}


def test_upload_uses_the_standard_credential_chain_and_endpoint_variable(
    tmp_path: Path, bare_cloud: BareCloud, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in bare_cloud.aws.env().items():
        monkeypatch.setenv(name, value)
    folder = worker_folder(tmp_path, "far", 7, range(3))

    keys = upload_ledger(folder, bucket, PREFIX, "far_1")  # no client given: boto3's own

    assert len(keys) == 4
    assert uploaded_writers(bare_cloud.aws, bucket, PREFIX) == {"far_1"}


def test_only_the_named_writers_are_merged(tmp_path: Path, s3: Any, bucket: str) -> None:
    upload_ledger(worker_folder(tmp_path / "a", "far", 7, range(3)), bucket, PREFIX, "mine", s3=s3)
    other = worker_folder(tmp_path / "b", "else", 8, range(3, 6))
    upload_ledger(other, bucket, PREFIX, "another-run", s3=s3)

    files = download_ledgers(s3, bucket, PREFIX, tmp_path / "merged", writers=["mine"])

    assert {f.name for f in files} == {
        "ledger-far-7-0.csv",
        "ledger-far-7-0.clock.json",
        "emits-app-far-7-0.csv",
    }


def test_two_writers_files_of_one_name_are_refused_and_nothing_is_downloaded(
    tmp_path: Path, s3: Any, bucket: str
) -> None:
    # two hosts with one name and process id (containers whose host names are alike)
    upload_ledger(worker_folder(tmp_path / "a", "box", 1, range(3)), bucket, PREFIX, "w1", s3=s3)
    upload_ledger(worker_folder(tmp_path / "b", "box", 1, range(3, 6)), bucket, PREFIX, "w2", s3=s3)
    merged = tmp_path / "merged"

    expected = (
        r"^emits-app-box-1-0\.csv of Locust worker w2 collides with the file of that name "
        r"from worker w1: give the workers distinct host names$"
    )
    with pytest.raises(UserError, match=expected):
        download_ledgers(s3, bucket, PREFIX, merged)
    assert not merged.exists() or not any(merged.iterdir())


def test_a_file_already_in_the_ledger_folder_is_never_overwritten(
    tmp_path: Path, s3: Any, bucket: str
) -> None:
    upload_ledger(worker_folder(tmp_path / "a", "far", 7, range(3)), bucket, PREFIX, "w1", s3=s3)
    merged = tmp_path / "merged"
    merged.mkdir()
    (merged / "ledger-far-7-0.csv").write_text("the harness's own\n")

    expected = (
        r"^ledger-far-7-0\.csv of Locust worker w1 is in .*merged already: merge the workers' "
        r"ledgers into a folder of the run's own, once$"
    )
    with pytest.raises(UserError, match=expected):
        download_ledgers(s3, bucket, PREFIX, merged)
    assert (merged / "ledger-far-7-0.csv").read_text() == "the harness's own\n"
    assert sorted(p.name for p in merged.iterdir()) == ["ledger-far-7-0.csv"]


def test_an_upload_without_its_manifest_is_incomplete(tmp_path: Path, s3: Any, bucket: str) -> None:
    upload_ledger(worker_folder(tmp_path / "a", "far", 7, range(3)), bucket, PREFIX, "w1", s3=s3)
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}w2/ledger-cut-1-0.csv", Body=b"table,key\n")

    assert uploaded_writers(s3, bucket, PREFIX) == {"w1"}
    with pytest.raises(UserError, match=rf"s3://{bucket}/{PREFIX}w2/ holds no complete upload"):
        download_ledgers(s3, bucket, PREFIX, tmp_path / "merged")
    with pytest.raises(UserError, match="w3/ holds no complete upload"):
        download_ledgers(s3, bucket, PREFIX, tmp_path / "merged", writers=["w1", "w3"])
    assert len(download_ledgers(s3, bucket, PREFIX, tmp_path / "merged", writers=["w1"])) == 3


def test_a_file_that_differs_from_its_manifest_is_refused(
    tmp_path: Path, s3: Any, bucket: str
) -> None:
    upload_ledger(worker_folder(tmp_path / "a", "far", 7, range(3)), bucket, PREFIX, "w1", s3=s3)
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}w1/ledger-far-7-0.csv", Body=b"table,key\n")

    with pytest.raises(UserError, match=r"w1/ledger-far-7-0\.csv: missing or not \d+ bytes"):
        download_ledgers(s3, bucket, PREFIX, tmp_path / "merged")


def test_waiting_for_ledgers_names_the_workers_whose_ledger_never_came(
    tmp_path: Path, s3: Any, bucket: str
) -> None:
    upload_ledger(worker_folder(tmp_path / "a", "far", 7, range(3)), bucket, PREFIX, "w1", s3=s3)
    seen: list[int] = []

    await_ledgers(s3, bucket, PREFIX, ["w1"], timeout_s=5, update=seen.append)
    assert seen == [1]

    started = time.monotonic()
    with pytest.raises(UserError, match=r"^the ledgers of 1 of 2 Locust workers \(w2\) did not "
                       rf"arrive in s3://{bucket}/{PREFIX} within 1.5 s: check those"):  # fmt: skip
        await_ledgers(s3, bucket, PREFIX, ["w1", "w2"], timeout_s=1.5)
    assert 1.5 <= time.monotonic() - started < 5


def test_an_upload_refuses_what_it_cannot_name(tmp_path: Path, s3: Any, bucket: str) -> None:
    folder = worker_folder(tmp_path, "far", 7, range(3))
    with pytest.raises(ValueError, match="writer must be a non-empty name without slashes"):
        upload_ledger(folder, bucket, PREFIX, "a/b", s3=s3)
    (folder / MANIFEST).write_text("{}")
    with pytest.raises(ValueError, match="that name is the upload's manifest"):
        upload_ledger(folder, bucket, PREFIX, "w1", s3=s3)
    assert uploaded_writers(s3, bucket, PREFIX) == set()
