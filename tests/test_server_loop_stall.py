"""A worker's event loop stalls while a request waits on the database (up to 5 s, inline on the loop). Keep-alive
connections that sent their next request during the stall must get an answer when the loop resumes, although their
keep-alive timeout (uvicorn's) and read deadline (BoundedHeadProtocol's) expired meanwhile: the loop must read what
arrived before it runs those expired timers, or the connections close with the requests unread.

Over real sockets, on BoundedHeadProtocol with `samlfed serve`'s HTTP options, on uvloop (what `serve` runs when it
is installed, as uvicorn[standard] installs it) and on asyncio; the keep-alive timeout and the read deadline are
shortened so the stall outlasts both quickly. The stall ends when the test says so, not after a guessed time, so the
requests are in the kernel's buffers and both timers overdue before the loop runs again. The same holds when the
worker is told to stop during the stall (a SIGHUP restart stops the old workers), and for connections that stayed
idle through the stall and are reused the moment it ends."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from servers import free_port

from samlfed import server
from samlfed.server import http_options

KEEP_ALIVE = 1
IDLE_CONNECTIONS = 8
WAIT = 15
"""A bound on every wait below (sockets, events, start and stop), in seconds; none is expected to be reached."""


class _StallingApp:
    """Answers `ok`; on /stall blocks the whole event loop (as an inline database wait does) until released."""

    def __init__(self) -> None:
        self.stalling = threading.Event()
        self.release = threading.Event()

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        if scope["path"] == "/stall":
            self.stalling.set()
            self.release.wait(WAIT)  # blocking on purpose: nothing else on this loop runs meanwhile
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


@contextmanager
def _serving(app: _StallingApp, loop: str) -> Iterator[uvicorn.Server]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", loop=loop, timeout_keep_alive=KEEP_ALIVE, **http_options())
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    try:
        for _ in range(WAIT * 50):
            if uvicorn_server.started or not thread.is_alive():
                break
            time.sleep(0.02)
        assert uvicorn_server.started
        yield uvicorn_server
    finally:
        app.release.set()
        uvicorn_server.should_exit = True
        thread.join(WAIT)


def _request(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()


def _answer(sock: socket.socket) -> str:
    """The status line of the answer read from `sock`, or how the connection ended without one."""
    received = b""
    try:
        while not received.endswith(b"\r\n\r\nok"):
            data = sock.recv(65536)
            if not data:
                return "closed with no answer" if not received else f"closed mid-answer: {received!r}"
            received += data
    except ConnectionResetError:
        return "reset with no answer"
    except TimeoutError:
        return "no answer in time"
    return received.split(b"\r\n", 1)[0].decode()


@contextmanager
def _idle_connections(port: int, count: int) -> Iterator[tuple[list[socket.socket], socket.socket]]:
    """`count` keep-alive connections that each had one request answered and are now idle, and one more connection
    for the request that stalls the loop; all closed afterwards."""
    idle = [socket.create_connection(("127.0.0.1", port), timeout=WAIT) for _ in range(count)]
    stalled = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    try:
        for sock in idle:
            sock.sendall(_request("/"))
            assert _answer(sock) == "HTTP/1.1 200 OK"
        yield idle, stalled
    finally:
        for sock in [*idle, stalled]:
            sock.close()


@pytest.mark.parametrize("stop_during_stall", [False, True], ids=["keep serving", "told to stop during the stall"])
@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_requests_sent_during_a_stall_are_answered(loop: str, stop_during_stall: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server, "REQUEST_READ_SECONDS", KEEP_ALIVE)  # the read deadline also expires in the stall
    app = _StallingApp()
    with _serving(app, loop) as uvicorn_server, _idle_connections(uvicorn_server.config.port, IDLE_CONNECTIONS) as (idle, stalled):
        stalled.sendall(_request("/stall"))
        assert app.stalling.wait(WAIT)
        for sock in idle:
            sock.sendall(_request("/"))
        if stop_during_stall:
            uvicorn_server.should_exit = True  # what SIGTERM sets
        time.sleep(2 * KEEP_ALIVE)  # not a measurement: lets both timers of every idle connection fall due
        app.release.set()

        answers = [_answer(sock) for sock in idle]
        assert _answer(stalled) == "HTTP/1.1 200 OK"
        assert answers == ["HTTP/1.1 200 OK"] * IDLE_CONNECTIONS


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_idle_connections_reused_right_after_a_stall_are_answered(loop: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The keep-alive timeouts and read deadlines that fell due during a stall run when it ends, just as clients,
    whose answers have come, reuse their idle connections: a pooled client lost every one of them. Connections idle
    through a stall get a grace instead; a connection that stays idle is still closed afterwards."""
    monkeypatch.setattr(server, "REQUEST_READ_SECONDS", KEEP_ALIVE)
    app = _StallingApp()
    with _serving(app, loop) as uvicorn_server, _idle_connections(uvicorn_server.config.port, IDLE_CONNECTIONS + 1) as (idle, stalled):
        stalled.sendall(_request("/stall"))
        assert app.stalling.wait(WAIT)
        time.sleep(2 * KEEP_ALIVE)  # not a measurement: lets every idle connection's keep-alive timeout fall due
        app.release.set()
        assert _answer(stalled) == "HTTP/1.1 200 OK"
        *reused, left_idle = idle
        for sock in reused:  # as a client pool does once its answer has come
            sock.sendall(_request("/"))
        assert [_answer(sock) for sock in reused] == ["HTTP/1.1 200 OK"] * IDLE_CONNECTIONS
        assert _answer(left_idle) == "closed with no answer"  # the grace ends; idle connections are not kept for ever
