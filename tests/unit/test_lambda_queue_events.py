"""How the SQS poller reads a ReportBatchItemFailures response: the success and failure
conditions the Lambda developer guide lists, and its own example response."""

import json
from typing import Any

import pytest

from harness.local.lambda_runtime.pollers.sqs import batch_item_failures
from tests.helpers import DOC_EXAMPLES

IDS = {"id1", "id2", "id3", "id4", "id5"}


def test_the_documented_example_keeps_the_two_named_messages() -> None:
    response = json.loads(
        (DOC_EXAMPLES / "lambda-events" / "sqs-partial-batch-response.json").read_text()
    )
    assert batch_item_failures(response, IDS) == {"id2", "id4"}


@pytest.mark.parametrize(
    "response",
    [None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}, {"statusCode": 200}],
    ids=["null response", "empty response", "null list", "empty list", "no list"],
)
def test_a_complete_success(response: Any) -> None:
    assert batch_item_failures(response, IDS) == set()


@pytest.mark.parametrize(
    "response",
    [
        "done",
        ["id1"],
        {"batchItemFailures": "id1"},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemId": "id1"}]},
        {"batchItemFailures": [{"itemIdentifier": "id1"}, {"itemIdentifier": "id9"}]},
        {"batchItemFailures": ["id1"]},
    ],
    ids=[
        "not an object",
        "a list",
        "failures not a list",
        "empty identifier",
        "null identifier",
        "bad key name",
        "unknown message id",
        "bare identifier",
    ],
)
def test_a_complete_failure(response: Any) -> None:
    assert batch_item_failures(response, IDS) == IDS
