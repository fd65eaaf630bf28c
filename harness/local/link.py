"""The link between the data centre and the cloud, as the local target lays it out: the cloud
side (DMS tasks reading the source) reaches the source database through this TCP relay, which
can delay what crosses it, each way (`delay`: the `network_delay` fault).

Hand-written because no Python library relays TCP with an adjustable delay in-process
(toxiproxy, which does, is a separate Go server). Bytes are relayed as they come (TLS and
PostgreSQL's protocols pass untouched); with a delay, each chunk is held until that long
after it arrived, in order, so a stream's throughput is kept and only its latency grows.
"""

import asyncio
import contextlib
import logging
import threading
import time

from harness.local.component import Component

log = logging.getLogger("harness.local.link")

CHUNK = 65_536
FAULT_DELAY_S = 0.1
"""The delay each way while a `network_delay` fault lasts: 200 ms round trips, as across an
ocean or a congested VPN, where a link to the nearby region takes a few ms."""
START_WAIT_S = 10.0


class Link(Component):
    title = "data-centre link"

    def __init__(self, to_port: int, host: str = "127.0.0.1") -> None:
        """`to_port`: the source database's port on `host`."""
        self.host, self.to_port = host, to_port
        self.port = 0
        """Where the cloud side connects (0 until started)."""
        self.delay_s = 0.0
        """How long each chunk is held, each way (set from any thread)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None

    def start(self) -> None:
        started = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._serve, args=(started,), name="link", daemon=True
        )
        self._thread.start()
        if not started.wait(START_WAIT_S) or not self.port:
            raise RuntimeError(f"the data-centre link did not listen within {START_WAIT_S:g} s")

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(START_WAIT_S)
        self._loop = self._thread = None

    def delay(self, seconds: float) -> None:
        """Hold what crosses the link this long each way from now on (0: none)."""
        self.delay_s = seconds

    def _serve(self, started: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._connection, self.host, 0)
            )
            self.port = self._server.sockets[0].getsockname()[1]
            started.set()
            loop.run_forever()
        finally:
            started.set()
            if self._server is not None:
                self._server.close()
            tasks = asyncio.all_tasks(loop)
            for task in tasks:  # every connection closes
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()

    async def _connection(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        try:
            server_in, server_out = await asyncio.open_connection(self.host, self.to_port)
        except OSError as exc:
            log.warning("data-centre link: the source refused a connection: %s", exc)
            client_out.close()
            return
        await asyncio.gather(self._pipe(client_in, server_out), self._pipe(server_in, client_out))

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Relay one direction: chunks read as they come, each written once its delay passed."""
        held: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        sender = asyncio.ensure_future(self._send(held, sink))
        try:
            while chunk := await source.read(CHUNK):
                held.put_nowait((time.monotonic() + self.delay_s, chunk))
        except OSError:
            pass
        finally:
            held.put_nowait((0.0, b""))  # the end, after what is held
            with contextlib.suppress(OSError):
                await sender

    async def _send(
        self, held: "asyncio.Queue[tuple[float, bytes]]", sink: asyncio.StreamWriter
    ) -> None:
        try:
            while True:
                due, chunk = await held.get()
                if not chunk:
                    break
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                sink.write(chunk)
                await sink.drain()
        finally:
            sink.close()
