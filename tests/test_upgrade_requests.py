"""Requests asking to upgrade the connection (a WebSocket handshake, h2c) against `samlfed serve` itself: uvicorn's
WebSocket protocol logged each handshake's path with its query string at INFO although `serve` turns the access log
off so that a GET's SAMLAssertion or session token never reaches the log; the request is now answered as plain HTTP."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from servers import SAMLFED, free_port, wait_until_up

SECRET = "SAMLAssertion=c2VjcmV0LWFzc2VydGlvbg&X-Amz-Security-Token=session-token-secret"
WEBSOCKET = (b"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             b"Sec-WebSocket-Version: 13\r\n")
H2C = b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n"


def _answer(port: int, request: bytes) -> bytes:
    """The whole answer: its head, then as many bytes as its Content-Length says."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        while b"\r\n\r\n" not in answer and len(answer) < 65536 and (data := sock.recv(65536)):
            answer += data
        head, _, body = answer.partition(b"\r\n\r\n")
        length = int(next((line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), b"0"))
        while len(body) < min(length, 65536) and (data := sock.recv(65536)):
            body += data
    return head + b"\r\n\r\n" + body


def test_upgrade_requests_are_answered_as_http_and_their_query_strings_stay_out_of_the_log(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "serve.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen([SAMLFED, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")],
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}/healthz", seconds=30, gave_up=lambda: process.poll() is not None)
        for upgrade in (WEBSOCKET, H2C):
            answer = _answer(port, f"GET /?Action=AssumeRoleWithSAML&{SECRET} HTTP/1.1\r\nHost: x\r\n".encode() + upgrade + b"\r\n")
            assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]  # the query API's own answer: no such role
            assert b"<ErrorResponse" in answer, answer[:300]
    finally:
        time.sleep(0.5)  # the server's log lines for those requests
        process.terminate()
        process.wait(timeout=30)
    text = log.read_text()
    assert "secret" not in text, text
    assert "WARNING" not in text, text
