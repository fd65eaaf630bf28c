"""A moto process (`moto_child`, served by `moto_http`) keeps connections open between
requests, answers while long polls wait, keeps S3 metadata names with underscores, and exits
at once when told to, long polls or not."""

import contextlib
import http.client
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import BotoCoreError

LONG_POLL_S = 5


@contextlib.contextmanager
def started() -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A moto child process and its port; killed after the block."""
    child = subprocess.Popen(
        [sys.executable, "-m", "harness.local.moto_child", "--parent-pid", str(os.getpid())],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        yield child, int(json.loads(child.stdout.readline())["port"])
    finally:
        child.kill()
        child.wait()


@pytest.fixture(scope="module")
def moto_process() -> Iterator[tuple[subprocess.Popen[str], int]]:
    with started() as running:
        yield running


def client(service: str, port: int) -> Any:
    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_one_connection_serves_request_after_request(
    moto_process: tuple[subprocess.Popen[str], int],
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", moto_process[1], timeout=10)
    sockets = []
    for _ in range(3):
        connection.request("GET", "/moto-api/data.json")
        answer = connection.getresponse()
        assert answer.status == 200 and json.loads(answer.read()) is not None
        assert answer.getheader("Connection", "").lower() != "close"
        sockets.append(connection.sock)
    assert sockets[0] is not None and all(sock is sockets[0] for sock in sockets)
    connection.close()


def test_s3_metadata_keeps_its_names(moto_process: tuple[subprocess.Popen[str], int]) -> None:
    s3 = client("s3", moto_process[1])
    s3.create_bucket(Bucket="metadata-names")
    metadata = {"event_type": "insert", "event-source": "orders"}
    s3.put_object(Bucket="metadata-names", Key="k", Body=b"{}", Metadata=metadata)
    assert s3.head_object(Bucket="metadata-names", Key="k")["Metadata"] == metadata


def test_requests_are_answered_while_long_polls_wait(
    moto_process: tuple[subprocess.Popen[str], int],
) -> None:
    sqs = client("sqs", moto_process[1])
    url = sqs.create_queue(QueueName="long-polls")["QueueUrl"]
    polls = [
        threading.Thread(
            target=lambda: client("sqs", moto_process[1]).receive_message(
                QueueUrl=url, WaitTimeSeconds=LONG_POLL_S
            )
        )
        for _ in range(12)
    ]
    for poll in polls:
        poll.start()
    try:
        assert url in sqs.list_queues()["QueueUrls"]
        assert all(poll.is_alive() for poll in polls), "answered only once the long polls ended"
    finally:
        for poll in polls:
            poll.join()


def test_it_exits_at_once_with_a_long_poll_in_flight() -> None:
    with started() as (child, port):
        sqs = client("sqs", port)
        url = sqs.create_queue(QueueName="in-flight")["QueueUrl"]

        def long_poll() -> None:
            with contextlib.suppress(BotoCoreError):  # the server goes away under it
                sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20)

        poll = threading.Thread(target=long_poll, daemon=True)
        poll.start()
        poll.join(1.0)
        child.terminate()
        assert child.wait(timeout=10) == 0
