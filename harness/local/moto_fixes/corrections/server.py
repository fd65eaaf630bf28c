"""The server itself: an SDK's retry of a request moto already answered is answered the same.

The AWS SDKs retry a request whose answer they did not get (a dropped connection, a reset)
with the same `amz-sdk-invocation-id` and `amz-sdk-request: attempt=N`; Terraform's AWS
provider allows 25 attempts whatever AWS_MAX_ATTEMPTS says. moto runs every attempt again,
so a create whose first attempt succeeded answers the retry with ResourceAlreadyExists
(seen: CreateReplicationInstance, failing a whole apply). Here the answer to each
invocation that may be retried (its `max` above 1; below 500, up to REPLAY_BODY_MAX bytes;
the newest REPLAY_KEEP of them) is kept, and a later attempt of it gets that answer again
without running twice; an attempt arriving while an earlier one still runs waits for it.
Each replay is logged. Reads (GET, HEAD) are run again, as they change nothing; clients that
never retry (the harness's own, `max=1`) pass straight through.
"""

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from harness.local.moto_fixes.guard import fix

log = logging.getLogger("harness.local.moto_fixes")

REPLAY_KEEP = 1024
REPLAY_BODY_MAX = 64 * 1024
_READS = ("GET", "HEAD")
_MAX_ATTEMPTS = re.compile(r"max=(\d+)")

Answer = tuple[str, list[tuple[str, str]], bytes]
"""(status line, headers, body)"""


class _Answers:
    """The kept answers by invocation id, and the invocations running now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, Answer] = OrderedDict()
        self._running: dict[str, threading.Event] = {}

    def begin(self, invocation: str) -> Answer | None:
        """The answer an earlier attempt got (waiting for one still running), or None: this
        attempt runs, and `end` must follow."""
        while True:
            with self._lock:
                if invocation in self._kept:
                    return self._kept[invocation]
                running = self._running.get(invocation)
                if running is None:
                    self._running[invocation] = threading.Event()
                    return None
            running.wait()

    def end(self, invocation: str, answer: Answer | None) -> None:
        with self._lock:
            if answer is not None:
                self._kept[invocation] = answer
                while len(self._kept) > REPLAY_KEEP:
                    self._kept.popitem(last=False)
            self._running.pop(invocation).set()


@fix("moto.moto_server.werkzeug_app.DomainDispatcherApplication.__call__")
def retries_answered_once() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    dispatch = DomainDispatcherApplication.__call__
    answers = _Answers()

    def call(self: Any, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        invocation = environ.get("HTTP_AMZ_SDK_INVOCATION_ID")
        attempts = _MAX_ATTEMPTS.search(environ.get("HTTP_AMZ_SDK_REQUEST", ""))
        retried = invocation and attempts and int(attempts.group(1)) > 1
        if not retried or environ.get("REQUEST_METHOD") in _READS:
            return dispatch(self, environ, start_response)
        kept = answers.begin(invocation)
        if kept is not None:
            status, headers, body = kept
            log.warning(
                "answered %s again (invocation %s, %s)",
                environ.get("HTTP_X_AMZ_TARGET") or environ.get("PATH_INFO"),
                invocation,
                environ.get("HTTP_AMZ_SDK_REQUEST", "a retry"),
            )
            start_response(status, headers)
            return [body]
        answer: Answer | None = None
        try:
            answer = _run(dispatch, self, environ, start_response)
            return [answer[2]]
        finally:
            keep = answer is not None and int(answer[0][:3]) < 500
            answers.end(invocation, answer if keep and len(answer[2]) <= REPLAY_BODY_MAX else None)

    DomainDispatcherApplication.__call__ = call


def _run(
    dispatch: Callable[..., Iterable[bytes]],
    app: Any,
    environ: dict[str, Any],
    start_response: Callable[..., Any],
) -> Answer:
    """Run the request through moto; its whole answer (also sent to `start_response`)."""
    started: list[Any] = []

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return start_response(status, headers, exc_info)

    chunks = dispatch(app, environ, capture)
    try:
        body = b"".join(chunks)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    status, headers = started
    return status, list(headers), body
