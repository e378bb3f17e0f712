"""`login --method browser` ends when its wait is over, whatever a local program does with the listener. READ_TIMEOUT
bounds each read of a connection, not the connection: one that sent a byte every few seconds held the listener's
thread, and login, which waits for that thread to stop, went on waiting long past its timeout (until the sender
stopped). A connection still served when the wait ends is now cut, and no other is served."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from samlfed.login.browser import BrowserLoginError, browser_login

TRICKLE_SECONDS = 20


def _trickle(port: int, stop: threading.Event) -> None:
    """A POST whose body comes one byte every half second (each read well within READ_TIMEOUT), for a bounded time."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        ends = time.monotonic() + TRICKLE_SECONDS
        while not stop.is_set() and time.monotonic() < ends:
            try:
                sock.sendall(b"x")
            except OSError:  # the listener cut the connection
                return
            stop.wait(0.5)


def test_a_trickling_local_connection_does_not_hold_the_login_past_its_timeout() -> None:
    stop = threading.Event()
    trickler: list[threading.Thread] = []

    def tell(line: str) -> None:
        if not trickler:  # the first line names the listener's port
            port = int(line.rsplit(":", 1)[1].split("/", 1)[0])
            trickler.append(threading.Thread(target=_trickle, args=(port, stop), daemon=True))
            trickler[0].start()

    started = time.monotonic()
    try:
        with pytest.raises(BrowserLoginError, match="no sign-in arrived within 2 seconds"):
            browser_login("http://127.0.0.1:9", open_browser=False, tell=tell, timeout=2)
        took = time.monotonic() - started
    finally:
        stop.set()
        trickler[0].join(TRICKLE_SECONDS + 5)
    assert took < 6, f"login waited {took:.1f} seconds"
