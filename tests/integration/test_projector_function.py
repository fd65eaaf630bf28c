"""The dms_msk_lambda projector functions against a DynamoDB table on moto: after inserts,
updates, deletes and late or duplicated deliveries the correct projector holds the source's
final state, the naive one the resurrected and stale rows it is there to show; both also run
as the zipped package in the local Lambda runtime."""

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.aws import AwsAccess
from harness.load.row_image import row_digest
from harness.local.lambda_runtime.functions import Functions
from harness.read_model import KEY_ATTRIBUTE, entity_of, is_tombstone
from tests.conftest import BareCloud
from tests.helpers import unique
from tests.lambda_support import role_arn
from tests.unit.test_projector_function import (
    FUNCTION_DIR,
    ORDERS,
    SHARED_MODULE,
    WIDGETS,
    dms_message,
    function_module,
    msk_event,
    order,
    plain,
    widget,
)

pytestmark = pytest.mark.slow

TOMBSTONE = "tombstone"
BATCHES = [
    msk_event(
        [
            dms_message("create-table", WIDGETS, {}),
            dms_message("load", WIDGETS, widget(1, 1)),
            dms_message("insert", WIDGETS, widget(2, 1)),
            dms_message("insert", WIDGETS, widget(3, 1)),
            dms_message("insert", WIDGETS, widget(4, 1)),
        ],
        [dms_message("insert", ORDERS, order(10, 1, widget_id=1))],
    ),
    msk_event(
        [
            dms_message("update", WIDGETS, widget(1, 2)),
            dms_message("update", WIDGETS, widget(1, 3)),
            dms_message("update", WIDGETS, widget(2, 2)),
            dms_message("delete", WIDGETS, widget(2, 2)),
            dms_message("delete", WIDGETS, widget(4, 1)),
        ],
        [dms_message("update", ORDERS, order(10, 2, widget_id=1))],
    ),
    # delivered again late: widget 1's v2 after its v3, widget 2's update after its delete
    # and widget 4's delete
    msk_event(
        [
            dms_message("update", WIDGETS, widget(1, 2)),
            dms_message("update", WIDGETS, widget(2, 2)),
            dms_message("delete", WIDGETS, widget(4, 1)),
        ]
    ),
]
SOURCE_STATE = {
    "widgets#1": (3, row_digest("widgets", widget(1, 3))),
    "widgets#2": (3, TOMBSTONE),
    "widgets#3": (1, row_digest("widgets", widget(3, 1))),
    "widgets#4": (2, TOMBSTONE),
    "orders#10": (2, row_digest("orders", order(10, 2, widget_id=1))),
}
"""pk -> (version, row digest or TOMBSTONE) once every batch is projected."""


def create_read_model(aws: AwsAccess) -> str:
    name = unique("projector-read-model")
    aws.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": KEY_ATTRIBUTE, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"}],
    )
    return name


def state(aws: AwsAccess, table: str) -> dict[str, tuple[int, str]]:
    """pk -> (version, digest of the row it holds or TOMBSTONE)."""
    pages = aws.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    found = {}
    for item in (item for page in pages for item in page["Items"]):
        row = plain(item)
        pk = row[KEY_ATTRIBUTE]
        shown = TOMBSTONE if is_tombstone(item) else row_digest(entity_of(pk)[0], row)
        found[pk] = (int(row["version"]), shown)
    return found


