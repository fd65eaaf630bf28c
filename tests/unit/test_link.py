"""The data-centre link: relays bytes whole and in order, delays them each way while told to,
and closes its connections when stopped."""

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from harness.local.link import Link


@pytest.fixture
def echo() -> Iterator[int]:
    """A TCP server sending back whatever it reads; its port."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=_echo, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


def _echo(conn: socket.socket) -> None:
    with conn:
        while data := conn.recv(65_536):
            conn.sendall(data)


def _round_trip(client: socket.socket, payload: bytes) -> bytes:
    client.sendall(payload)
    got = b""
    while len(got) < len(payload):
        got += client.recv(65_536)
    return got


def test_the_link_relays_in_order_and_delays_each_way_while_told(echo: int) -> None:
    link = Link(echo)
    link.start()
    try:
        client = socket.create_connection(("127.0.0.1", link.port))
        payload = bytes(range(256)) * 8_000  # 2 MB: many chunks
        assert _round_trip(client, payload) == payload

        link.delay(0.1)
        started = time.monotonic()
        assert _round_trip(client, b"ping") == b"ping"
        delayed_s = time.monotonic() - started
        assert _round_trip(client, payload) == payload  # still whole and in order

        link.delay(0.0)
        started = time.monotonic()
        assert _round_trip(client, b"pong") == b"pong"
        undelayed_s = time.monotonic() - started
    finally:
        link.stop()

    assert delayed_s >= 0.2  # held 0.1 s on the way there and 0.1 s back
    assert undelayed_s < delayed_s
    client.settimeout(5)
    assert client.recv(1) == b""  # stopped: its connections closed
