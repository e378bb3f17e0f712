"""Servers for the tests, on 127.0.0.1 only: an ASGI app in a thread, or the installed `samlfed` in its own process."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import uvicorn

SAMLFED = str(Path(sys.executable).with_name("samlfed"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raw_exchange(url: str, request: bytes, *, timeout: float = 30) -> bytes:
    """Send `request` byte for byte to the server at `url` (http://host:port) and read its answer until it closes the
    connection: for requests no HTTP client would send."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(request)
        return b"".join(iter(lambda: sock.recv(65536), b""))


def wait_until_up(url: str, *, seconds: float, gave_up: Callable[[], bool] = lambda: False, verify: str | bool = True) -> bool:
    """Poll `url` until it answers 200; False when `seconds` pass or `gave_up()` says the server is gone. `verify`:
    for https, the CA file (httpx's verify)."""
    deadline = time.monotonic() + seconds
    checks = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
    while time.monotonic() < deadline and not gave_up():
        try:
            if httpx.get(url, timeout=1, verify=checks).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    return False


def worker_pids(supervisor: int, *, count: int, seconds: float = 30) -> list[int]:
    """The pids of `serve --workers N`'s worker processes (children of `supervisor` that multiprocessing spawned),
    waiting up to `seconds` for `count` of them; read from /proc, with no extra dependency."""
    deadline = time.monotonic() + seconds
    while True:
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                parent = int(stat[stat.rindex(")") + 2 :].split()[1])  # after "pid (comm) ": state, ppid
                if parent == supervisor and "spawn_main" in (entry / "cmdline").read_text(errors="replace"):
                    found.append(int(entry.name))
            except OSError:  # gone meanwhile
                continue
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def kill_server_and_workers(server: subprocess.Popen, workers: Sequence[int]) -> None:
    """After a test of `serve --workers N`: no server, and no stopped or orphaned worker, outlives it."""
    if server.poll() is None:
        server.kill()
        server.wait(timeout=15)
    for pid in workers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def running(pid: int) -> bool:
    """Alive and not a zombie waiting for a parent to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@contextmanager
def app_in_thread(app: object, port: int | None = None, **config: object) -> Iterator[str]:
    """Serve an ASGI app (with a /healthz route) with uvicorn in a daemon thread; yields its base URL. `config`: more
    uvicorn settings (`http=BoundedHeadProtocol`, `log_level`)."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **{"log_level": "warning", **config}))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/healthz", seconds=10)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def samlfed_process(
    command: Sequence[str], *options: str, probe: str, env: dict[str, str] | None = None, seconds: float = 60, tls_ca: str | None = None,
) -> Iterator[str]:
    """Run `samlfed COMMAND --port N OPTIONS...` until the block ends; yields its base URL once `probe` answers 200.
    `tls_ca`: the server serves HTTPS with a certificate this CA file vouches for."""
    port = free_port()
    process = subprocess.Popen(
        [SAMLFED, *command, "--port", str(port), *options], env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"{'https' if tls_ca else 'http'}://127.0.0.1:{port}"
    try:
        if not wait_until_up(f"{url}{probe}", seconds=seconds, gave_up=lambda: process.poll() is not None, verify=tls_ca or True):
            process.terminate()
            raise AssertionError(f"samlfed {' '.join(command)} did not start: {process.communicate(timeout=15)[1].decode()[-2000:]}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


@contextmanager
def handler_in_thread(handler: type[BaseHTTPRequestHandler], *, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """A plain http.server on 127.0.0.1 in a daemon thread (https with a server TLS context); yields its base URL.
    For peers that must misbehave in ways an ASGI app cannot (a proxy, a bare TLS endpoint)."""
    server = HTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def answering(status: int, content_type: str, body: bytes) -> Iterator[str]:
    """A peer that answers every POST with `status` and `body` (handler_in_thread); yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    with handler_in_thread(Handler) as url:
        yield url
