"""A meter of what the emulated services are asked for, in the units AWS bills them by (the
price keys of `harness/cost/prices.yaml`), so a run's cost per change is counted, not
guessed. `GET /_cdcbench/usage` on any host answers the totals since the server started.

moto keeps no such account, and on AWS it comes from the bill; here every request is
metered as it is answered, by the service of its signature and its operation:
- Kinesis PutRecord(s): PUT payload units (each record's data and partition key, per 25 KB).
- DynamoDB writes: write request units (an item written per 1 KB of its size, computed as
  DynamoDB sizes items; an update or delete as one unit: its item's size is not in the
  request; transactions twice; a throttled write, or a batch's unprocessed ones, not at
  all); reads: read request units (per 4 KB of the answer, half for an eventually
  consistent read; transactions twice). DynamoDB Streams reads are not
  metered: Lambda's are free and nothing else here reads a stream.
- S3: PUT, POST, COPY and LIST requests, and GET/HEAD requests.
- SQS: every request (standard or FIFO by its queue), Secrets Manager API calls, KMS requests.
Requests of the harness's own clients (`harness.aws.HARNESS_AGENT` in their User-Agent:
observers, engines' control calls) and private routes are not metered.
"""

import base64
import json
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from io import BytesIO
from typing import Any

from harness.aws import HARNESS_AGENT
from harness.local.moto_fixes.guard import fix

USAGE_PATH = "/_cdcbench/usage"
_SCOPE = re.compile(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/")
_KINESIS_UNIT = 25 * 1024
_DYNAMODB_WRITE = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
_DYNAMODB_READ = ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems")
_FLAT = {"secretsmanager": "secretsmanager.api_call", "kms": "kms.request"}


def attribute_size(value: dict[str, Any]) -> int:
    """An attribute value's size as DynamoDB counts it: UTF-8 strings, binary, a number a
    byte per two significant digits plus one, a map or list 3 bytes plus 1 per element."""
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = inner.lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(base64.b64decode(inner))
    if kind in ("SS", "NS", "BS"):
        return sum(attribute_size({kind[0]: v}) for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attribute_size(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(attribute_size(v) + 1 for v in inner)
    return 1  # BOOL, NULL


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def write_units(item: dict[str, Any] | None, transaction: bool = False) -> int:
    """One write's write request units: a put's per 1 KB of its `item`, an update's or a
    delete's (None: its item's size is not in the request) one; twice in a transaction."""
    units = 1 if item is None else max(1, math.ceil(item_size(item) / 1024))
    return 2 * units if transaction else units


def request_units(
    service: str, operation: str, method: str, path: str, query: str, body: bytes
) -> Counter[str]:
    """What one request is billed, before its answer (DynamoDB reads are metered by answer).
    S3 is addressed by path (`/bucket/key`): a GET of a bucket lists it."""
    units: Counter[str] = Counter()
    if service == "kinesis" and operation in ("PutRecord", "PutRecords"):
        request = json.loads(body)
        for record in request.get("Records", [request]):
            size = len(base64.b64decode(record["Data"])) + len(record["PartitionKey"].encode())
            units["kinesis.put_payload_unit"] += max(1, math.ceil(size / _KINESIS_UNIT))
    elif service == "dynamodb" and operation in _DYNAMODB_WRITE:
        request = json.loads(body)
        if operation == "PutItem":
            units["dynamodb.write_request_unit"] += write_units(request["Item"])
        elif operation == "BatchWriteItem":
            for writes in request["RequestItems"].values():
                for write in writes:
                    put = write.get("PutRequest")
                    units["dynamodb.write_request_unit"] += write_units(put and put["Item"])
        elif operation == "TransactWriteItems":
            for action in request["TransactItems"]:
                put = action.get("Put")
                units["dynamodb.write_request_unit"] += write_units(put and put["Item"], True)
        else:
            units["dynamodb.write_request_unit"] += 1
    elif service == "s3":
        listing = method == "GET" and ("list-type=" in query or "/" not in path.strip("/"))
        cheap = method in ("GET", "HEAD") and not listing
        units["s3.get_request" if cheap else "s3.put_request"] += 1
    elif service == "sqs":
        fifo = b".fifo" in body
        units["sqs.request.fifo" if fifo else "sqs.request.standard"] += 1
    elif service in _FLAT:
        units[_FLAT[service]] += 1
    return units


def read_units(operation: str, body: bytes, answer_bytes: int) -> Counter[str]:
    """A DynamoDB read's read request units, by the size of its answer."""
    units: Counter[str] = Counter()
    if operation in _DYNAMODB_READ:
        consistent = b'"ConsistentRead": true' in body or b'"ConsistentRead":true' in body
        whole = math.ceil(max(answer_bytes, 1) / 4096)
        factor = 2.0 if operation == "TransactGetItems" else 1.0 if consistent else 0.5
        units["dynamodb.read_request_unit"] += whole * factor
    return units


def written_units(operation: str, body: bytes, answer: bytes) -> Counter[str]:
    """A DynamoDB write's write request units, by its answer: none for a throttled one, and
    a batch's without the writes it left unprocessed (DynamoDB bills neither)."""
    if b"ThrottlingException" in answer[:200]:
        return Counter()
    units = request_units("dynamodb", operation, "POST", "/", "", body)
    left = json.loads(answer).get("UnprocessedItems") if operation == "BatchWriteItem" else None
    if left:
        unprocessed = json.dumps({"RequestItems": left}).encode()
        units -= request_units("dynamodb", operation, "POST", "/", "", unprocessed)
    return units


class _Meter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.totals: Counter[str] = Counter()

    def add(self, units: Counter[str]) -> None:
        if units:
            with self._lock:
                self.totals.update(units)

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self.totals)


@fix("moto.moto_server.werkzeug_app.DomainDispatcherApplication.__call__")
def metered() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    dispatch = DomainDispatcherApplication.__call__
    meter = _Meter()

    def call(self: Any, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == USAGE_PATH:
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(meter.snapshot()).encode()]
        scope = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if (
            scope is None
            or HARNESS_AGENT in environ.get("HTTP_USER_AGENT", "")
            or "/cdcbench/" in path
        ):
            return dispatch(self, environ, start_response)
        service = scope.group(1)
        operation = environ.get("HTTP_X_AMZ_TARGET", "").rpartition(".")[2]
        body = b""
        if service in ("kinesis", "dynamodb", "sqs"):
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = BytesIO(body)
        query, method = environ.get("QUERY_STRING", ""), environ.get("REQUEST_METHOD", "")
        write = service == "dynamodb" and operation in _DYNAMODB_WRITE
        if not write:
            meter.add(request_units(service, operation, method, path, query, body))
        answer: Iterable[bytes] = dispatch(self, environ, start_response)
        if service == "dynamodb" and operation in _DYNAMODB_READ:
            answer = list(answer)
            meter.add(read_units(operation, body, sum(len(part) for part in answer)))
        elif write:
            answer = list(answer)
            meter.add(written_units(operation, body, b"".join(answer)))
        return answer

    DomainDispatcherApplication.__call__ = call  # type: ignore[method-assign]
