"""The trailer section of a chunked body (header fields after its last chunk) is bounded as the head is: uvicorn
kept every trailer field it parsed, so one connection sending trailers for as long as the read deadline allowed grew
the worker by all of them (600 MB in a few seconds over loopback). Over real sockets, against the real app."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from servers import app_in_thread

from samlfed.config import Settings
from samlfed.server import MAX_REQUEST_HEAD_BYTES, BoundedHeadProtocol, build_server_app

CHUNKED = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n18\r\nAction=GetCallerIdentity\r\n0\r\n")
TRAILER = b"X-Trailer: " + b"a" * 1000 + b"\r\n"


@pytest.fixture(scope="module")
def port(tmp_path_factory) -> Iterator[int]:  # type: ignore[no-untyped-def]
    with app_in_thread(build_server_app(Settings(data_dir=tmp_path_factory.mktemp("data"))), http=BoundedHeadProtocol) as url:
        yield int(url.rsplit(":", 1)[1])


def _answer(port: int, writes: list[bytes]) -> bytes:
    """What the server answers (up to its first 64 KiB) once `writes` were sent or it stopped reading them."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            for data in writes:
                sock.sendall(data)
        except OSError:  # the server closed the connection while trailers were still being sent
            pass
        try:
            return sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            return b""


def test_trailers_within_the_bound_are_accepted(port: int) -> None:
    answer = _answer(port, [CHUNKED, TRAILER * 10, b"\r\n"])
    assert answer.startswith(b"HTTP/1.1 403 "), answer[:200]  # the request itself ran: it is simply unsigned


@pytest.mark.parametrize("endless", [False, True], ids=["as many fields", "as one field without a line end"])
def test_trailers_past_the_bound_are_refused_while_they_arrive(port: int, endless: bool) -> None:
    if endless:
        trailers = b"X-Trailer: " + b"a" * 4 * MAX_REQUEST_HEAD_BYTES  # httptools buffers the value until its end
    else:
        trailers = TRAILER * (4 * MAX_REQUEST_HEAD_BYTES // len(TRAILER))
    writes = [CHUNKED] + [trailers[at:at + 65536] for at in range(0, len(trailers), 65536)]
    answer = _answer(port, writes)  # the section never ends: without the bound the server waits for the rest
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
