"""DynamoDB: an on-demand table's maximum write throughput (`OnDemandThroughput`), which moto
neither keeps nor enforces. UpdateTable keeps it, DescribeTable answers it, and the table's
writes past `MaxWriteRequestUnits` a second are throttled as DynamoDB documents: a quick
`ThrottlingException` whose `throttlingReasons` name `TableWriteMaxOnDemandThroughputExceeded`
and the table. A BatchWriteItem's writes past the limit come back as `UnprocessedItems`, and
when none of them fits, the whole request is throttled. That is how a fault throttles a
table through the API a user's tooling would use.

A table's allowance is one second of its maximum, refilled continuously; a write goes through
when its units are left, or a whole second's allowance for a write larger than that (which
would never pass otherwise). A write's units are the metered ones (`usage.write_units`).
DynamoDB does not document how it meters against the maximum within a second; runs whose
throttle is far below the offered rate, as a fault's is, are throttled alike either way.
Reads are not limited: `MaxReadRequestUnits` is kept and answered only.
"""

import functools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from harness.local.moto_fixes.guard import fix

THROTTLED = frozenset({"dynamodb"})
"""The services whose limits set through their API the local target enforces."""
UNLIMITED = -1
"""A maximum of -1 removes it (DynamoDB's convention)."""


@dataclass
class Allowance:
    """A second's worth of `per_s` units, refilled continuously."""

    per_s: float
    left: float = field(init=False)
    at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.left = self.per_s

    def take(self, units: int) -> bool:
        """Whether a write of `units` goes through now (taking them)."""
        now = time.monotonic()
        self.left = min(self.per_s, self.left + (now - self.at) * self.per_s)
        self.at = now
        if self.left < min(units, self.per_s):
            return False
        self.left -= units
        return True


@dataclass
class _Limits:
    """A table's OnDemandThroughput as given, and the write allowance it sets."""

    given: dict[str, int]
    writes: Allowance | None


_LOCK = threading.Lock()
_ATTRIBUTE = "cdcbench_on_demand_throughput"
"""Where a table keeps its `_Limits`."""


def _limits(table: Any) -> _Limits | None:
    limits: _Limits | None = getattr(table, _ATTRIBUTE, None)
    return limits


def _take(backend: Any, table_name: str, units: int) -> bool:
    with _LOCK:
        limits = _limits(backend.get_table(table_name))
        return limits is None or limits.writes is None or limits.writes.take(units)


@fix(
    "moto.dynamodb.responses.DynamoHandler.update_table",
    "moto.dynamodb.responses.DynamoHandler.put_item",
    "moto.dynamodb.responses.DynamoHandler.update_item",
    "moto.dynamodb.responses.DynamoHandler.delete_item",
    "moto.dynamodb.responses.DynamoHandler.batch_write_item",
    "moto.dynamodb.responses.DynamoHandler.transact_write_items",
    "moto.dynamodb.models.table.Table.describe",
    "moto.dynamodb.exceptions.DynamodbException",
)
def max_on_demand_throughput() -> None:
    from moto.dynamodb.exceptions import ERROR_TYPE_PREFIX, DynamodbException
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    from harness.local.moto_fixes.additions.usage import write_units

    class ThrottlingException(DynamodbException):
        def __init__(self, table: Any) -> None:
            super().__init__(
                ERROR_TYPE_PREFIX + "ThrottlingException",
                f"Throughput exceeds the maximum on-demand throughput of table {table.name}",
            )
            reason = {"reason": "TableWriteMaxOnDemandThroughputExceeded"}
            self.description = json.dumps(
                {
                    "__type": self.error_type,
                    "message": self.message,
                    "throttlingReasons": [{**reason, "resource": table.table_arn}],
                }
            )

    update_table = DynamoHandler.update_table

    @functools.wraps(update_table)
    def update(self: Any) -> Any:
        wanted = self.body.get("OnDemandThroughput")
        if wanted is not None:
            table = self.dynamodb_backend.get_table(self.body["TableName"])
            before = _limits(table)
            given = {**(before.given if before else {}), **wanted}
            given = {k: v for k, v in given.items() if v != UNLIMITED}
            writes = given.get("MaxWriteRequestUnits")
            with _LOCK:
                setattr(table, _ATTRIBUTE, _Limits(given, Allowance(writes) if writes else None))
        return update_table(self)

    describe = Table.describe

    @functools.wraps(describe)
    def described(self: Any, base_key: str = "TableDescription") -> dict[str, Any]:
        result: dict[str, Any] = describe(self, base_key=base_key)
        limits = _limits(self)
        if limits and limits.given:
            result[base_key]["OnDemandThroughput"] = limits.given
        return result

    def limited(write: Any) -> Any:
        """A single-item write: throttled past the table's allowance."""

        @functools.wraps(write)
        def guarded(self: Any) -> Any:
            name = self.body["TableName"]
            if not _take(self.dynamodb_backend, name, write_units(self.body.get("Item"))):
                raise ThrottlingException(self.dynamodb_backend.get_table(name))
            return write(self)

        return guarded

    batch_write_item = DynamoHandler.batch_write_item

    @functools.wraps(batch_write_item)
    def batch(self: Any) -> Any:
        taken: dict[str, list[Any]] = {}
        left: dict[str, list[Any]] = {}
        for name, requests in self.body["RequestItems"].items():
            for request in requests:
                put = request.get("PutRequest")
                units = write_units(put and put["Item"])
                fits = not left.get(name) and _take(self.dynamodb_backend, name, units)
                (taken if fits else left).setdefault(name, []).append(request)
        if not taken:
            raise ThrottlingException(self.dynamodb_backend.get_table(next(iter(left))))
        self.body["RequestItems"] = taken
        result = batch_write_item(self)
        result.result["UnprocessedItems"] = left
        return result

    transact_write_items = DynamoHandler.transact_write_items

    @functools.wraps(transact_write_items)
    def transact(self: Any) -> Any:
        for action in self.body["TransactItems"]:
            [(kind, write)] = action.items()
            units = write_units(write["Item"] if kind == "Put" else None, True)
            if kind != "ConditionCheck" and not _take(
                self.dynamodb_backend, write["TableName"], units
            ):
                raise ThrottlingException(self.dynamodb_backend.get_table(write["TableName"]))
        return transact_write_items(self)

    DynamoHandler.update_table = update
    Table.describe = described
    for name in ("put_item", "update_item", "delete_item"):
        setattr(DynamoHandler, name, limited(getattr(DynamoHandler, name)))
    DynamoHandler.batch_write_item = batch
    DynamoHandler.transact_write_items = transact
