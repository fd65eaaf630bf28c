"""DynamoDB: each write is atomic, and a batch refuses two writes to one key of one table, as
on AWS."""

import functools
import json
import threading
from typing import Any

from harness.local.moto_fixes.guard import fix

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items")
WRITE_LOCK = threading.RLock()
"""Held by every write (`atomic_writes`), and by what must see no write half done."""


@fix(*(f"moto.dynamodb.models.DynamoDBBackend.{name}" for name in _WRITES))
def atomic_writes() -> None:
    # moto's server runs requests in threads and its writes take no lock: two concurrent
    # conditional puts can both pass their condition, and two stream records can get the
    # same sequence number (it is the shard's length when the record is made). A reader
    # of the stream then gets one record again and again. One lock makes every write whole.
    from moto.dynamodb.models import DynamoDBBackend

    def atomic(write: Any) -> Any:
        @functools.wraps(write)
        def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
            with WRITE_LOCK:
                return write(self, *args, **kwargs)

        return locked

    for name in _WRITES:
        setattr(DynamoDBBackend, name, atomic(getattr(DynamoDBBackend, name)))


@fix("moto.dynamodb.responses.DynamoHandler.batch_write_item")
def batch_duplicates_per_table() -> None:
    # moto refuses a BatchWriteItem whose deletes name the same key in two different tables
    # ("Provided list of item keys contains duplicates": it compares the keys without their
    # table), and lets two puts of one key through when the items differ (it compares whole
    # items). AWS refuses a request with two writes to one key of one table, and only that.
    from moto.dynamodb.exceptions import MockValidationException
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.batch_write_item

    def key_of(table: Any, item: dict[str, Any]) -> str:
        names = [table.hash_key_attr, table.range_key_attr]
        return json.dumps([item.get(name) for name in names if name], sort_keys=True)

    @functools.wraps(original)
    def batch_write_item(self: Any) -> Any:
        for table_name, requests in self.body["RequestItems"].items():
            table = self.dynamodb_backend.get_table(table_name)
            keys = [
                key_of(table, request.get("PutRequest", {}).get("Item") or {})
                if "PutRequest" in request
                else key_of(table, request.get("DeleteRequest", {}).get("Key") or {})
                for request in requests
            ]
            if len(set(keys)) < len(keys):
                raise MockValidationException("Provided list of item keys contains duplicates")
        self._contains_duplicates = lambda keys: False  # this request's own check is done
        try:
            return original(self)
        finally:
            del self._contains_duplicates

    DynamoHandler.batch_write_item = batch_write_item
