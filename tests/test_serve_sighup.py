"""`samlfed serve --workers 2` and SIGHUP: the supervisor replaces its workers one at a time, each replacement
serving before the old worker is told to stop (how a renewed TLS certificate is loaded without a gap).

An old worker that cannot act on SIGTERM (stopped here; in production, stuck in a call that never returns) is killed
once the shutdown grace and a margin have passed, and the restart goes on. Before, the supervisor waited for it for
ever, and acted on no signal after the SIGHUP (a SIGTERM then never ended `serve`)."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from pki import make_pki
from servers import SAMLFED, free_port, kill_server_and_workers, running, wait_until_up, worker_pids

from samlfed.supervisor import WORKER_STOP_SECONDS


@contextmanager
def _two_workers(tmp_path: Path, *options: str, ca: Path | None = None) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as stderr:
        server = subprocess.Popen(
            [SAMLFED, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--workers", "2", *options],
            stdout=subprocess.DEVNULL, stderr=stderr,
        )
    url = f"{'https' if ca else 'http'}://127.0.0.1:{port}"
    try:
        up = wait_until_up(f"{url}/healthz", seconds=60, gave_up=lambda: server.poll() is not None, verify=str(ca) if ca else True)
        assert up, log.read_text()
        yield server, url, log
    finally:
        kill_server_and_workers(server, worker_pids(server.pid, count=0, seconds=0))


def _replaced(server: subprocess.Popen[bytes], old: list[int], *, seconds: float) -> list[int]:
    """Wait until none of `old` runs and two other workers do; their pids."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        current = worker_pids(server.pid, count=2, seconds=0)
        if not any(map(running, old)) and len([pid for pid in current if pid not in old and running(pid)]) == 2:
            return current
        time.sleep(0.1)
    raise AssertionError(f"the workers {old} were not replaced within {seconds} s")


def test_sighup_replaces_every_worker_and_the_server_keeps_serving(tmp_path: Path) -> None:
    with _two_workers(tmp_path) as (server, url, log):
        old = worker_pids(server.pid, count=2)
        assert len(old) == 2, old
        server.send_signal(signal.SIGHUP)
        new = _replaced(server, old, seconds=90)
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=WORKER_STOP_SECONDS + 30) == 0
        assert not any(map(running, new))
        assert "did not stop within" not in log.read_text()


def test_an_old_worker_that_cannot_stop_is_killed_and_the_restart_goes_on(tmp_path: Path) -> None:
    with _two_workers(tmp_path) as (server, url, log):
        old = worker_pids(server.pid, count=2)
        assert len(old) == 2, old
        server.send_signal(signal.SIGHUP)
        # The first replacement is spawned inside the SIGHUP restart, where the supervisor pings no old worker (a
        # ping of a stopped worker would have it killed as hung, and the stop would test nothing).
        assert len(worker_pids(server.pid, count=3)) == 3, "the restart spawned no replacement"
        for pid in old:
            os.kill(pid, signal.SIGSTOP)
        signalled = time.monotonic()
        _replaced(server, old, seconds=2 * WORKER_STOP_SECONDS + 60)  # for ever before the fix
        assert time.monotonic() - signalled >= WORKER_STOP_SECONDS - 1, "an old worker was killed before its bound"
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        server.send_signal(signal.SIGTERM)  # acted on: the restart has ended
        assert server.wait(timeout=WORKER_STOP_SECONDS + 30) == 0
        logged = log.read_text()
        for pid in old:
            assert f"Worker process {pid} did not stop within {WORKER_STOP_SECONDS} s of the signal; killing it." in logged
        assert logged.count("did not stop within") == 2, logged


def _verifies(url: str, ca: Path) -> bool:
    """The server's certificate verifies against `ca`."""
    try:
        return httpx.get(f"{url}/healthz", timeout=10, verify=ssl.create_default_context(cafile=str(ca))).status_code == 200
    except httpx.ConnectError:
        return False


def test_sighup_loads_a_renewed_tls_certificate_and_keeps_the_old_one_when_the_new_one_is_broken(tmp_path: Path) -> None:
    (tmp_path / "served").mkdir()
    (tmp_path / "renewed").mkdir()
    served, renewed = make_pki(tmp_path / "served"), make_pki(tmp_path / "renewed")  # two CAs: which one verifies tells the certificate apart
    tls = ("--tls-certfile", str(served["cert"]), "--tls-keyfile", str(served["key"]))
    with _two_workers(tmp_path, *tls, ca=served["ca"]) as (server, url, log):
        old = worker_pids(server.pid, count=2)
        for name in ("cert", "key"):
            renewed[name].replace(served[name])
        server.send_signal(signal.SIGHUP)
        new = _replaced(server, old, seconds=90)
        assert _verifies(url, renewed["ca"]) and not _verifies(url, served["ca"])

        served["cert"].write_text("not a certificate")
        server.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        while "keeping the workers" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        logged = log.read_text()
        assert f"SIGHUP: cannot serve TLS with {served['cert']} and {served['key']}: " in logged and "keeping the workers." in logged
        assert "Traceback" not in logged
        assert all(map(running, new)) and sorted(worker_pids(server.pid, count=3, seconds=2)) == sorted(new)
        assert _verifies(url, renewed["ca"])
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=WORKER_STOP_SECONDS + 30) == 0


def test_sighup_while_a_replacement_waits_its_turn_replaces_every_worker(tmp_path: Path) -> None:
    # A worker that cannot start has its replacement wait (supervisor.replacement_delay); SIGHUP, once the cause is
    # mended, fills that place at once, as it replaces the workers still serving.
    database, moved = tmp_path / "data" / "samlfed.db", tmp_path / "data" / "samlfed.db.moved"
    with _two_workers(tmp_path) as (server, url, log):
        old = worker_pids(server.pid, count=2)
        assert len(old) == 2, old
        database.rename(moved)
        os.kill(old[0], signal.SIGKILL)
        deadline = time.monotonic() + 60
        while "starting another in 2 s." not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "starting another in 2 s." in log.read_text(), log.read_text()[-3000:]
        moved.rename(database)
        server.send_signal(signal.SIGHUP)
        new = _replaced(server, old, seconds=90)
        time.sleep(3)  # past the waiting replacement's turn: SIGHUP took its place, so none is started now
        assert sorted(worker_pids(server.pid, count=3, seconds=0)) == sorted(new) and all(map(running, new))
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=WORKER_STOP_SECONDS + 30) == 0
        assert "aborting the restart" not in log.read_text()
