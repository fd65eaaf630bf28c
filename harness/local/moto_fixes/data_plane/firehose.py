"""Firehose: S3 deliveries are the local Firehose engine's (`harness.local.firehose`).

moto writes one S3 object per PutRecord/PutRecordBatch, at once, under its own key format;
AWS buffers by the destination's BufferingHints. Here moto's side only captures the records
of each put to an S3 or ExtendedS3 destination, with the stream's version and destination
configuration and the arrival time, and hands them over in arrival order through a private
route (client side: `harness.local.firehose.api`):
- GET /cdcbench/firehose/records?wait=<s>: what was captured since the last call in the
  caller's account and region (long poll), and the deletions of streams.
The engine, in the harness process, buffers and writes the objects through the S3 API. What
the engine cannot deliver faithfully is refused at CreateDeliveryStream/UpdateDestination.

While no engine takes them, captured records are held up to `HOLD_BYTES`; beyond that a put
is answered with ServiceUnavailableException, as AWS answers a stream over its throughput.
Other destinations are left to moto.
"""

import base64
import copy
import inspect
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from harness.local.firehose.s3_objects import unsupported
from harness.local.moto_fixes.guard import fix
from harness.local.moto_fixes.routes import Response, json_answer, query_float, response_for

_CREATE = ("s3_destination_configuration", "extended_s3_destination_configuration")
_UPDATE = ("s3_destination_update", "extended_s3_destination_update")
HOLD_BYTES = 64 * 1024 * 1024
"""Record bytes held for the engine per account and region before puts are refused."""


class _Captured:
    """Puts and deletions waiting for the engine, per (account, region), in arrival order."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: dict[tuple[str, str], deque[dict[str, Any]]] = {}
        self._bytes: dict[tuple[str, str], int] = {}

    def add(self, where: tuple[str, str], item: dict[str, Any], size: int = 0) -> bool:
        """Queue `item`; False (nothing queued) when `size` more bytes would exceed the hold."""
        with self._cond:
            held = self._bytes.get(where, 0)
            if size and held + size > HOLD_BYTES:
                return False
            self._waiting.setdefault(where, deque()).append(item)
            self._bytes[where] = held + size
            self._cond.notify_all()
            return True

    def take(self, where: tuple[str, str], wait_s: float) -> list[dict[str, Any]]:
        with self._cond:
            if not self._waiting.get(where):
                self._cond.wait_for(lambda: bool(self._waiting.get(where)), wait_s)
            items = list(self._waiting.pop(where, ()))
            self._bytes.pop(where, None)
            return items


CAPTURED = _Captured()


@fix(
    "moto.firehose.models.FirehoseBackend.put_s3_records",
    "moto.firehose.models.FirehoseBackend.put_record_batch",
    "moto.firehose.models.FirehoseBackend.delete_delivery_stream",
    "moto.firehose.models.FirehoseBackend().delivery_streams",
    "moto.firehose.models.FirehoseBackend().account_id",
    "moto.firehose.models.FirehoseBackend().region_name",
    "moto.firehose.exceptions.FirehoseException",
    "moto.firehose.responses.FirehoseResponse.setup_class",
    "moto.firehose.urls.url_paths",
)
def record_handover() -> None:
    # moto writes one object per put, at once (no buffering, its own key format); the
    # engine buffers and delivers instead. Returns moto's answer: one RecordId per record.
    from moto.firehose import urls
    from moto.firehose.exceptions import FirehoseException
    from moto.firehose.models import FirehoseBackend

    moto_delete = FirehoseBackend.delete_delivery_stream

    def put_s3_records(
        self: Any,
        delivery_stream_name: str,
        version_id: str,
        s3_destination: dict[str, Any],
        records: list[dict[str, bytes]],
    ) -> list[dict[str, str]]:
        item = {
            "DeliveryStreamName": delivery_stream_name,
            "VersionId": version_id,
            "Destination": copy.deepcopy(s3_destination),
            "ArrivalTime": time.time(),
            "Records": [base64.b64encode(r["Data"]).decode() for r in records],
        }
        size = sum(len(r["Data"]) for r in records)
        if not CAPTURED.add((self.account_id, self.region_name), item, size):
            raise FirehoseException(
                "ServiceUnavailableException",
                f"Slow down: no local Firehose engine has taken the last {HOLD_BYTES} bytes",
            )
        return [{"RecordId": str(uuid.uuid4())} for _ in records]

    # moto had no buffer to deliver on delete: the engine is told, after the stream's
    # records, and delivers what it holds for the stream.
    def delete_delivery_stream(self: Any, delivery_stream_name: str) -> None:
        moto_delete(self, delivery_stream_name)
        item = {"DeliveryStreamName": delivery_stream_name, "Deleted": True}
        CAPTURED.add((self.account_id, self.region_name), item)

    FirehoseBackend.put_s3_records = put_s3_records
    FirehoseBackend.delete_delivery_stream = delete_delivery_stream
    urls.url_paths.update({r"{0}/cdcbench/firehose/records$": _take_records})


def _take_records(request: Any, full_url: str, headers: Any) -> Response:
    from moto.firehose.responses import FirehoseResponse

    response = response_for(FirehoseResponse, request, full_url, headers)
    where = (response.current_account, response.region)
    wait_s = min(query_float(full_url, "wait", 1.0), 20)
    return json_answer({"Handed": CAPTURED.take(where, wait_s)})


@fix(
    *(f"moto.firehose.models.FirehoseBackend.create_delivery_stream({name})" for name in _CREATE),
    *(f"moto.firehose.models.FirehoseBackend.update_destination({name})" for name in _UPDATE),
    "moto.firehose.exceptions.InvalidArgumentException",
)
def refuse_unsupported_destinations() -> None:
    # moto accepts any S3 destination settings and ignores most of them. Those the engine
    # cannot produce (see `harness.local.firehose.s3_objects.unsupported`) are refused with
    # one line, rather than delivered in the wrong form.
    from moto.firehose.models import FirehoseBackend

    FirehoseBackend.create_delivery_stream = _checked(
        FirehoseBackend.create_delivery_stream, _CREATE
    )
    FirehoseBackend.update_destination = _checked(FirehoseBackend.update_destination, _UPDATE)


def _checked(method: Callable[..., Any], config_args: tuple[str, ...]) -> Callable[..., Any]:
    """`method`, refusing S3 destination configs (named arguments) the engine cannot deliver."""
    from moto.firehose.exceptions import InvalidArgumentException

    signature = inspect.signature(method)

    def checked(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs).arguments
        for name in config_args:
            problem = unsupported(bound[name]) if bound.get(name) else None
            if problem:
                raise InvalidArgumentException(problem)
        return method(*args, **kwargs)

    return checked
