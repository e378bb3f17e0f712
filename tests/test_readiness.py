"""`/readyz` on a real `samlfed serve`: ready on SQLite; on PostgreSQL reached through a TCP forwarder that the test
stops, starts again and pauses, unready while the database cannot answer (with `/healthz` still ok) and ready again
once it can."""

from __future__ import annotations

import base64
import os
import secrets
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from postgres_scratch import POSTGRES_URL, scratch_database
from servers import SAMLFED, free_port, wait_until_up
from sqlalchemy import make_url

PASSWORD = "readyz-secret-password"  # in the URL samlfed gets; trust authentication never asks for it
PROBE_TIMEOUT = 30  # seconds: only so that a probe that hangs fails the test instead of hanging it


def _quietly_shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in accept or recv on it; close alone does not
    except OSError:
        pass
    sock.close()


class Forwarder:
    """Forwards 127.0.0.1:port to PostgreSQL. stop() closes the port and every connection (the database is gone);
    start() opens the same port again; pause() holds what clients send unanswered, as a hung database would, and
    records which client connections had bytes held."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.held: set[int] = set()
        self._flowing = threading.Event()
        self._flowing.set()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR: the port again after stop()
        self._sockets.append(listener)
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _quietly_shut(sock)
        self._flowing.set()  # held bytes now meet closed sockets

    def pause(self) -> None:
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def _accept(self, listener: socket.socket) -> None:
        while True:  # until stop() shuts the listener
            try:
                client, _ = listener.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        while True:  # until either side closes
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                break
            if from_client and not self._flowing.is_set():
                self.held.add(id(source))
            self._flowing.wait()
            try:
                sink.sendall(data)
            except OSError:
                return
        _quietly_shut(sink)


@pytest.fixture
def database() -> Iterator[str]:
    """A new PostgreSQL database of this test's own; its name."""
    with scratch_database("samlfed_readyz") as name:
        yield name


@pytest.fixture
def forwarder() -> Iterator[Forwarder]:
    postgres = make_url(POSTGRES_URL)
    forwarder = Forwarder((postgres.host or "127.0.0.1", postgres.port or 5432))
    forwarder.start()
    try:
        yield forwarder
    finally:
        forwarder.stop()


@contextmanager
def serving(log: Path, *options: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """`samlfed serve --port N OPTIONS...`, its stderr in `log`, until the block ends; yields its base URL."""
    port = free_port()
    with log.open("wb") as stderr:
        process = subprocess.Popen([SAMLFED, "serve", "--port", str(port), *options], env={**os.environ, **(env or {})},
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until_up(f"{url}/healthz", seconds=30, gave_up=lambda: process.poll() is not None), log.read_text()[-2000:]
        yield url
    finally:
        process.kill()  # not terminate: a graceful shutdown would wait for probes stuck on a paused database
        process.wait(timeout=15)


def readiness_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if "samlfed.api.readiness" in line]


def get(url: str, method: str = "GET") -> httpx.Response:
    return httpx.request(method, url, timeout=PROBE_TIMEOUT)


def test_ready_on_sqlite_without_a_log_line_per_probe(tmp_path: Path) -> None:
    log = tmp_path / "stderr.log"
    with serving(log, "--data-dir", str(tmp_path / "data")) as url:
        for _ in range(3):
            answer = get(f"{url}/readyz")
            assert (answer.status_code, answer.text, answer.headers["cache-control"]) == (200, "ok", "no-store")
        head = get(f"{url}/readyz", "HEAD")
        assert (head.status_code, head.content) == (200, b"")
        assert get(f"{url}/readyz", "POST").status_code == 405
    assert readiness_lines(log) == []


@contextmanager
def serving_through(forwarder: Forwarder, database: str, log: Path, password: str | None = None) -> Iterator[str]:
    """samlfed serve on `database` reached through the forwarder, once it is ready; its base URL."""
    url = make_url(POSTGRES_URL).set(host="127.0.0.1", port=forwarder.port, database=database, password=password)
    env = {"SAMLFED_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
    with serving(log, "--database-url", url.render_as_string(hide_password=False), env=env) as base:
        assert get(f"{base}/readyz").text == "ok"
        yield base


def test_unready_while_postgresql_is_unreachable_and_ready_when_it_is_back(tmp_path: Path, database: str, forwarder: Forwarder) -> None:
    log = tmp_path / "stderr.log"
    with serving_through(forwarder, database, log, PASSWORD) as base:
        forwarder.stop()
        answers = [get(f"{base}/readyz") for _ in range(3)]
        assert [(a.status_code, a.text) for a in answers] == [(503, "the database is unavailable")] * 3
        assert answers[0].headers["cache-control"] == "no-store"
        assert get(f"{base}/readyz", "HEAD").status_code == 503
        assert get(f"{base}/healthz").status_code == 200
        assert len(readiness_lines(log)) == 1 and "WARNING" in readiness_lines(log)[0]  # the change, not every probe

        forwarder.start()
        assert wait_until_up(f"{base}/readyz", seconds=PROBE_TIMEOUT), "the pool did not recover"
        assert "INFO" in readiness_lines(log)[-1] and len(readiness_lines(log)) == 2
    assert PASSWORD not in log.read_text()


def test_a_hung_database_costs_one_check_and_answers_within_the_bound(tmp_path: Path, database: str, forwarder: Forwarder) -> None:
    log = tmp_path / "stderr.log"
    with serving_through(forwarder, database, log) as base:
        forwarder.pause()
        answers = [get(f"{base}/readyz") for _ in range(3)]
        assert [(a.status_code, a.text) for a in answers] == [(503, "the database did not answer within 2 seconds")] * 3
        assert get(f"{base}/healthz").status_code == 200
        assert len(forwarder.held) == 1  # later probes waited for the one check in flight instead of starting their own
        assert len(readiness_lines(log)) == 1

        forwarder.resume()
        assert wait_until_up(f"{base}/readyz", seconds=PROBE_TIMEOUT), "did not become ready after the database answered"
        assert "ready again" in readiness_lines(log)[-1]
