"""moto's WSGI application served over keep-alive HTTP/1.1 by cheroot.

moto's own server is werkzeug's development server, which closes every connection after one
answer: each SDK call then pays a TCP connect, and the server a new thread. cheroot keeps
connections open and answers from a pool of threads (`benchmarks/moto_http.py` measures
both on the same S3 round trips). Unlike other pure-Python servers, it also keeps headers
with underscores in their names, which S3 user metadata may carry; the gateway reports their
names as sent, as moto's own request handler does.
"""

import threading
from typing import Any

from cheroot import wsgi
from moto.moto_server.werkzeug_app import (
    PRESERVED_HEADER_NAMES_ENVIRON_KEY,
    DomainDispatcherApplication,
    create_backend_app,
    environ_key_for_header,
    should_preserve_original_header_name,
)

THREADS = 64
"""Requests served at once: long polls (SQS ReceiveMessage waits up to 20 s) hold one each."""
IDLE_S = 3600
"""How long an idle keep-alive connection stays open: past the longest quiet spell of a
run, so the server never closes a connection just as a client sends on it."""


class _MotoGateway(wsgi.Gateway_10):
    """WSGI 1.0, plus the names as sent of headers whose underscores moto keeps (S3 user
    metadata): the environ folds `-` and `_` into one key, which moto undoes with these."""

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        names = [name.decode("latin-1") for name in self.req.inheaders]
        dashed = {environ_key_for_header(name) for name in names if "_" not in name}
        kept: dict[str, str] = {}
        for name in names:
            key = environ_key_for_header(name)
            # an underscored header never stands in for a dashed one of the same key
            if should_preserve_original_header_name(name) and key not in dashed:
                kept.setdefault(key, name)
        environ[PRESERVED_HEADER_NAMES_ENVIRON_KEY] = kept
        return environ


def serve(host: str = "127.0.0.1") -> int:
    """Serve moto on `host` at an OS-chosen port, from threads of its own, until the process
    exits; the port. There is no stop: cheroot's waits for the requests in flight, and a long
    poll holds one for up to 20 s, so a moto process exits without one (`moto_child`)."""
    app = DomainDispatcherApplication(create_backend_app)
    server = wsgi.Server((host, 0), app, numthreads=THREADS, timeout=IDLE_S)
    server.gateway = _MotoGateway
    server.prepare()
    threading.Thread(target=server.serve, name="moto-http", daemon=True).start()
    return int(server.bind_addr[1])