@pytest.fixture
def read_model(bare_cloud: BareCloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh read-model table, and the environment the function reads (the emulator's
    endpoint and credentials, READ_MODEL_TABLE) in this process."""
    table = create_read_model(bare_cloud.aws)
    for name, value in {**bare_cloud.aws.env(), "READ_MODEL_TABLE": table}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TABLES", raising=False)
    client = function_module(SHARED_MODULE).dynamodb
    client.cache_clear()
    yield table
    client.cache_clear()


def test_the_projector_ends_at_the_source_state_whatever_arrives_late(
    bare_cloud: BareCloud, read_model: str
) -> None:
    handler = function_module("projector").handler

    summaries = [handler(batch, None) for batch in BATCHES]

    assert summaries == [
        {"records": 6, "written": 5, "superseded": 0},
        {"records": 6, "written": 6, "superseded": 0},
        {"records": 3, "written": 0, "superseded": 3},
    ]
    assert state(bare_cloud.aws, read_model) == SOURCE_STATE
    # a retried batch changes nothing
    assert handler(BATCHES[0], None) == {"records": 6, "written": 0, "superseded": 5}
    assert state(bare_cloud.aws, read_model) == SOURCE_STATE


def test_the_naive_projector_resurrects_deleted_rows_and_keeps_stale_ones(
    bare_cloud: BareCloud, read_model: str
) -> None:
    handler = function_module("naive").handler

    summaries = [handler(batch, None) for batch in BATCHES]

    assert summaries == [
        {"records": 6, "written": 5},
        {"records": 6, "written": 6},
        {"records": 3, "written": 3},
    ]
    assert state(bare_cloud.aws, read_model) == {
        **SOURCE_STATE,
        "widgets#1": (2, row_digest("widgets", widget(1, 2))),  # stale: v2 over v3
        "widgets#2": (2, row_digest("widgets", widget(2, 2))),  # resurrected
        "widgets#4": (1, row_digest("widgets", widget(4, 1))),  # resurrected
    }


def test_dynamodb_errors_other_than_superseded_are_raised(
    read_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    projector = function_module("projector")
    monkeypatch.setenv("READ_MODEL_TABLE", f"{read_model}-missing")

    with pytest.raises(projector.dynamodb().exceptions.ResourceNotFoundException):
        projector.handler(BATCHES[0], None)


def package() -> bytes:
    """The function's directory zipped as a Lambda deployment package (modules at the root)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as out:
        for module in sorted(FUNCTION_DIR.glob("*.py")):
            out.write(module, module.name)
    return archive.getvalue()


@pytest.fixture
def functions(bare_cloud: BareCloud, tmp_path: Path) -> Iterator[Functions]:
    functions = Functions(bare_cloud.aws, tmp_path / "run")
    yield functions
    functions.close()


def deploy(aws: AwsAccess, handler: str, table: str) -> str:
    """A python3.11 function of the package running `handler`, writing to `table`; its name."""
    name = unique("projector")
    aws.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role_arn(aws),
        Handler=handler,
        Code={"ZipFile": package()},
        Timeout=30,
        Environment={"Variables": {"READ_MODEL_TABLE": table}},
    )
    return name


@pytest.mark.parametrize(
    ("handler", "changed"),
    [
        ("projector.handler", {}),
        ("naive.handler", {"widgets#1": (2, row_digest("widgets", widget(1, 2)))}),
    ],
)
def test_the_package_runs_in_the_local_lambda_runtime(
    bare_cloud: BareCloud, functions: Functions, handler: str, changed: dict[str, Any]
) -> None:
    table = create_read_model(bare_cloud.aws)
    name = deploy(bare_cloud.aws, handler, table)
    batch = msk_event(
        [
            dms_message("insert", WIDGETS, widget(1, 1)),
            dms_message("update", WIDGETS, widget(1, 3)),
            dms_message("update", WIDGETS, widget(1, 2)),
        ]
    )

    invocation = functions.invoke(name, batch)

    assert invocation.ok, invocation.error
    assert invocation.payload["records"] == 3
    assert state(bare_cloud.aws, table) == {
        "widgets#1": (3, row_digest("widgets", widget(1, 3))),
        **changed,
    }


def test_a_record_that_is_no_dms_change_fails_the_invocation(
    bare_cloud: BareCloud, functions: Functions
) -> None:
    name = deploy(bare_cloud.aws, "projector.handler", create_read_model(bare_cloud.aws))
    key_only_delete = msk_event([dms_message("delete", WIDGETS, {"id": "7"})])

    invocation = functions.invoke(name, key_only_delete)

    assert invocation.error is not None
    assert invocation.error.error_type == "MessageError"
    assert "widgets 7 carries no version" in invocation.error.message
