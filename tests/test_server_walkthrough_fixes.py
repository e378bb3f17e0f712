"""Walkthrough fixes of `samlfed serve`: the request-head bound holds however the head is split across reads, and a
request that shutdown cancels is one WARNING line, not an ERROR with a traceback."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from servers import SAMLFED, free_port, wait_until_up
from uvicorn.config import Config
from uvicorn.server import ServerState

from samlfed.server import MAX_REQUEST_HEAD_BYTES, SHUTDOWN_GRACE_SECONDS, BoundedHeadProtocol, ShutdownCancelFilter


def _head(size: int, *, headers: int = 1) -> bytes:
    """A GET /healthz head of exactly `size` bytes: `headers` headers, the last one filled up."""
    start = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-Small-%d: value\r\n" % i for i in range(headers - 1))
    fill = size - len(start) - len(b"X-Fill: \r\n\r\n")
    return start + b"X-Fill: " + b"a" * fill + b"\r\n\r\n"


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _ok(scope: dict, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def _answer(reads: list[bytes]) -> bytes:
    """What BoundedHeadProtocol answers when the head arrives in these reads."""
    protocol = BoundedHeadProtocol(config=Config(app=_ok, log_level="warning"), server_state=ServerState(), app_state={})
    transport = _Transport()
    protocol.connection_made(transport)
    for read in reads:
        if not transport.is_closing():
            protocol.data_received(read)
    for _ in range(100):  # the request task answers within a few loop turns; bounded all the same
        if transport.written:
            break
        await asyncio.sleep(0)
    protocol.connection_lost(None)
    return bytes(transport.written)


def _splits(head: bytes) -> dict[str, list[bytes]]:
    return {
        "one read": [head],
        "all but the last byte, then the last": [head[:-1], head[-1:]],
        "one byte, then the rest": [head[:1], head[1:]],
        "reads of 64 KiB": [head[i:i + 65536] for i in range(0, len(head), 65536)],
        "reads of 1000 bytes": [head[i:i + 1000] for i in range(0, len(head), 1000)],
    }


@pytest.mark.parametrize("headers", [1, 3000])
@pytest.mark.parametrize("split", list(_splits(b"")))
def test_the_head_bound_holds_however_the_head_is_split(split: str, headers: int) -> None:
    within = _head(MAX_REQUEST_HEAD_BYTES, headers=headers)
    over = _head(MAX_REQUEST_HEAD_BYTES + 1, headers=headers)
    assert len(within) == MAX_REQUEST_HEAD_BYTES == len(over) - 1
    assert asyncio.run(_answer(_splits(within)[split])).startswith(b"HTTP/1.1 200 ")
    assert asyncio.run(_answer(_splits(over)[split])).startswith(b"HTTP/1.1 431 ")


def test_a_head_over_the_bound_before_a_body_is_refused_and_the_body_is_not_read() -> None:
    head = _head(MAX_REQUEST_HEAD_BYTES + 1).replace(b"GET", b"PUT", 1).replace(b"\r\n\r\n", b"\r\nContent-Length: 5\r\n\r\n")
    assert asyncio.run(_answer([head[:-20], head[-20:] + b"hello"])).startswith(b"HTTP/1.1 431 ")


def _status(port: int, writes: list[bytes]) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for data in writes:
            sock.sendall(data)
        return sock.recv(12)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_samlfed_serve_refuses_a_head_just_over_the_bound_in_one_write_or_several(tmp_path: Path, workers: str) -> None:
    port = free_port()
    process = subprocess.Popen([SAMLFED, "serve", "--port", str(port), "--data-dir", str(tmp_path), "--workers", workers],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}/healthz", seconds=30, gave_up=lambda: process.poll() is not None)
        for size, status in [(MAX_REQUEST_HEAD_BYTES, b"HTTP/1.1 200"), (MAX_REQUEST_HEAD_BYTES + 1, b"HTTP/1.1 431"), (300_000, b"HTTP/1.1 431")]:
            head = _head(size)
            assert _status(port, [head]) == status, size
            assert _status(port, [head[:100_000], head[100_000:200_000], head[200_000:]]) == status, size
    finally:
        process.kill()
        process.wait(timeout=15)


@pytest.mark.parametrize("options", [[], ["--workers", "2", "--log-format", "json"]])
def test_a_request_cancelled_by_shutdown_is_one_warning_line(tmp_path: Path, options: list[str]) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen([SAMLFED, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), *options],
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}/healthz", seconds=30, gave_up=lambda: process.poll() is not None)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as stalled:
            stalled.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 40\r\n\r\nAction=")
            # Sent before the signal, so read before uvicorn acts on it: its main loop checks for the signal between
            # rounds of the event loop, which reads what is waiting in the socket.
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=SHUTDOWN_GRACE_SECONDS + 20)
    finally:
        process.kill()
        process.wait(timeout=15)
    text = log.read_text()
    assert [line for line in text.splitlines() if "cancelled by shutdown" in line] == [
        line for line in text.splitlines() if "WARNING" in line
    ], text
    assert text.count("Request cancelled by shutdown") == 1, text
    assert "Traceback" not in text and "ERROR" not in text and "CancelledError" not in text, text


def _record(exc: BaseException, msg: str = "Exception in ASGI application\n") -> logging.LogRecord:
    try:
        raise exc
    except BaseException:
        return logging.getLogger("uvicorn.error").makeRecord("uvicorn.error", logging.ERROR, __file__, 1, msg, (), sys.exc_info())


def test_real_application_errors_keep_their_level_and_traceback() -> None:
    error = _record(RuntimeError("a bug"))
    assert ShutdownCancelFilter().filter(error) and error.levelno == logging.ERROR and error.exc_info is not None
    cancelled = _record(asyncio.CancelledError("Task cancelled, timeout graceful shutdown exceeded"))
    assert ShutdownCancelFilter().filter(cancelled) and cancelled.levelno == logging.WARNING and cancelled.exc_info is None


@pytest.mark.parametrize(("command", "probe"), [(["idp", "serve"], "/idp/metadata"), (["demo"], "/healthz")])
def test_the_development_servers_bound_the_request_head_too(tmp_path: Path, command: list[str], probe: str) -> None:
    """`samlfed demo` and `idp serve` run on the same HTTP options as `serve` (found left out in review)."""
    port = free_port()
    process = subprocess.Popen([SAMLFED, *command, "--port", str(port), "--data-dir", str(tmp_path / "data")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}{probe}", seconds=60, gave_up=lambda: process.poll() is not None)
        head = _head(MAX_REQUEST_HEAD_BYTES + 1)
        assert _status(port, [head[:100_000], head[100_000:]]) == b"HTTP/1.1 431"
        assert _status(port, [_head(MAX_REQUEST_HEAD_BYTES)]) != b"HTTP/1.1 431"
    finally:
        process.kill()
        process.wait(timeout=15)


def test_the_demo_on_an_ipv6_address_advertises_bracketed_urls(tmp_path: Path) -> None:
    """`samlfed demo --host ::1`: its ACS and IdP URLs put the address in brackets (they were `http://::1:PORT`)."""
    port = free_port()
    process = subprocess.Popen([SAMLFED, "demo", "--host", "::1", "--port", str(port), "--data-dir", str(tmp_path / "data")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://[::1]:{port}"
        assert wait_until_up(f"{base}/healthz", seconds=60, gave_up=lambda: process.poll() is not None)
        metadata = httpx.get(f"{base}/saml/metadata").text
        assert f'Location="{base}/saml"' in metadata and "http://::1" not in metadata
    finally:
        process.kill()
        process.wait(timeout=15)
