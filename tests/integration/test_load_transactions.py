"""The load's transactions against the session PostgreSQL."""

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from harness.load import schema
from harness.load.schema_change import add_column
from harness.load.transactions import connect, execute
from harness.load.workload import Plan
from harness.targets import Target


@pytest.fixture
def dsn(local_target: Target) -> Iterator[str]:
    schema.reset(local_target.source_dsn)
    yield local_target.source_dsn


def test_a_connection_keeps_writing_after_another_adds_a_column(
    dsn: str, tmp_path: Path, added_column: tuple[str, str, str]
) -> None:
    """Each load user has its own connection; one of them adds the column mid-run, and
    the others' `RETURNING *` statements (run often enough to be prepared) go on."""
    table, column, sql_type = added_column
    order = {"quantity": 1, "amount": Decimal(1), "status": "new", "meta": {}}
    with connect(dsn) as writer, connect(dsn) as ddl:
        widget = execute(writer, Plan("insert", None, False, {"name": "w"}), 0)
        key = widget.changes[0].key
        for _ in range(8):
            assert execute(writer, Plan("order", int(key), False, order), 0).committed
        assert add_column(ddl, table, column, sql_type, tmp_path) is not None
        after = execute(writer, Plan("order", int(key), False, order), 0)
    assert after.committed
    images = zip(after.changes, after.images, strict=True)
    widget_image = next(image for change, image in images if change.table == "widgets")
    assert widget_image is not None and column in widget_image
