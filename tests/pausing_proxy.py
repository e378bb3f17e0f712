"""A TCP proxy on 127.0.0.1 that can stop forwarding while it keeps every connection open: to both ends it looks like
a peer whose process stopped answering while its kernel still acknowledges (a hung disk under PostgreSQL, a
SIGSTOPped server), which no keepalive or TCP timeout detects."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

POLL_SECONDS = 0.05


class PausingProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._forwarding = threading.Event()
        self._forwarding.set()
        self._closing = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def pause(self) -> None:
        """From now on no byte goes through, either way; connections stay open and new ones are accepted."""
        self._forwarding.clear()

    def resume(self) -> None:
        self._forwarding.set()

    def close(self) -> None:
        self._closing.set()
        self._forwarding.set()
        self._listener.close()
        for sock in list(self._sockets):
            sock.close()
        for thread in self._threads:
            thread.join(5)

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream, timeout=10)
            self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                thread = threading.Thread(target=self._pump, args=(source, sink), daemon=True)
                self._threads.append(thread)
                thread.start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while not self._closing.is_set():
                if not self._forwarding.wait(POLL_SECONDS):
                    continue  # paused: what arrives waits in the kernel's buffers
                if not select.select([source], [], [], POLL_SECONDS)[0]:
                    continue
                data = source.recv(65536)
                if not data:
                    break
                self._forwarding.wait()  # paused between the read and the write: hold the bytes until resumed
                sink.sendall(data)
        except (OSError, ValueError):  # closed under it (ValueError: select on a closed socket's -1)
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@contextmanager
def pausing_proxy(host: str, port: int) -> Iterator[PausingProxy]:
    proxy = PausingProxy((host, port))
    try:
        yield proxy
    finally:
        proxy.close()
